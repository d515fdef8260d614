"""Cheap candidate pairs for training: exact keys on standardized fields.

dedupe's ``prepare_training`` compares every pair inside every block of all
records it is given (memory grows roughly quadratically). We instead pick a
bounded training sample rich in likely duplicates: records sharing a cheap
key (email, phone, name + date of birth, ...), namesakes among them (the start
of a given name or surname, not both names), and random pairs, so the analyst sees look-alikes,
near misses and clear non-matches, in seconds, whatever the dataset size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Cheap keys: tuples of prepared fields that must all be present and equal.
CHEAP_KEYS: list[tuple[str, ...]] = [
    ("email",),
    ("phone",),
    ("name_set",),
    ("last_name", "dob"),
    ("first_name", "last_name"),
    ("first_initial", "dob"),
    ("postcode", "last3"),
    ("street", "postcode"),
    ("full_name",),
]

#: Pairs sharing the start of a given name or of a surname (namesakes, relatives, typos), as a share
#: of the key-sharing pairs: the near misses that teach what the rest of the name is worth.
NAMESAKE_SHARE = 0.25
#: The name parts those pairs share the start of.
NAME_PARTS = ("first_name", "last_name")
#: How many leading letters they share: "Hiroki"/"Hiroaki", "James E."/"James H.", "Jun-Se"/"Jun-Hee"
#: are different people a typo-tolerant comparator finds close (dedupe blocks on such prefixes too).
NAMESAKE_PREFIX = 4
#: A field is a cheap key of its own when at least this share of its values are distinct.
SELECTIVE = 0.2
#: Groups larger than this say little (a shared office phone); skipped.
MAX_GROUP = 25
#: Records scanned for raw keys when picking a work sample.
KEY_SLICE = 200_000


def key_columns(prepared: pd.DataFrame) -> dict[str, pd.Series]:
    """Each cheap key as a text Series (None where a part is missing), for the fields present."""
    cols = dict(prepared.items())
    if "first_name" in cols:
        cols["first_initial"] = prepared["first_name"].str[:1]
    if "last_name" in cols:
        cols["last3"] = prepared["last_name"].str[:3]
    keys: dict[str, pd.Series] = {}
    for parts in CHEAP_KEYS:
        if not all(p in cols for p in parts):
            continue
        present = pd.concat([cols[p].notna() for p in parts], axis=1).all(axis=1)
        joined = cols[parts[0]].astype(str)
        for p in parts[1:]:
            joined = joined + "|" + cols[p].astype(str)  # vectorized; a row-wise join took seconds
        keys["+".join(parts)] = joined.where(present, None)
    # Any other field selective enough to pair likely duplicates by its whole value
    # (an organization name, a website, a registration number, a one-line address):
    # data without person fields gets look-alikes to learn from too.
    used = {p for parts in CHEAP_KEYS for p in parts}
    for name in prepared.columns:
        col = prepared[name]
        if name in used or col.notna().sum() < 2:
            continue
        if col.nunique() >= SELECTIVE * col.notna().sum():
            keys[name] = col.where(col.notna(), None).astype(object)
    return keys


def pairs_sharing_keys(prepared: pd.DataFrame, other: pd.DataFrame | None = None,
                       max_group: int = MAX_GROUP) -> pd.DataFrame:
    """Positional pairs (left, right) sharing any cheap key; canonical (left < right) when deduplicating."""
    left_keys = key_columns(prepared)
    right_keys = key_columns(other) if other is not None else left_keys
    found = []
    for name, lk in left_keys.items():
        if name not in right_keys:
            continue
        rk = right_keys[name]
        sizes = pd.concat([lk, rk]).value_counts() if other is not None else lk.value_counts()
        found.append(_pairs_on_key(lk.to_numpy(), np.arange(len(lk)), rk.to_numpy(), np.arange(len(rk)),
                                   canonical=other is None, keep=sizes[sizes <= max_group].index))
    if not found:
        return _no_pairs()
    return pd.concat(found, ignore_index=True).drop_duplicates(ignore_index=True)


def _pairs_on_key(left_keys: np.ndarray, left_pos: np.ndarray, right_keys: np.ndarray, right_pos: np.ndarray, *,
                  canonical: bool, keep: pd.Index | None = None) -> pd.DataFrame:
    """Positional pairs (left, right) whose keys are equal (missing keys pair with nothing), only keys
    in ``keep`` when given; ``canonical`` keeps left < right (one dataset against itself)."""
    a = pd.DataFrame({"k": left_keys, "left": left_pos}).dropna()
    b = pd.DataFrame({"k": right_keys, "right": right_pos}).dropna()
    if keep is not None:
        a, b = a[a["k"].isin(keep)], b[b["k"].isin(keep)]
    m = a.merge(b, on="k")[["left", "right"]]
    return m[m["left"] < m["right"]] if canonical else m


def _no_pairs() -> pd.DataFrame:
    return pd.DataFrame({"left": pd.Series(dtype="int64"), "right": pd.Series(dtype="int64")})


def random_pairs(n_left: int, n_right: int | None, count: int, rng: np.random.Generator) -> pd.DataFrame:
    """``count`` random positional pairs (canonical and without self-pairs when deduplicating)."""
    if n_left < 2 and n_right is None:
        return _no_pairs()
    left = rng.integers(0, n_left, count)
    right = rng.integers(0, n_right if n_right is not None else n_left, count)
    df = pd.DataFrame({"left": left, "right": right})
    if n_right is None:
        df = df[df["left"] != df["right"]]
        lo, hi = np.minimum(df["left"], df["right"]), np.maximum(df["left"], df["right"])
        df = pd.DataFrame({"left": lo, "right": hi})
    return df.drop_duplicates(ignore_index=True)


def training_pool(prepared: pd.DataFrame, *, rng: np.random.Generator, max_records: int = 1500,
                  random_share: float = 0.35, other: pd.DataFrame | None = None) -> pd.DataFrame:
    """Pairs of record keys to learn from: sharing a cheap key, namesakes, and random.

    The namesakes are drawn among the records already chosen: two people who
    share the start of a given name (and an employer, a town) but not the
    surname are the near misses active learning must ask about, and
    whole-key pairs never show them. On the PatentsView inventors no label
    said a "Hiroki" at one company is not every other "Hiroki" or "Hiroaki"
    there, while raw dedupe, whose training sample comes from blocks on name
    prefixes, asked about a dozen.
    Bounded by ``max_records`` records on each side, so memory and time do not
    depend on the dataset size. Returns columns left_key, right_key, origin.
    """
    blocked = pairs_sharing_keys(prepared, other)
    if len(blocked):
        blocked = blocked.sample(frac=1.0, random_state=int(rng.integers(0, 2**31 - 1)), ignore_index=True)
        offset = len(prepared) if other is not None else 0
        blocked = blocked[_within_budget(blocked["left"].to_numpy(), blocked["right"].to_numpy() + offset,
                                         max_records)]
    n_random = max(200, int(len(blocked) * random_share / (1 - random_share)))
    rand = random_pairs(len(prepared), len(other) if other is not None else None, n_random, rng)
    namesakes = namesake_pairs(prepared, other, [blocked, rand], max(100, int(len(blocked) * NAMESAKE_SHARE)), rng)
    right_index = (other if other is not None else prepared).index
    out = pd.concat([
        pd.DataFrame({"left_key": prepared.index[pairs["left"]], "right_key": right_index[pairs["right"]],
                      "origin": origin})
        for pairs, origin in ((blocked, "shared key"), (rand, "random"), (namesakes, "namesake"))
    ], ignore_index=True)
    return out.drop_duplicates(["left_key", "right_key"], ignore_index=True)


def namesake_pairs(prepared: pd.DataFrame, other: pd.DataFrame | None, chosen: list[pd.DataFrame],
                   count: int, rng: np.random.Generator) -> pd.DataFrame:
    """About ``count`` positional pairs among the records in ``chosen`` pairs that share the first
    ``NAMESAKE_PREFIX`` letters of a given name or of a surname (an equal share each) and are not
    among ``chosen`` already. Pairs sharing both names are mostly there already, except from a full
    name too common to be a cheap key (shared by more than ``MAX_GROUP`` records): those come in here
    too, as look-alikes."""
    columns = set(prepared.columns) & (set(other.columns) if other is not None else set(prepared.columns))
    parts = [p for p in NAME_PARTS if p in columns]
    if not parts or count <= 0:
        return _no_pairs()
    taken = pd.concat(chosen, ignore_index=True)
    left_rows, right_rows = np.unique(taken["left"].to_numpy()), np.unique(taken["right"].to_numpy())
    if other is None:
        left_rows = right_rows = np.union1d(left_rows, right_rows)
    found = []
    right = other if other is not None else prepared
    for name in parts:
        lstart = prepared[name].astype("string").str[:NAMESAKE_PREFIX].to_numpy()
        rstart = right[name].astype("string").str[:NAMESAKE_PREFIX].to_numpy()
        m = _pairs_on_key(lstart[left_rows], left_rows, rstart[right_rows], right_rows, canonical=other is None)
        m = m.merge(taken[["left", "right"]].drop_duplicates(), how="left", indicator=True)
        m = m.loc[m["_merge"] == "left_only", ["left", "right"]]
        if len(m) > count // len(parts):
            m = m.sample(max(count // len(parts), 1), random_state=int(rng.integers(0, 2**31 - 1)))
        found.append(m)
    return pd.concat(found, ignore_index=True).drop_duplicates(ignore_index=True)


def _within_budget(left: np.ndarray, right: np.ndarray, max_records: int) -> np.ndarray:
    """Mask of the leading pairs that together touch at most ``max_records`` records."""
    stacked = np.column_stack([left, right]).ravel()
    new = ~pd.Series(stacked).duplicated().to_numpy()
    used_after = np.cumsum(new)[1::2]
    return used_after <= max_records


def raw_keys(raw: pd.DataFrame, schema) -> dict[str, pd.Series]:
    """Very cheap keys on raw values (lowercased email, phone digits, full name): vectorized, whole data.

    Used only to pick a work sample rich in likely duplicates before anything
    is standardized, so a million records cost seconds.
    """
    from workbench.schema import Role

    keys: dict[str, pd.Series] = {}
    text = "string[pyarrow]"  # arrow compute: several times faster than object strings here
    email = schema.column_for(Role.EMAIL)
    if email:
        keys["email"] = raw[email].astype(text).str.strip().str.lower()
    phone = schema.column_for(Role.PHONE)
    if phone:
        digits = raw[phone].astype(text).str.replace(r"\D", "", regex=True).str[-10:]
        keys["phone"] = digits.where(digits.str.len() >= 7)
    first, last = schema.column_for(Role.FIRST_NAME), schema.column_for(Role.LAST_NAME)
    if first and last:
        keys["name"] = (raw[first].astype(text).str.strip().str.lower() + " "
                        + raw[last].astype(text).str.strip().str.lower())
    for role in (Role.FULL_NAME, Role.ORGANIZATION, Role.WEBSITE, Role.REGISTRATION_ID):
        col = schema.column_for(role)
        if col:
            keys[role.value] = raw[col].astype(text).str.strip().str.lower()
    return keys


def rich_sample(raw: pd.DataFrame, schema, size: int, rng: np.random.Generator,
                partner: pd.DataFrame | None = None, partner_schema=None) -> pd.DataFrame:
    """About ``size`` records: half from groups sharing a raw key (likely duplicates), half at random.

    With ``partner`` (linking), the keyed half are records sharing a key with
    the partner's records instead.
    """
    if len(raw) <= size:
        return raw
    # Keys on a random slice of at most KEY_SLICE records: a million string
    # operations took 15 s; a duplicate pair survives in a 20% slice with p=0.04,
    # which on customer data still leaves thousands of pairs to choose from.
    if len(raw) > KEY_SLICE:
        raw = raw.iloc[np.sort(rng.choice(len(raw), KEY_SLICE, replace=False))]
    keys = raw_keys(raw, schema)
    chosen = np.zeros(len(raw), dtype=bool)
    budget = size // 2
    partner_keys = raw_keys(partner, partner_schema) if partner is not None else None
    for name, key in keys.items():
        key = key.reset_index(drop=True)
        if partner_keys is not None:
            if name not in partner_keys:
                continue
            mask = key.isin(set(partner_keys[name].dropna())).fillna(False).to_numpy()
        else:
            counts = key.map(key.value_counts())
            mask = ((counts >= 2) & (counts <= MAX_GROUP)).fillna(False).to_numpy()
        candidates = np.flatnonzero(mask & ~chosen)
        if not len(candidates):
            continue
        if partner_keys is None:
            # take whole groups: sample group keys, then every row of them
            group_keys = key.iloc[candidates].drop_duplicates()
            take = group_keys.sample(min(len(group_keys), max(budget // (2 * len(keys)), 1)),
                                     random_state=int(rng.integers(0, 2**31 - 1)))
            rows = np.flatnonzero(key.isin(set(take)).fillna(False).to_numpy())
        else:
            rows = rng.choice(candidates, min(len(candidates), budget // len(keys)), replace=False)
        chosen[rows] = True
    rest = np.flatnonzero(~chosen)
    chosen[rng.choice(rest, min(len(rest), max(size - int(chosen.sum()), size // 2)), replace=False)] = True
    return raw.iloc[np.flatnonzero(chosen)]
