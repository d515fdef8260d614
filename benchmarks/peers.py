"""Peers for bench_match: raw ``dedupe`` and Splink on exactly the records and columns we get.

    from peers import run_dedupe, run_splink
    run_dedupe(bench_set, labels=50, seed=0)   # {"precision", "recall", "f1", "labels", "seconds"}
    run_splink(bench_set)                      # unsupervised, no labels

Each peer is set up the way a competent user of that library would: its own
per-data-set settings (``DEDUPE_FIELDS``, ``SPLINK_SETTINGS`` below), the light
cleaning its documentation recommends (lower case, trimmed, phone as digits,
lists split into sets) and nothing tuned on the truth. A data set without an
entry, or whose columns no longer match its entry (``business`` is young),
gets settings derived from its column names (``_kind``).
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from common import cluster_metrics
from datasets import BenchSet

# -- light cleaning, the same for both peers -------------------------------------
PHONE_COLUMNS = {"phone", "telephone", "tel", "mobile", "fax"}
LIST_COLUMNS = {"assignees", "coinventors"}          # "; "-joined lists in the frame
# dates written several ways ("27 jul 1978", "04/19/1954", "1965-08-25"): parsed to ISO first
MIXED_DATES = {"sample": ["date_of_birth"]}
_SPACES = re.compile(r"\s+")


def _clean(value) -> str | None:
    """Lower case, single spaces, no quotes; '' and NaN become None (dedupe's csv_example preProcess)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = _SPACES.sub(" ", str(value).replace('"', "").replace("'", "")).strip().lower()
    return text or None


def _digits(value) -> str | None:
    text = _clean(value)
    text = re.sub(r"\D", "", text) if text else None
    return text or None


def _items(value) -> tuple[str, ...] | None:
    text = _clean(value)
    return tuple(sorted({t.strip() for t in text.split(";") if t.strip()})) if text else None


def _frame(bs: BenchSet) -> pd.DataFrame:
    """bs.frame with the data set's mixed-format date columns as ISO dates (unparseable: missing)."""
    frame = bs.frame
    for col in MIXED_DATES.get(bs.name, []):
        frame = frame.copy() if frame is bs.frame else frame
        parsed = pd.to_datetime(frame[col], format="mixed", errors="coerce")
        frame[col] = parsed.dt.strftime("%Y-%m-%d").where(parsed.notna(), None)
    return frame


def _kind(column: str) -> str:
    """What a column holds, guessed from its name (for data sets without hand-written settings)."""
    c = column.lower()
    if c in PHONE_COLUMNS or "phone" in c:
        return "phone"
    if "email" in c or "mail" in c:
        return "email"
    if "dob" in c or "birth" in c:
        return "dob"
    if "date" in c or c.endswith("_at"):
        return "date"
    if "post" in c or "zip" in c:
        return "postcode"
    if c in {"city", "town", "suburb", "locality"}:
        return "city"
    if c in {"state", "country", "region", "province", "country_code", "source"}:
        return "code"
    if "name" in c:
        return "name"
    if "addr" in c or "street" in c:
        return "address"
    if any(t in c for t in ("vat", "tax", "duns", "registration", "_id", "number", "code")):
        return "id"
    return "text"


# -- raw dedupe --------------------------------------------------------------------
# column -> dedupe variable type; every variable has has_missing=True.
# ShortString for codes and dates (edit distance on short strings, no TF-IDF),
# Exact for small closed vocabularies, Set for lists (split on ";").
DEDUPE_FEBRL = {
    "given_name": "String", "surname": "String", "street_number": "ShortString", "address_1": "String",
    "address_2": "String", "suburb": "String", "postcode": "ShortString", "state": "Exact",
    "date_of_birth": "ShortString", "soc_sec_id": "ShortString",
}
DEDUPE_FIELDS: dict[str, dict[str, str]] = {
    "febrl1": DEDUPE_FEBRL,
    "febrl2": DEDUPE_FEBRL,
    "febrl3": DEDUPE_FEBRL,
    "restaurants": {"name": "String", "addr": "String", "city": "ShortString", "phone": "ShortString",
                    "type": "String"},
    "patents": {"first_name": "String", "last_name": "String", "city": "String", "state": "Exact",
                "country": "Exact", "patent_date": "ShortString", "assignees": "Set", "coinventors": "Set"},
    # source, consent_* and signup_date describe the account, not the person: left out
    "sample": {"first_name": "String", "last_name": "String", "email": "String", "phone": "ShortString",
               "date_of_birth": "ShortString", "street": "String", "city": "ShortString",
               "postcode": "ShortString", "state": "Exact", "country": "Exact"},
    # created_at is account metadata: left out; country is free text ("AUSTRALIA", "Commonwealth of Australia")
    "business": {"customer_type": "Exact", "company_name": "String", "contact_first": "String",
                 "contact_last": "String", "email": "String", "phone": "ShortString", "address_line": "String",
                 "postcode": "ShortString", "city": "ShortString", "country": "String",
                 "vat_number": "ShortString", "website": "String"},
}
DEDUPE_BY_KIND = {"phone": "ShortString", "email": "String", "dob": "ShortString", "date": None,
                  "postcode": "ShortString", "city": "ShortString", "code": "Exact", "name": "String",
                  "address": "String", "id": "ShortString", "text": "String"}
KEY_FIELD = "__bench_key"


def dedupe_fields(bs: BenchSet) -> dict[str, str]:
    if bs.name in DEDUPE_FIELDS and set(DEDUPE_FIELDS[bs.name]) <= set(bs.columns):
        return DEDUPE_FIELDS[bs.name]
    if bs.name in DEDUPE_FIELDS:
        print(f"dedupe: {bs.name} columns changed, variables derived from the column names instead")
    return {c: v for c in bs.columns if (v := DEDUPE_BY_KIND[_kind(c)])}


def _dedupe_records(bs: BenchSet, fields: dict[str, str]) -> dict[str, dict]:
    records: dict[str, dict] = {}
    cols = list(fields)
    for row in _frame(bs)[[bs.key, *cols]].itertuples(index=False, name=None):
        rec = {KEY_FIELD: str(row[0])}
        for col, value in zip(cols, row[1:], strict=True):
            if fields[col] == "Set":
                rec[col] = _items(value)
            elif col.lower() in PHONE_COLUMNS:
                rec[col] = _digits(value)
            else:
                rec[col] = _clean(value)
        records[str(row[0])] = rec
    return records


def run_dedupe(bs: BenchSet, labels: int, seed: int = 0, sample_size: int = 1000) -> dict:
    """Raw dedupe 3: active learning on a bounded sample, scripted labeler, partition everything at 0.5.

    ``prepare_training`` uses every record it is given (memory grows with the square),
    so it sees a random sample of at most ``sample_size`` records (capped at 1,500).
    """
    import dedupe
    from dedupe import variables as dv

    t0 = time.perf_counter()
    random.seed(seed)          # dedupe samples with random and numpy
    np.random.seed(seed)
    fields = dedupe_fields(bs)
    variables = [getattr(dv, kind)(col, has_missing=True) for col, kind in fields.items()]
    records = _dedupe_records(bs, fields)
    rng = random.Random(seed)
    sample_keys = rng.sample(sorted(records), min(len(records), sample_size, 1500))
    deduper = dedupe.Dedupe(variables, num_cores=2)
    deduper.prepare_training({k: records[k] for k in sample_keys})

    entity = bs.entity
    answered = {"match": 0, "distinct": 0}
    for _ in range(labels):
        pairs = deduper.uncertain_pairs()
        if not pairs:
            break
        a, b = pairs[0]
        verdict = "match" if entity[a[KEY_FIELD]] == entity[b[KEY_FIELD]] else "distinct"
        deduper.mark_pairs({"match": [(a, b)] if verdict == "match" else [],
                            "distinct": [(a, b)] if verdict == "distinct" else []})
        answered[verdict] += 1
    deduper.train()
    deduper.cleanup_training()
    partition = deduper.partition(records, threshold=0.5)
    rows = [(k, i) for i, (ids, _scores) in enumerate(partition) for k in ids]
    clusters = pd.DataFrame(rows, columns=["key", "cluster_id"]).drop_duplicates("key")
    missing = sorted(set(records) - set(clusters["key"]))
    if missing:   # singletons partition left out get their own cluster
        clusters = pd.concat([clusters, pd.DataFrame({"key": missing, "cluster_id": [f"s{k}" for k in missing]})],
                             ignore_index=True)
    clusters["cluster_id"] = clusters["cluster_id"].astype(str)
    m = cluster_metrics(clusters, entity)
    return {"precision": m["precision"], "recall": m["recall"], "f1": m["f1"], "bcubed_f1": m["bcubed_f1"],
            "labels": sum(answered.values()), "label_counts": answered,
            "seconds": round(time.perf_counter() - t0, 1)}


# -- Splink ------------------------------------------------------------------------
# Per data set: comparisons, blocking rules for prediction, deterministic rules (+ their
# assumed recall) for the prior, and EM blocking rules (each leaves the others' columns
# to be estimated). Built lazily: splink is an optional dependency (extra "bench").
def _splink_febrl():
    import splink.comparison_library as cl
    from splink import block_on

    return {
        "comparisons": [
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.LevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number"),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("address_2", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("suburb", [0.9, 0.7]).configure(term_frequency_adjustments=True),
            cl.LevenshteinAtThresholds("postcode", [1]),
            cl.ExactMatch("state").configure(term_frequency_adjustments=True),
        ],
        "blocking": [block_on("given_name", "surname"), block_on("surname", "date_of_birth"),
                     block_on("given_name", "date_of_birth"), block_on("soc_sec_id"),
                     block_on("postcode", "street_number"), block_on("suburb", "address_1")],
        "deterministic": [block_on("given_name", "surname", "date_of_birth"), block_on("soc_sec_id")],
        "recall": 0.7,
        "em": [block_on("date_of_birth"), block_on("given_name", "surname"), block_on("postcode")],
    }


def _splink_restaurants():
    import splink.comparison_library as cl
    from splink import block_on

    return {
        "comparisons": [
            cl.NameComparison("name").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("addr", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("city", [0.9]).configure(term_frequency_adjustments=True),
            cl.LevenshteinAtThresholds("phone", [1, 2]),
            cl.JaroWinklerAtThresholds("type", [0.9]).configure(term_frequency_adjustments=True),
        ],
        "blocking": [block_on("phone"), block_on("name"), block_on("substr(name, 1, 4)", "city"),
                     block_on("substr(addr, 1, 6)")],
        "deterministic": [block_on("phone"), block_on("name", "city")],
        "recall": 0.8,
        # Splink's guidance: EM blocks where matches are 1-99% of pairs (a city block holds 0.2%)
        "em": [block_on("phone"), block_on("name")],
    }


def _splink_patents():
    import splink.comparison_library as cl
    from splink import block_on

    return {
        "comparisons": [
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("last_name").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("city", [0.9]).configure(term_frequency_adjustments=True),
            cl.ExactMatch("state"),
            cl.ExactMatch("country").configure(term_frequency_adjustments=True),
            cl.AbsoluteDateDifferenceAtThresholds("patent_date", input_is_string=True, metrics=["year", "year"],
                                                  thresholds=[2, 6], datetime_format="%Y-%m-%d"),
            cl.ArrayIntersectAtSizes("assignees", [1]),
            cl.ArrayIntersectAtSizes("coinventors", [2, 1]),
        ],
        "blocking": [block_on("last_name", "first_name"), block_on("last_name", "city"),
                     block_on("first_name", "city")],
        "deterministic": [block_on("last_name", "first_name", "city")],
        "recall": 0.6,
        "em": [block_on("last_name"), block_on("city", "country")],
    }


def _splink_sample():
    import splink.comparison_library as cl
    from splink import block_on

    return {
        "comparisons": [
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("last_name").configure(term_frequency_adjustments=True),
            cl.EmailComparison("email"),
            cl.LevenshteinAtThresholds("phone", [1, 2]),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y-%m-%d"),
            cl.JaroWinklerAtThresholds("street", [0.9, 0.7]),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
            cl.LevenshteinAtThresholds("postcode", [1]),
            cl.ExactMatch("state"),
        ],
        "blocking": [block_on("first_name", "last_name"), block_on("email"), block_on("phone"),
                     block_on("last_name", "date_of_birth"), block_on("postcode", "substr(street, 1, 4)")],
        "deterministic": [block_on("email"), block_on("first_name", "last_name", "date_of_birth")],
        "recall": 0.7,
        # a postcode block drove an m value to 0 in EM (Splink refuses it): date of birth instead
        "em": [block_on("last_name"), block_on("email"), block_on("date_of_birth")],
    }


def _splink_business():
    import splink.comparison_library as cl
    from splink import block_on

    return {
        "comparisons": [
            cl.ExactMatch("customer_type"),
            cl.NameComparison("company_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("contact_first").configure(term_frequency_adjustments=True),
            cl.NameComparison("contact_last").configure(term_frequency_adjustments=True),
            cl.EmailComparison("email"),
            cl.LevenshteinAtThresholds("phone", [1, 2]),
            cl.JaroWinklerAtThresholds("address_line", [0.9, 0.7]),
            cl.LevenshteinAtThresholds("postcode", [1]),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("country", [0.9]).configure(term_frequency_adjustments=True),
            cl.LevenshteinAtThresholds("vat_number", [1]),
            cl.ExactMatch("website"),
        ],
        "blocking": [block_on("email"), block_on("phone"), block_on("vat_number"), block_on("website"),
                     block_on("company_name"), block_on("contact_first", "contact_last"),
                     block_on("postcode", "substr(address_line, 1, 4)"),
                     block_on("city", "substr(company_name, 1, 4)")],
        "deterministic": [block_on("email"), block_on("vat_number")],
        "recall": 0.5,
        "em": [block_on("email"), block_on("postcode"), block_on("contact_last")],
    }


def _splink_generic(bs: BenchSet):
    """Settings from column names, for data sets without hand-written ones."""
    import splink.comparison_library as cl
    from splink import block_on

    kinds = {c: _kind(c) for c in bs.columns}
    comps, blocking = [], []
    for col, kind in kinds.items():
        if kind == "name":
            comps.append(cl.NameComparison(col).configure(term_frequency_adjustments=True))
            blocking.append(block_on(col))
        elif kind == "email":
            comps.append(cl.EmailComparison(col))
            blocking.append(block_on(col))
        elif kind in ("phone", "id"):
            comps.append(cl.LevenshteinAtThresholds(col, [1, 2]))
            blocking.append(block_on(col))
        elif kind == "dob":
            comps.append(cl.LevenshteinAtThresholds(col, [1, 2]))
        elif kind == "postcode":
            comps.append(cl.LevenshteinAtThresholds(col, [1]))
        elif kind in ("city", "code"):
            comps.append(cl.ExactMatch(col).configure(term_frequency_adjustments=True))
        elif kind in ("address", "text"):
            comps.append(cl.JaroWinklerAtThresholds(col, [0.9, 0.7]))
    firsts = [c for c, k in kinds.items() if k in ("city", "postcode")]
    em = [block_on(c) for c in firsts[:2]] or blocking[:2]
    return {"comparisons": comps, "blocking": blocking, "deterministic": blocking[:1], "recall": 0.7, "em": em}


SPLINK_SETTINGS: dict[str, Callable[[], dict]] = {
    "febrl1": _splink_febrl, "febrl2": _splink_febrl, "febrl3": _splink_febrl,
    "restaurants": _splink_restaurants, "patents": _splink_patents, "sample": _splink_sample,
    "business": _splink_business,
}


def _splink_frame(bs: BenchSet) -> pd.DataFrame:
    frame = _frame(bs)
    out = pd.DataFrame({bs.key: frame[bs.key].astype(str)})
    for col in bs.columns:
        if col in LIST_COLUMNS:
            out[col] = frame[col].map(lambda v: list(t) if (t := _items(v)) else None)
        elif col.lower() in PHONE_COLUMNS:
            out[col] = frame[col].map(_digits)
        else:
            out[col] = frame[col].map(_clean)
    return out


def run_splink(bs: BenchSet, seed: int = 0) -> dict:
    """Splink, unsupervised on DuckDB: prior from deterministic rules, u by random sampling,
    m by EM over two or more blocking rules, predict, connected components at 0.5."""
    from splink import DuckDBAPI, Linker, SettingsCreator

    t0 = time.perf_counter()
    spec = SPLINK_SETTINGS[bs.name]() if bs.name in SPLINK_SETTINGS else _splink_generic(bs)
    used = {e.raw_sql_expression for c in spec["comparisons"] for e in c.col_expressions.values()}
    if bs.name in SPLINK_SETTINGS and not used <= set(bs.columns):
        print(f"splink: {bs.name} columns changed, settings derived from the column names instead")
        spec = _splink_generic(bs)
    db_api = DuckDBAPI()
    df = db_api.register(_splink_frame(bs), dataset_display_name=bs.name)
    settings = SettingsCreator(
        link_type="dedupe_only", unique_id_column_name=bs.key, comparisons=spec["comparisons"],
        blocking_rules_to_generate_predictions=spec["blocking"], retain_intermediate_calculation_columns=False,
    )
    linker = Linker(df, settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(spec["deterministic"], recall=spec["recall"])
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    trained = 0
    for rule in spec["em"]:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(rule)
            trained += 1
        except ValueError as exc:   # e.g. "m_probability value 0.0 is below the minimum": skip that rule
            sql = rule.get_blocking_rule("duckdb").blocking_rule_sql
            print(f"   splink: EM on {sql} failed, rule skipped ({str(exc).splitlines()[0][:80]})")
    if not trained:
        raise RuntimeError("every EM session failed")
    pred = linker.inference.predict(threshold_match_probability=0.1)
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, threshold_match_probability=0.5)
    frame = clustered.as_pandas_dataframe()
    clusters = pd.DataFrame({"key": frame[bs.key].astype(str), "cluster_id": frame["cluster_id"].astype(str)})
    m = cluster_metrics(clusters, bs.entity)
    return {"precision": m["precision"], "recall": m["recall"], "f1": m["f1"], "bcubed_f1": m["bcubed_f1"], "labels": 0,
            "seconds": round(time.perf_counter() - t0, 1)}
