"""Benchmark: 20 customer rules through ``run_checks`` vs the same checks in plain pandas.

Prints figures; asserts nothing (tests live in tests/). Both sides compute the
same per-row outcome (pass / fail / not tested) and failure counts for every
check, and both validate each distinct email and phone once -- the fair
baseline for a hand-written notebook. ``failures`` (the per-failure records)
is built lazily by workbench and timed separately.

    .venv/bin/python benchmarks/bench_rules.py --rows 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

import numpy as np
import pandas as pd

from workbench.checks import (
    age_between,
    consent_consistent,
    consent_present,
    date_parseable,
    freshness,
    in_set,
    length,
    matches,
    not_in_future,
    not_null,
    run_checks,
    unique,
    valid_email,
    valid_phone,
    valid_postcode,
)
from workbench.checks.validators import DATE_FORMATS, POSTCODE_PATTERNS

AS_OF = pd.Timestamp("2025-06-30")
DOMAINS = ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "aol.com", "icloud.com", "comcast.net"]
AREA = np.array([201, 202, 212, 213, 305, 312, 347, 404, 415, 503, 512, 602, 617, 646, 702, 713, 718, 773, 808, 917])


def _pick(rng: np.random.Generator, pool: np.ndarray, n: int, p_null: float = 0.0) -> np.ndarray:
    out = pool[rng.integers(0, len(pool), n)].astype(object)
    if p_null:
        out[rng.random(n) < p_null] = None
    return out


def _names(rng: np.random.Generator, count: int) -> np.ndarray:
    syll = np.array(["an", "be", "ca", "da", "el", "fa", "gi", "ho", "is", "jo", "ka", "li", "ma", "no", "ra", "son"])
    parts = [syll[rng.integers(0, len(syll), count)] for _ in range(3)]
    return np.char.capitalize(np.char.add(np.char.add(parts[0], parts[1]), parts[2]))


def _dates(rng: np.random.Generator, start: str, end: str, n: int) -> pd.Series:
    lo, hi = pd.Timestamp(start).value // 86_400_000_000_000, pd.Timestamp(end).value // 86_400_000_000_000
    return pd.Series(pd.to_datetime(rng.integers(lo, hi, n), unit="D"))


def build(rows: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` x 12 realistic customer columns, with the usual defects."""
    rng = np.random.default_rng(seed)
    first, last = _names(rng, 5000), _names(rng, 20000)
    # ~200k distinct emails over a few big domains and many small ones; ~5% invalid
    pool = 200_000
    domains = np.array(DOMAINS + [f"{w}{i}.com" for i, w in enumerate(_names(rng, 2000))])
    dom = np.where(rng.random(pool) < 0.7, rng.integers(0, len(DOMAINS), pool), rng.integers(0, len(domains), pool))
    local = np.char.add(np.char.add(np.char.lower(_pick(rng, first, pool).astype(str)), "."),
                        np.char.lower(_pick(rng, last, pool).astype(str)))
    local = np.char.add(local, rng.integers(0, 1000, pool).astype(str))
    emails = np.char.add(np.char.add(local, "@"), domains[dom]).astype(object)
    bad = rng.random(pool) < 0.05
    emails[bad] = np.char.replace(emails[bad].astype(str), "@", rng.choice(["", "@@", " at ", "@."], 1)[0])
    # ~200k distinct phones in mixed US formats; ~4% junk
    a, e, s = AREA[rng.integers(0, len(AREA), pool)], rng.integers(200, 999, pool), rng.integers(0, 10000, pool)
    fmt = rng.integers(0, 5, pool)
    phones = np.array([
        (f"({x}) {y}-{z:04d}", f"{x}-{y}-{z:04d}", f"+1 {x} {y} {z:04d}", f"{x}.{y}.{z:04d}", f"{x}{y}{z:04d}")[f]
        for x, y, z, f in zip(a, e, s, fmt, strict=True)
    ], dtype=object)
    phones[rng.random(pool) < 0.04] = "12345"
    n = rows
    dob = _dates(rng, "1930-01-01", "2008-12-31", n)
    dob_text = dob.dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
    us = rng.random(n) < 0.1
    dob_text[us] = dob[us].dt.strftime("%m/%d/%Y").to_numpy()
    dob_text[rng.random(n) < 0.01] = "unknown"
    dob_text[rng.random(n) < 0.02] = None
    signup = _dates(rng, "2008-01-01", "2025-12-31", n)  # some after AS_OF: in the future
    consent = _pick(rng, np.array(["Y", "N", "", "yes"], dtype=object), n)
    consent_date = (signup + pd.to_timedelta(rng.integers(-30, 400, n), unit="D")).dt.strftime("%Y-%m-%d")
    consent_date = consent_date.where(np.isin(consent, ["Y", "yes"]) & (rng.random(n) > 0.03), None)
    country = _pick(rng, np.array(["US"] * 90 + ["USA"] * 3 + ["CA"] * 4 + ["GB"] * 3, dtype=object), n)
    zips = np.char.zfill(rng.integers(500, 99950, 40_000).astype(str), 5).astype(object)
    postcode = _pick(rng, zips, n, 0.02)
    postcode[country == "CA"] = "K1A 0B1"
    postcode[country == "GB"] = _pick(rng, np.array(["SW1A 1AA", "EC1A 1BB", "W1A 0AX", "1234"], dtype=object),
                                      int((country == "GB").sum()))
    postcode[rng.random(n) < 0.03] = "ABC12"
    states = np.array(["CA", "NY", "TX", "FL", "IL", "PA", "OH", "GA", "NC", "MI", "Calif", "N.Y."], dtype=object)
    ids = np.arange(1, n + 1, dtype=np.int64)
    ids[rng.random(n) < 0.001] = 7  # a few duplicate keys
    return pd.DataFrame({
        "customer_id": ids,
        "first_name": _pick(rng, first, n, 0.01),
        "last_name": _pick(rng, last, n, 0.01),
        "email": _pick(rng, emails, n, 0.03),
        "phone": _pick(rng, phones, n, 0.05),
        "date_of_birth": dob_text,
        "postcode": postcode,
        "state": _pick(rng, states, n, 0.02),
        "country": country,
        "consent_email": consent,
        "consent_date": consent_date.to_numpy(dtype=object),
        "signup_date": signup.dt.strftime("%Y-%m-%d").to_numpy(dtype=object),
    })


