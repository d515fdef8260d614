"""Reproducible synthetic US customer data with ground truth, for tests, demos and benchmarks.

Real customer lists are PII and cannot be committed, so we imitate what makes them hard to
deduplicate: duplicates that differ the way real records differ (typos, nicknames, formats,
moves, missing values) *and* different people who look alike (households, twins, Jr/Sr, common
names). The truth is returned in separate frames so the product never sees it.

Speed: pools are built once from Faker's en_US tables; rows are drawn from them with numpy, and
per-row Python runs only on rows that receive a variation, so a million rows take seconds.
Everything derives from one seed and a fixed reference date, so the output is byte-identical.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from faker import Faker
from faker.providers.person.en_US import Provider as _Person

__all__ = ["ACQUIRED_COLUMNS", "CUSTOMER_COLUMNS", "REF_DATE", "SampleSet",
           "generate_customers_large", "generate_samples", "write_samples"]

REF_DATE = np.datetime64("2026-06-30", "D")  # "today" for ages and signups: output must not age
SIGNUP_START = np.datetime64("2015-01-01", "D")

CUSTOMER_COLUMNS = [
    "customer_id", "source", "first_name", "last_name", "email", "phone", "date_of_birth",
    "street", "city", "postcode", "state", "country", "consent_email", "consent_date",
    "signup_date",
]
ACQUIRED_COLUMNS = [
    "lead_id", "first_name", "last_name", "email", "phone", "birth_date", "address", "city",
    "zip", "state", "opt_in", "list_source",
]

# Real cities so that city, state, ZIP prefix and phone area code agree with each other (Faker's
# en_US cities are invented and unrelated to its ZIPs). "city,state,zip3,area codes,weight".
_CITIES = [row.split(",") for row in """New York,NY,100,212 646 917,40|Brooklyn,NY,112,718 347,20
|Buffalo,NY,142,716,5|Boston,MA,021,617 857,12|Worcester,MA,016,508,4|Providence,RI,029,401,4
|Hartford,CT,061,860,4|Newark,NJ,071,973,6|Jersey City,NJ,073,201,5|Philadelphia,PA,191,215 267,16
|Pittsburgh,PA,152,412,7|Baltimore,MD,212,410 443,8|Washington,DC,200,202,8|Richmond,VA,232,804,5
|Charlotte,NC,282,704 980,9|Raleigh,NC,276,919 984,6|Atlanta,GA,303,404 470 678,10
|Miami,FL,331,305 786,10|Orlando,FL,328,407,7|Tampa,FL,336,813,7|Jacksonville,FL,322,904,8
|Nashville,TN,372,615,7|Memphis,TN,381,901,6|Louisville,KY,402,502,6|Columbus,OH,432,614,8
|Cleveland,OH,441,216,6|Cincinnati,OH,452,513,6|Detroit,MI,482,313,7|Grand Rapids,MI,495,616,4
|Indianapolis,IN,462,317,8|Chicago,IL,606,312 773 872,27|Milwaukee,WI,532,414,6
|Minneapolis,MN,554,612,6|St. Louis,MO,631,314,6|Kansas City,MO,641,816,6|Omaha,NE,681,402,5
|New Orleans,LA,701,504,5|Houston,TX,770,713 281 832,23|Dallas,TX,752,214 469 972,13
|Austin,TX,787,512 737,10|San Antonio,TX,782,210 726,14|Oklahoma City,OK,731,405,6
|Denver,CO,802,303 720,7|Phoenix,AZ,850,602 480,16|Tucson,AZ,857,520,5|Albuquerque,NM,871,505,5
|Salt Lake City,UT,841,801 385,4|Las Vegas,NV,891,702 725,7|Los Angeles,CA,900,213 323 310,38
|San Diego,CA,921,619 858,14|San Francisco,CA,941,415 628,9|San Jose,CA,951,408 669,10
|Sacramento,CA,958,916 279,5|Portland,OR,972,503 971,6|Seattle,WA,981,206,8|Spokane,WA,992,509,3
|Boise,ID,837,208,3|Anchorage,AK,995,907,2|Honolulu,HI,968,808,3|Birmingham,AL,352,205,3
|Little Rock,AR,722,501,3|Des Moines,IA,503,515,3|Charleston,SC,294,843,3
|Burlington,VT,054,802,1|Portland,ME,041,207,1""".replace("\n", "").split("|")]

# Common US nicknames, used in both directions (Robert -> Bob and Bob -> Robert).
_NICK = {f: n.split(",") for f, n in (x.split(":") for x in """Robert:Bob,Rob,Bobby
William:Bill,Will,Billy Elizabeth:Liz,Beth,Lizzie Katherine:Kate,Katie,Kathy Catherine:Cathy,Kate
Michael:Mike James:Jim,Jimmy,Jamie Jennifer:Jen,Jenny Richard:Rick,Rich,Dick Thomas:Tom,Tommy
Joseph:Joe,Joey Charles:Charlie,Chuck Christopher:Chris Christina:Chris,Tina Daniel:Dan,Danny
Matthew:Matt Anthony:Tony Andrew:Andy,Drew Joshua:Josh Nicholas:Nick Jonathan:Jon Benjamin:Ben
Samuel:Sam Alexander:Alex Edward:Ed,Eddie,Ted Steven:Steve Stephen:Steve Timothy:Tim Patrick:Pat
Gregory:Greg Jeffrey:Jeff Kenneth:Ken,Kenny Ronald:Ron Donald:Don Douglas:Doug Lawrence:Larry
Gerald:Jerry Raymond:Ray David:Dave Zachary:Zach Jacob:Jake Margaret:Maggie,Peggy,Meg
Patricia:Pat,Patty,Trish Susan:Sue,Susie Deborah:Deb,Debbie Barbara:Barb Rebecca:Becky,Becca
Jessica:Jess,Jessie Victoria:Vicky,Tori Abigail:Abby Samantha:Sam Alexandra:Alex Kimberly:Kim
Pamela:Pam Cynthia:Cindy Judith:Judy Theresa:Terri,Tess Stephanie:Steph Frederick:Fred""".split())}
_FORMAL: dict[str, list[str]] = {}
for _f, _ns in _NICK.items():
    for _n in _ns:
        _FORMAL.setdefault(_n, []).append(_f)

# Twins get distinct but similar names; the two letters are the twins' genders.
_TWINS = [[p[:2], *p[3:].split("/")] for p in """MF:Daniel/Danielle MF:Christopher/Christina
MF:Michael/Michelle MF:Eric/Erica MF:Paul/Paula MF:Joseph/Josephine MF:Gabriel/Gabriella
MF:Alexander/Alexandra MF:Samuel/Samantha MF:Nathan/Natalie MF:Logan/Lauren MM:Tyler/Taylor
MF:Aaron/Erin MF:Jacob/Jessica MF:Mason/Madison FF:Emma/Emily MM:Ethan/Evan FM:Olivia/Owen
FM:Hannah/Henry FF:Ashley/Amber""".split()]
_COMMON = [c.split(":") for c in """M:John:Smith F:Maria:Garcia M:Michael:Johnson
M:James:Williams F:Mary:Brown M:David:Jones F:Jennifer:Miller M:Robert:Davis F:Linda:Martinez
M:Jose:Rodriguez F:Patricia:Wilson M:William:Anderson F:Maria:Hernandez M:Michael:Smith
F:Sarah:Johnson""".split()]
_STREET_BASES = """Main Oak Maple Park Washington Lake Hill Cedar Elm Pine Church Highland
Lincoln Jefferson Madison Franklin Spring Sunset River Forest Center Walnut Chestnut Willow Ridge
Meadow Jackson Adams Market Broad Union Water Mill Prospect Academy Cherry Valley 1st 2nd 3rd 4th
5th""".split()
_STREET_TYPES = [
    ("Street", "St", 25), ("Avenue", "Ave", 18), ("Road", "Rd", 12), ("Drive", "Dr", 14),
    ("Boulevard", "Blvd", 4), ("Lane", "Ln", 8), ("Court", "Ct", 6), ("Way", "Way", 6),
    ("Place", "Pl", 4), ("Circle", "Cir", 3),
]
_TYPE_NAMES = (  # written as Street, St, St.
    [t[0] for t in _STREET_TYPES],
    [t[1] for t in _STREET_TYPES],
    [t[1] + "." if t[1] != t[0] else t[0] for t in _STREET_TYPES],
)
_UNITS = ("", " Apt {}", " Unit {}", " #{}", " Apt {}B")
_PROVIDERS = np.array(["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "aol.com",
                       "icloud.com", "comcast.net", "att.net"], dtype=object)
_PROVIDER_P = [38, 14, 8, 9, 5, 7, 3, 2, 14]  # the last one: a company domain
_MON = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_PHONE_FMT = ("({0}) {1}-{2}", "{0}-{1}-{2}", "{0}.{1}.{2}", "+1 {0} {1} {2}", "{0}{1}{2}")
_DATE_FMT = ("{0:04d}-{1:02d}-{2:02d}", "{1:02d}/{2:02d}/{0:04d}", "{2} {3} {0}", "{1}/{2}/{0}")
_EXCHANGES = np.array([x for x in range(200, 1000) if x % 100 != 11 and x != 555])
_KEYS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEAR = {c: row[max(0, i - 1) : i] + row[i + 1 : i + 2] for row in _KEYS for i, c in enumerate(row)}

# Per source system (rows: crm, ecom, pos, acquired list): weights of each option.
_SOURCES = ("crm", "ecom", "pos")
_PROFILE = {
    "phone_fmt": ((45, 30, 5, 5, 15), (20, 35, 10, 15, 20), (20, 30, 20, 0, 30),
                  (30, 30, 10, 10, 20)),  # in the order of _PHONE_FMT
    "dob_fmt": ((80, 12, 5, 3), (15, 55, 10, 20), (30, 30, 30, 10), (30, 40, 20, 10)),
    "case": ((93, 5, 2), (80, 3, 17), (60, 37, 3), (85, 12, 3)),  # as typed, UPPER, lower
    "street_style": ((60, 35, 5), (30, 60, 10), (20, 60, 20), (40, 50, 10)),  # Street, St, St.
    "consent": ((55, 35, 10), (65, 30, 5), (30, 20, 50), (55, 25, 20)),  # Y/N/- or true/false/-
    "country": ((97, 3, 0, 0), (10, 0, 90, 0), (40, 30, 0, 30), (100, 0, 0, 0)),
}
_MISSING = {  # share of blanks per source: pos tills capture little, ecom needs the email
    "email": (0.06, 0.01, 0.35, 0.05),
    "phone": (0.08, 0.15, 0.22, 0.12),
    "date_of_birth": (0.10, 0.35, 0.55, 0.30),
    "street": (0.03, 0.05, 0.40, 0.08),
}
# nickname, first typo, last typo, initial, swap, street typo, email change, email typo, spaces
_VARY_RATES = np.array([0.14, 0.08, 0.07, 0.03, 0.025, 0.06, 0.15, 0.04, 0.05])
_ENTITY_SHARE = 0.775  # persons per row: ~22.5% of rows duplicate another row


@dataclass
class SampleSet:
    """The generated frames; the truth frames are for tests and benchmarks only."""

    customers: pd.DataFrame
    acquired: pd.DataFrame
    customers_truth: pd.DataFrame
    acquired_truth: pd.DataFrame


@dataclass(frozen=True)
class _Pools:
    """Values drawn once per seed; rows index into these arrays."""

    male: np.ndarray
    female: np.ndarray
    last: np.ndarray
    street_base: np.ndarray
    domains: np.ndarray
    city: np.ndarray  # city .. n_codes: one entry per row of _CITIES
    state: np.ndarray
    zip3: np.ndarray
    city_p: np.ndarray
    codes: np.ndarray  # (n_cities, 3) area codes, padded by repetition
    n_codes: np.ndarray


def _obj(xs) -> np.ndarray:
    return np.array(xs, dtype=object)


def _weighted(table: dict[str, float], k: int, rng: np.random.Generator) -> np.ndarray:
    """k draws from a Faker frequency table: uniform picks from them keep real frequencies."""
    w = np.array(list(table.values()), dtype=float)
    return rng.choice(_obj(list(table)), size=k, p=w / w.sum())


@lru_cache(maxsize=8)
def _build_pools(seed: int) -> _Pools:
    """Pools from Faker's en_US frequency tables and a seeded Faker (company domains)."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = np.random.default_rng([seed, 1])
    weights = np.array([float(c[4]) for c in _CITIES])
    codes = [c[3].split() for c in _CITIES]
    surnames = rng.choice(_obj(list(_Person.last_names)), size=600, replace=False).tolist()
    return _Pools(
        male=_weighted(_Person.first_names_male, 5000, rng),
        female=_weighted(_Person.first_names_female, 5000, rng),
        last=_weighted(_Person.last_names, 5000, rng),
        street_base=_obj(_STREET_BASES * 8 + surnames),
        domains=_obj(sorted({fake.domain_name() for _ in range(400)})),
        city=_obj([c[0] for c in _CITIES]),
        state=_obj([c[1] for c in _CITIES]),
        zip3=_obj([c[2] for c in _CITIES]),
        city_p=weights / weights.sum(),
        codes=np.array([[int(c[i % len(c)]) for i in range(3)] for c in codes], dtype=np.int64),
        n_codes=np.array([len(c) for c in codes]),
    )


# ---------------------------------------------------------------------------------- helpers
def _pick(rng: np.random.Generator, src: np.ndarray, key: str) -> np.ndarray:
    """Vectorised choice of an option index, with weights that depend on each row's source."""
    cum = np.cumsum(np.array(_PROFILE[key], dtype=float), axis=1)
    cum /= cum[:, -1:]
    return (rng.random(len(src))[:, None] >= cum[src]).sum(axis=1)


def _draw(pool: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return pool[rng.integers(len(pool), size=n)]


def _ids(prefix: str, start: int, count: int, width: int = 6) -> np.ndarray:
    width = max(width, len(str(start + count)))
    return _obj([f"{prefix}{i:0{width}d}" for i in range(start, start + count)])


def _years(dob: np.ndarray) -> np.ndarray:
    return dob.astype("datetime64[Y]").astype(np.int64) + 1970


def _iso(d: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(d, unit="D").astype(object)


def _alpha(s: str) -> str:
    return "".join(filter(str.isalpha, s.lower()))


def _typo(s: str, r: random.Random) -> str:
    """One keyboard slip (insert, delete, neighbour key, transpose); the first letter stays."""
    if len(s) < 3:
        return s
    i = r.randrange(1, len(s) - 1)
    near = _NEAR.get(s[i].lower())
    op = r.random()
    if near is None or op >= 0.8:
        return s[:i] + s[i + 1] + s[i] + s[i + 2 :]
    c = r.choice(near)
    c = c.upper() if s[i].isupper() else c
    if op < 0.3:
        return s[:i] + c + s[i:]
    if op < 0.5:
        return s[:i] + s[i + 1 :]
    return s[:i] + c + s[i + 1 :]


def _nickname(name: str, r: random.Random) -> str:
    return r.choice(_NICK.get(name) or _FORMAL.get(name) or [name])


def _vary_email(e: str, r: random.Random) -> str:
    """Same person, other address: another provider, a +tag, or gmail's ignored dots."""
    local, _, dom = e.partition("@")
    x = r.random()
    if x < 0.4 or dom not in _PROVIDERS:
        return f"{local}@{r.choice([p for p in _PROVIDERS if p != dom])}"
    if x < 0.7 or dom != "gmail.com":
        return f"{local}+{r.choice(('shop', 'news', 'promo', 'store', 'deals'))}@{dom}"
    if "." in local:
        return f"{local.replace('.', '')}@{dom}"
    i = r.randrange(1, max(2, len(local)))
    return f"{local[:i]}.{local[i:]}@{dom}"


def _break_email(e: str, r: random.Random) -> str:
    local, _, dom = e.partition("@")
    return r.choice((f"{local}@{dom.rsplit('.', 1)[0]}", f"{local}@@{dom}", "no email", "n/a",
                     f"{local}@{dom.replace('.', ',')}", f"{local} {dom}", "none"))


# ---------------------------------------------------------------------------------- persons
def _layout(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Group sizes and kinds: households of 2-4, twin and Jr/Sr pairs, common names, singles."""
    hh = rng.choice([2, 3, 4], size=round(n * 0.065), p=[0.6, 0.3, 0.1])
    n_tw, n_jr, n_cn = round(n * 0.012), round(n * 0.010), round(n * 0.02)
    sizes = np.concatenate([hh, np.full(n_tw + n_jr, 2), np.ones(n_cn, dtype=int)])
    kinds = _obj(["household"] * len(hh) + ["twin"] * n_tw + ["junior"] * n_jr
                 + ["common_name"] * n_cn)
    keep = np.cumsum(sizes) <= n
    sizes, kinds = sizes[keep], kinds[keep]
    n_single = n - int(sizes.sum())
    sizes = np.concatenate([sizes, np.ones(n_single, dtype=int)])
    kinds = np.concatenate([kinds, _obj([""] * n_single)])
    perm = rng.permutation(len(sizes))
    return sizes[perm], kinds[perm]


def _addresses(k: int, rng: np.random.Generator, pools: _Pools) -> dict[str, np.ndarray]:
    city = rng.choice(len(pools.city), size=k, p=pools.city_p)
    z = rng.integers(1, 100, size=k).tolist()
    unit = rng.choice(len(_UNITS), size=k, p=[0.86, 0.07, 0.03, 0.02, 0.02]).tolist()
    unit_no = rng.integers(1, 40, size=k).tolist()
    stype_p = np.array([t[2] for t in _STREET_TYPES], dtype=float)
    return {
        "num": np.exp(rng.uniform(np.log(10), np.log(19999), k)).astype(np.int64) // 2,
        "base": _draw(pools.street_base, k, rng),
        "stype": rng.choice(len(_STREET_TYPES), size=k, p=stype_p / stype_p.sum()),
        "unit": _obj([_UNITS[u].format(x) for u, x in zip(unit, unit_no, strict=True)]),
        "city": city,
        "zip": _obj([f"{pools.zip3[c]}{x:02d}" for c, x in zip(city, z, strict=True)]),
    }


def _phones(city: np.ndarray, rng: np.random.Generator, pools: _Pools, far: float = 0.0):
    """Valid NANP numbers with the city's area code (a share keeps one from elsewhere)."""
    k = len(city)
    area = pools.codes[city, rng.integers(0, pools.n_codes[city])]
    away = rng.random(k) < far
    area[away] = pools.codes[rng.integers(len(pools.city), size=int(away.sum())), 0]
    return area * 10**7 + _draw(_EXCHANGES, k, rng) * 10**4 + rng.integers(0, 10000, size=k)


def _emails(first, last, year: np.ndarray, rng: np.random.Generator, pools: _Pools):
    """Addresses people actually pick: name patterns, birth years, common providers."""
    n = len(first)
    pat = rng.choice(8, size=n, p=[0.22, 0.14, 0.14, 0.06, 0.16, 0.1, 0.08, 0.1]).tolist()
    num = rng.integers(1, 100, size=n).tolist()
    prov = rng.choice(len(_PROVIDER_P), size=n, p=np.array(_PROVIDER_P) / sum(_PROVIDER_P))
    dom = np.where(prov == len(_PROVIDERS), _draw(pools.domains, n, rng),
                   _PROVIDERS[np.minimum(prov, len(_PROVIDERS) - 1)])
    out = []
    for f, la, y, p, k, d in zip(first, last, year.tolist(), pat, num, dom, strict=True):
        f, la = _alpha(f) or "x", _alpha(la) or "x"
        local = (f"{f}.{la}", f"{f}{la}", f"{f[0]}{la}", f"{f}_{la}", f"{f}.{la}{k:02d}",
                 f"{f}{y % 100:02d}", f"{la}{f[0]}", f"{f}{la[0]}{k}")[p]
        out.append(f"{local}@{d}")
    return _obj(out)


def _ages(kind, role, g, n_groups: int, rng: np.random.Generator) -> np.ndarray:
    """Ages that fit the group: partners close, children 20-34 years younger, Jr 25-30."""
    n = len(kind)
    hh, tw, jr = kind == "household", kind == "twin", kind == "junior"
    anchor = rng.uniform(28, 80, n_groups)[g]
    child = anchor - rng.uniform(20, 34, n)
    child = np.where(child < 16, anchor + rng.uniform(22, 34, n), child)  # else a live-in parent
    age = rng.uniform(18, 88, n)
    age = np.where(hh & (role == 0), anchor, age)
    age = np.where(hh & (role == 1), np.maximum(18, anchor + rng.normal(0, 3, n)), age)
    age = np.where(hh & (role >= 2), child, age)
    age = np.where(tw, rng.uniform(18, 65, n_groups)[g], age)
    father = rng.uniform(48, 88, n_groups)[g]
    return np.where(jr, np.where(role == 0, father, father - rng.uniform(25, 30, n)), age)


def _make_people(n: int, rng: np.random.Generator, pools: _Pools) -> pd.DataFrame:
    """One row per real person; look-alike groups share surname, address and home phone."""
    sizes, gkind = _layout(n, rng)
    n_groups = len(sizes)
    g = np.repeat(np.arange(n_groups), sizes)
    start = (np.cumsum(sizes) - sizes)[g]
    role = np.arange(n) - start
    kind = gkind[g]
    hh, tw, jr, cn = (kind == k for k in ("household", "twin", "junior", "common_name"))
    addr = _addresses(n_groups, rng, pools)
    home = _phones(addr["city"], rng, pools, far=0.15)[g]
    last = _draw(pools.last, n_groups, rng)[g]

    female = rng.random(n) < 0.5
    partner = hh & (role == 1) & (rng.random(n) < 0.85)
    female = np.where(partner, ~female[start], female) & ~jr
    first = np.where(female, _draw(pools.female, n, rng), _draw(pools.male, n, rng))
    for _ in range(3):  # members of a household have different first names
        clash = hh & pd.DataFrame({"g": g, "f": first}).duplicated().to_numpy()
        k = int(clash.sum())
        first[clash] = np.where(female[clash], _draw(pools.female, k, rng),
                                _draw(pools.male, k, rng))
    pair = _obj(_TWINS)[rng.integers(len(_TWINS), size=n_groups)[g][tw]]
    first[tw] = np.where(role[tw] == 0, pair[:, 1], pair[:, 2])
    female[tw] = [p[min(k, 1)] == "F" for p, k in zip(pair[:, 0], role[tw].tolist(), strict=True)]
    son = jr & (role == 1)
    first[son] = first[start[son]]
    common = _obj(_COMMON)[rng.integers(len(_COMMON), size=int(cn.sum()))]
    if cn.any():
        female[cn], first[cn], last[cn] = common[:, 0] == "F", common[:, 1], common[:, 2]
    dob = REF_DATE - np.round(_ages(kind, role, g, n_groups, rng) * 365.25).astype("m8[D]")

    own = _phones(addr["city"][g], rng, pools, far=0.2)
    shares = rng.random(n) < np.where(tw, 0.5, 0.7)
    phone = np.where((sizes[g] == 1) | shares, home, own)
    email = _emails(first, last, _years(dob), rng, pools)
    taken = pd.Series(email).duplicated().to_numpy()  # a provider hands out an address once
    suffix = rng.integers(100, 999, int(taken.sum())).tolist()
    email[taken] = [e.replace("@", f"{x}@", 1) for e, x in zip(email[taken], suffix, strict=True)]
    family = hh & (role > 0) & (rng.random(n_groups) < 0.15)[g]  # "the Smiths" share an inbox
    email[family] = email[start[family]]
    return pd.DataFrame({"kind": kind, "role": role, "female": female, "first": first,
                         "last": last, "dob": dob, **{k: v[g] for k, v in addr.items()},
                         "phone": phone, "email": email, "household": g})


# ---------------------------------------------------------------------------------- records
def _records_per_entity(n_rows: int, n_ent: int, rng: np.random.Generator):
    """Every person gets one record, some get 1-3 more; exactly n_rows in total."""
    extra = n_rows - n_ent
    k = rng.choice([1, 2, 3], size=max(extra, 1), p=[0.65, 0.25, 0.10])
    cum = np.cumsum(k)
    m = int(np.searchsorted(cum, extra)) + 1 if extra > 0 else 0
    k = k[:m].copy()
    if m:
        k[-1] -= cum[m - 1] - extra
    counts = np.ones(n_ent, dtype=int)
    counts[rng.choice(n_ent, size=m, replace=False)] += k
    rec = np.repeat(np.arange(n_ent), counts)
    first_pos = np.cumsum(counts) - counts
    return rec, np.arange(n_rows) != first_pos[rec]


def _streets(a: dict[str, np.ndarray], style: np.ndarray, keep_unit: np.ndarray) -> np.ndarray:
    parts = zip(a["num"].tolist(), a["base"], a["stype"].tolist(), a["unit"], style.tolist(),
                keep_unit.tolist(), strict=True)
    return _obj([f"{n} {b} {_TYPE_NAMES[s][t]}{u if k else ''}" for n, b, t, u, s, k in parts])


def _vary(first, last, street, email, dup: np.ndarray, rng: np.random.Generator, r: random.Random):
    """Per-row edits people and systems make; duplicates get them often, other rows rarely."""
    scale = np.where(dup, 1.0, 0.08)
    fire = rng.random((len(dup), len(_VARY_RATES))) < _VARY_RATES * scale[:, None]
    rows = np.flatnonzero(fire.any(axis=1))
    for i, f in zip(rows.tolist(), fire[rows].tolist(), strict=True):
        if f[0]:
            first[i] = _nickname(first[i], r)
        if f[1]:
            first[i] = _typo(first[i], r)
        if f[2]:
            last[i] = _typo(last[i], r)
        if f[3]:
            first[i] = first[i][:1] + "."
        if f[5]:
            street[i] = _typo(street[i], r)
        if f[6]:
            email[i] = _vary_email(email[i], r)
        if f[7]:
            local, _, dom = email[i].partition("@")
            email[i] = f"{_typo(local, r)}@{dom}"
        if f[8]:
            x = r.random()
            if x < 0.4:
                first[i] += " "
            elif x < 0.7:
                last[i] = " " + last[i]
            else:
                street[i] = street[i].replace(" ", "  ", 1)
        if f[4]:
            first[i], last[i] = last[i], first[i]


def _format_dates(d: np.ndarray, fmt: np.ndarray, swap: np.ndarray) -> np.ndarray:
    y = _years(d)
    m = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dd = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    sw = swap & (dd <= 12)  # day and month typed the other way round
    m, dd = np.where(sw, dd, m), np.where(sw, m, dd)
    parts = zip(y.tolist(), m.tolist(), dd.tolist(), fmt.tolist(), strict=True)
    return _obj([_DATE_FMT[f].format(a, b, c, _MON[b]) for a, b, c, f in parts])


def _format_phones(num: np.ndarray, fmt: np.ndarray) -> np.ndarray:
    digits = (f"{x:010d}" for x in num.tolist())
    return _obj([_PHONE_FMT[f].format(s[:3], s[3:6], s[6:])
                 for s, f in zip(digits, fmt.tolist(), strict=True)])


def _case(arrays, mode: np.ndarray) -> None:
    for arr in arrays:
        for k, fn in ((1, str.upper), (2, str.lower)):
            arr[mode == k] = [fn(s) for s in arr[mode == k]]


def _postcodes(zips: np.ndarray, src: np.ndarray, rng, r: random.Random) -> np.ndarray:
    """ZIP+4 (valid), leading zeros eaten by spreadsheets, and a few plain malformed codes."""
    u = rng.random(len(zips))
    plus4 = u < 0.03
    ext = rng.integers(1, 9999, int(plus4.sum())).tolist()
    zips[plus4] = [f"{z}-{x:04d}" for z, x in zip(zips[plus4], ext, strict=True)]
    lost0 = (src != 0) & (u > 0.7) & np.array([z[:1] == "0" for z in zips], dtype=bool)
    zips[lost0] = [z.lstrip("0") for z in zips[lost0]]
    junk = (u >= 0.03) & (u < 0.033)
    zips[junk] = [r.choice((z[:4], z + "0", "ABCDE", z[:2] + "O" + z[3:])) for z in zips[junk]]
    return zips


def _render(people: pd.DataFrame, rec: np.ndarray, dup: np.ndarray, src: np.ndarray,
            rng: np.random.Generator, r: random.Random, pools: _Pools) -> dict[str, np.ndarray]:
    """Records as a source system (src) holds the people in rec; dup rows vary the most."""
    n = len(rec)
    take = {c: people[c].to_numpy()[rec] for c in people.columns if c != "dob"}
    dob = people["dob"].to_numpy().astype("datetime64[D]")[rec]
    first, last, email, phone = take["first"], take["last"], take["email"], take["phone"]
    moved = dup & (rng.random(n) < 0.12)
    for c, v in _addresses(int(moved.sum()), rng, pools).items():
        take[c][moved] = v
    rephone = moved & (rng.random(n) < 0.4)
    phone[rephone] = _phones(take["city"][rephone], rng, pools)
    jr_sr = (take["kind"] == "junior") & (rng.random(n) < np.where(take["role"] == 1, 0.35, 0.1))
    last[jr_sr] = last[jr_sr] + np.where(take["role"][jr_sr] == 1, " Jr", " Sr")
    keep_unit = rng.random(n) > np.where(dup, 0.2, 0.03)
    street = _streets(take, _pick(rng, src, "street_style"), keep_unit)
    _vary(first, last, street, email, dup, rng, r)

    odd = rng.random(n)  # rare data-quality defects for the rule checks to find
    future, old = odd < 0.0015, (odd >= 0.0015) & (odd < 0.003)
    dob[future] = REF_DATE + rng.integers(30, 4000, int(future.sum()))
    dob[old] = np.datetime64("1880-01-01") + rng.integers(0, 9000, int(old.sum()))
    dob_s = _format_dates(dob, _pick(rng, src, "dob_fmt"), dup & (rng.random(n) < 0.03))
    phone_s = _format_phones(phone, _pick(rng, src, "phone_fmt"))
    short = rng.random(n) < 0.004  # typed without area code, or cut off
    phone_s[short] = [s[-8:] if r.random() < 0.5 else s[:-2] for s in phone_s[short]]

    city, state = pools.city[take["city"]], pools.state[take["city"]]
    _case((first, last, street, city), _pick(rng, src, "case"))
    u = rng.random(n)
    email[u < 0.03] = [e.title() for e in email[u < 0.03]]
    bad = (u >= 0.03) & (u < 0.045)
    email[bad] = [_break_email(e, r) for e in email[bad]]

    out = {"first_name": first, "last_name": last, "email": email, "phone": phone_s,
           "date_of_birth": dob_s, "street": street, "city": city,
           "postcode": _postcodes(take["zip"], src, rng, r), "state": state}
    for key, rates in _MISSING.items():
        out[key][rng.random(n) < np.array(rates)[src]] = ""
    no_place = (out["street"] == "") & (src == 2) & (rng.random(n) < 0.5)
    for key in ("city", "postcode", "state"):
        out[key][no_place] = ""
    return out


def _customers(n: int, rng: np.random.Generator, r: random.Random, pools: _Pools):
    """Master records and truth; also the people, so an acquired list can overlap them."""
    n_ent = max(1, min(n, round(n * _ENTITY_SHARE)))
    people = _make_people(n_ent, rng, pools)
    people["entity_id"] = _ids("E", 1, n_ent)
    rec, dup = _records_per_entity(n, n_ent, rng)
    order = rng.permutation(n)  # so that duplicates are not adjacent
    rec, dup = rec[order], dup[order]
    src = rng.choice(3, size=n, p=[0.45, 0.35, 0.20])
    cols = _render(people, rec, dup, src, rng, r, pools)

    span = int((REF_DATE - SIGNUP_START).astype(np.int64))
    signup = SIGNUP_START + rng.integers(0, span + 1, n).astype("m8[D]")
    consent = _obj(["Y", "N", ""])[_pick(rng, src, "consent")]
    odd = rng.random(n) < 0.004
    consent[odd] = _draw(_obj(["yes", "1", "true", "no"]), int(odd.sum()), rng)
    dated = np.isin(consent, ["Y", "yes", "1", "true"]) & (rng.random(n) < 0.93)
    left = (REF_DATE - signup).astype(np.int64) + 1
    cdate = signup + (rng.random(n) * left).astype(np.int64).astype("m8[D]")
    early = rng.random(n) < 0.006
    cdate[early] = signup[early] - rng.integers(1, 500, int(early.sum())).astype("m8[D]")

    ids = _ids("C", 1, n)
    frame = pd.DataFrame({
        "customer_id": ids, "source": _obj(_SOURCES)[src], **cols,
        "country": _obj(["US", "USA", "United States", ""])[_pick(rng, src, "country")],
        "consent_email": consent, "consent_date": np.where(dated, _iso(cdate), "").astype(object),
        "signup_date": _iso(signup),
    })
    truth = pd.DataFrame({"customer_id": ids, "entity_id": people["entity_id"].to_numpy()[rec],
                          "kind": people["kind"].to_numpy()[rec],
                          "household_id": _household_ids(people["household"].to_numpy()[rec])})
    return frame[CUSTOMER_COLUMNS], truth, people


def _household_ids(group: np.ndarray) -> np.ndarray:
    """Truth household ids ("H000001"): the look-alike group a person was generated in.

    A group shares one address and home phone in the generator, so it is one
    household: family households, and also twins and Jr/Sr pairs (they live
    together here). A common-name person and every single is a household of
    their own. Ids number the groups, so a person's household id is the same
    in the master's and the acquired list's truth.
    """
    return _obj([f"H{x + 1:06d}" for x in group.tolist()])


def _join_households(new: pd.DataFrame, master: pd.DataFrame, k: int, rng, pools) -> None:
    """Some new leads live in a master household: its surname, address and phone, another person."""
    heads = np.flatnonzero(((master["kind"] == "household") & (master["role"] == 0)).to_numpy())
    singles = np.flatnonzero((new["kind"] == "").to_numpy())
    k = min(k, len(heads), len(singles))
    h, s = rng.choice(heads, k, replace=False), rng.choice(singles, k, replace=False)
    for c in ("last", "num", "base", "stype", "unit", "city", "zip", "phone", "household"):
        new.loc[s, c] = master[c].to_numpy()[h]
    new.loc[s, "kind"] = "household"
    years = _years(new["dob"].to_numpy().astype("datetime64[D]")[s])
    new.loc[s, "email"] = _emails(new["first"].to_numpy()[s], new["last"].to_numpy()[s], years,
                                  rng, pools)


def _acquired(n: int, master: pd.DataFrame, rng, r, pools) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A purchased list: ~40% people we already have, the rest new, a few listed twice."""
    n_internal = round(n * 0.03)
    n_base = n - n_internal
    n_overlap = min(len(master), round(n_base * 0.40))
    n_new = n_base - n_overlap
    overlap = master.iloc[rng.choice(len(master), n_overlap, replace=False)]
    new = _make_people(n_new, rng, pools)
    new["entity_id"] = _ids("E", len(master) + 1, n_new)
    new["household"] += int(master["household"].max()) + 1 if len(master) else 0  # after the master's groups
    _join_households(new, master, round(n_new * 0.06), rng, pools)
    base = pd.concat([overlap, new], ignore_index=True)
    rec = np.concatenate([np.arange(n_base), rng.integers(0, max(n_base, 1), n_internal)])
    dup = np.concatenate([np.arange(n_base) < n_overlap, np.ones(n_internal, dtype=bool)])
    order = rng.permutation(n)
    rec, dup = rec[order], dup[order]
    src = np.full(n, 3)
    cols = _render(base, rec, dup, src, rng, r, pools)
    ids = _ids("L", 1, n, width=5)
    lists = _obj(["expo-2025", "webinar", "partner-x", "partner-y", "giveaway-2024"])
    frame = pd.DataFrame({
        "lead_id": ids, **cols,
        "opt_in": _obj(["true", "false", ""])[_pick(rng, src, "consent")],
        "list_source": rng.choice(lists, n, p=[0.3, 0.25, 0.2, 0.15, 0.1]),
    }).rename(columns={"date_of_birth": "birth_date", "street": "address", "postcode": "zip"})
    truth = pd.DataFrame({"lead_id": ids, "entity_id": base["entity_id"].to_numpy()[rec],
                          "household_id": _household_ids(base["household"].to_numpy()[rec])})
    return frame[ACQUIRED_COLUMNS], truth


# ---------------------------------------------------------------------------------- public API
def _rngs(seed: int) -> tuple[np.random.Generator, random.Random]:
    rng = np.random.default_rng(seed)
    return rng, random.Random(int(rng.integers(2**62)))


def generate_samples(n_customers: int = 5000, n_acquired: int = 2000, seed: int = 42) -> SampleSet:
    """Customer master, an overlapping purchased list and the truth of both; same seed, same data."""
    rng, r = _rngs(seed)
    pools = _build_pools(seed)
    customers, c_truth, people = _customers(n_customers, rng, r, pools)
    acquired, a_truth = _acquired(n_acquired, people, rng, r, pools)
    return SampleSet(customers, acquired, c_truth, a_truth)


def generate_customers_large(n: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(customers, truth) like the sample master's, built without Faker per row: 1M in seconds."""
    rng, r = _rngs(seed)
    customers, truth, _ = _customers(n, rng, r, _build_pools(seed))
    return customers, truth


_README = """# Sample data

Synthetic, seeded US customer data for demos, tests and benchmarks. No real person is in it.

- `customers.csv`: a customer master of {n_customers} records from three sources (crm, ecom,
  pos); about {dup_pct}% of rows are duplicates of another row (typos, nicknames, formats,
  moves, missing values), and many rows are look-alikes that are *not* duplicates (households,
  twins, Jr/Sr, common names). It also carries a few data-quality defects for the rule checks.
- `acquired.csv`: a purchased list of {n_acquired} leads with its own column names; about
  {overlap_pct}% of its rows are people already in the master.
- `truth/`: the ground truth (`entity_id` per record, shared by both files; `kind` marks
  look-alikes; `household_id` groups the people who live together: families, and twins and
  Jr/Sr pairs, who share an address here; everyone else is a household of one).
  **For tests and benchmarks only** - the product must never read it.

Generated by `{command}` (`workbench.samples.write_samples`).
Do not edit by hand: a test regenerates the files and compares bytes. Read with
`dtype=str, keep_default_na=False`: blanks are missing values, while strings such as "n/a" are data.
"""


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _readme(s: SampleSet, out_dir: str | Path, seed: int) -> str:
    command = f"workbench samples --out {Path(out_dir).as_posix()} --seed {seed}"
    if (len(s.customers), len(s.acquired)) != (5000, 2000):
        command += f" --customers {len(s.customers)} --acquired {len(s.acquired)}"
    dup = 1 - s.customers_truth["entity_id"].nunique() / max(len(s.customers), 1)
    overlap = s.acquired_truth["entity_id"].isin(s.customers_truth["entity_id"]).mean()
    return _README.format(n_customers=len(s.customers), n_acquired=len(s.acquired),
                          command=command, dup_pct=round(100 * dup),
                          overlap_pct=round(100 * overlap))


def write_samples(out_dir: str | Path = "data/samples", n_customers: int = 5000,
                  n_acquired: int = 2000, seed: int = 42) -> dict[str, Path]:
    """Write the sample CSVs (UTF-8, no index), the truth and a README; return paths by name."""
    s = generate_samples(n_customers, n_acquired, seed)
    out = Path(out_dir)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    paths = {"customers": out / "customers.csv", "acquired": out / "acquired.csv",
             "customers_truth": out / "truth" / "customers_truth.csv",
             "acquired_truth": out / "truth" / "acquired_truth.csv", "readme": out / "README.md"}
    for key in ("customers", "acquired", "customers_truth", "acquired_truth"):
        paths[key].write_bytes(_csv_bytes(getattr(s, key)))
    paths["readme"].write_text(_readme(s, out_dir, seed), encoding="utf-8")
    return paths