RULES = [
    unique("customer_id"), not_null("customer_id"), not_null("first_name"), not_null("last_name"),
    valid_email("email"), not_null("email"), valid_phone("phone", region="US"),
    valid_postcode("postcode", country_column="country"), in_set("consent_email", ["Y", "N", "yes", "no"]),
    consent_present("consent_email"),
    consent_consistent("consent_email", date_column="consent_date", signup_column="signup_date"),
    date_parseable("date_of_birth"), not_in_future("date_of_birth"), age_between("date_of_birth", 0, 120),
    date_parseable("signup_date"), not_in_future("signup_date"), freshness("signup_date", max_age_years=15),
    length("state", 2, 2), in_set("country", ["US", "USA", "CA", "GB"]), matches("last_name", r"^[A-Za-z' -]+$"),
]


# --------------------------------------------------------------------------
# the same 20 checks by hand


def plain_pandas(df: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """(tested, failed) per check, written as a careful analyst would in a notebook.

    Deliberately lean: missing means NA or "" (no strip of whitespace-only
    values, which this data does not contain), so the baseline is, if
    anything, flattered.
    """
    import phonenumbers
    from email_validator import EmailNotValidError, validate_email

    out: dict[str, tuple[int, int]] = {}
    everyone = pd.Series(True, index=df.index)

    def record(name: str, tested: pd.Series, ok: pd.Series) -> None:
        out[name] = (int(tested.sum()), int((tested & ~ok).sum()))

    def parse(s: pd.Series) -> pd.Series:
        res = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
        todo = s[s.notna() & s.ne("")]
        for f in DATE_FORMATS:
            got = pd.to_datetime(todo, format=f, errors="coerce", utc=True).dt.tz_localize(None)
            hit = got.notna()
            res[got.index[hit]] = got[hit]
            todo = todo[~hit]
        return res

    def email_ok(x: str) -> bool:
        try:
            validate_email(x.strip(), check_deliverability=False)
            return True
        except EmailNotValidError:
            return False

    def phone_ok(x: str) -> bool:
        try:
            return phonenumbers.is_valid_number(phonenumbers.parse(x.strip(), "US"))
        except phonenumbers.NumberParseException:
            return False

    m = {c: df[c].isna() | df[c].eq("") for c in df.columns}
    record("unique:customer_id", ~m["customer_id"], ~df["customer_id"].duplicated(keep=False))
    for c in ("customer_id", "first_name", "last_name", "email"):
        record(f"not_null:{c}", everyone, ~m[c])
    cache = {x: email_ok(x) for x in pd.unique(df["email"][~m["email"]])}
    record("valid_email:email", ~m["email"], df["email"].map(cache).ne(False))
    cache = {x: phone_ok(x) for x in pd.unique(df["phone"][~m["phone"]])}
    record("valid_phone:phone", ~m["phone"], df["phone"].map(cache).ne(False))
    cc = df["country"].map({"US": "US", "USA": "US", "CA": "CA", "GB": "GB", "UK": "GB"})
    tested = ~m["postcode"] & cc.isin(list(POSTCODE_PATTERNS))
    ok = np.ones(len(df), dtype=bool)
    for code in cc[tested].unique():
        sel = (tested & (cc == code)).to_numpy()
        ok[sel] = df["postcode"][sel].str.upper().str.fullmatch(POSTCODE_PATTERNS[code]).to_numpy(bool)
    record("valid_postcode:postcode", tested, pd.Series(ok, index=df.index))
    consent = df["consent_email"]
    record("in_set:consent_email", ~m["consent_email"], consent.isin(["Y", "N", "yes", "no"]))
    flags = consent.str.lower()
    record("consent_present:consent_email", everyone,
           flags.isin(["y", "n", "yes", "no", "true", "false", "1", "0", "t", "f"]))
    given = flags.isin(["y", "yes", "true", "1", "t"])
    cdate, sdate = parse(df["consent_date"]), parse(df["signup_date"])
    record("consent_consistent:consent_email", given, cdate.notna() & (sdate.isna() | (cdate >= sdate)))
    dob = parse(df["date_of_birth"])
    record("date_parseable:date_of_birth", ~m["date_of_birth"], dob.notna())
    record("not_in_future:date_of_birth", dob.notna(), dob <= AS_OF)
    age = AS_OF.year - dob.dt.year - ((dob.dt.month > AS_OF.month)
                                     | ((dob.dt.month == AS_OF.month) & (dob.dt.day > AS_OF.day)))
    record("age_between:date_of_birth", dob.notna(), age.between(0, 120))
    record("date_parseable:signup_date", ~m["signup_date"], sdate.notna())
    record("not_in_future:signup_date", sdate.notna(), sdate <= AS_OF)
    record("freshness:signup_date", sdate.notna(), sdate >= AS_OF - pd.DateOffset(years=15))
    record("length:state", ~m["state"], df["state"].str.len().eq(2))
    record("in_set:country", ~m["country"], df["country"].isin(["US", "USA", "CA", "GB"]))
    record("matches:last_name", ~m["last_name"], df["last_name"].str.match(r"^[A-Za-z' -]+$").astype(bool))
    return out


def workbench(df: pd.DataFrame) -> dict[str, tuple[int, int]]:
    results = run_checks(df, RULES, key="customer_id", as_of=AS_OF)
    s = results.summary
    return {r.name: (int(r.tested), int(r.failed)) for r in s.itertuples()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    df = build(args.rows)
    print(f"data: {len(df):,} rows x {df.shape[1]} columns built in {time.perf_counter() - t0:.1f} s; "
          f"distinct emails {df['email'].nunique():,}, phones {df['phone'].nunique():,}")
    times: dict[str, list[float]] = {"workbench": [], "plain pandas": []}
    answers = {}
    for _ in range(args.repeat):
        for label, fn in (("workbench", workbench), ("plain pandas", plain_pandas)):
            t = time.perf_counter()
            answers[label] = fn(df)
            times[label].append(time.perf_counter() - t)
    results = run_checks(df, RULES, key="customer_id", as_of=AS_OF)
    t = time.perf_counter()
    failures = results.failures  # built on first access
    t_failures = time.perf_counter() - t

    wb, pp = statistics.median(times["workbench"]), statistics.median(times["plain pandas"])
    print(f"{len(RULES)} rules, {args.repeat} runs each (median seconds)")
    print(f"  workbench run_checks + summary : {wb:7.2f} s   runs: {', '.join(f'{x:.2f}' for x in times['workbench'])}")
    print(f"  plain pandas, same checks      : {pp:7.2f} s   runs: "
          f"{', '.join(f'{x:.2f}' for x in times['plain pandas'])}")
    print(f"  ratio workbench / plain pandas : {wb / pp:7.2f} x  (target <= 2)")
    print(f"  failures table, on first access: {t_failures:7.2f} s   ({len(failures):,} failure records)")
    wb_ans, pp_ans = answers["workbench"], answers["plain pandas"]
    differ = [f"{k} {wb_ans.get(k)} vs {pp_ans[k]}" for k in pp_ans if pp_ans[k] != wb_ans.get(k)]
    print(f"  checks agreeing on (tested, failed): {len(RULES) - len(differ)}/{len(RULES)}"
          + (f"; differ: {'; '.join(differ)}" if differ else ""))
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB; "
          f"load average during run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
