"""The sample generator: reproducible, hard enough for deduplication, never drifting."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.samples import (
    ACQUIRED_COLUMNS,
    CUSTOMER_COLUMNS,
    SampleSet,
    _csv_bytes,
    _readme,
    generate_customers_large,
    generate_samples,
    write_samples,
)

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
EMAIL = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
KINDS = {"", "household", "twin", "junior", "common_name"}


@pytest.fixture(scope="module")
def small() -> SampleSet:
    return generate_samples(n_customers=2000, n_acquired=800, seed=3)


@pytest.fixture(scope="module")
def default() -> SampleSet:
    return generate_samples()


def _frames(s: SampleSet) -> list[pd.DataFrame]:
    return [s.customers, s.acquired, s.customers_truth, s.acquired_truth]


def _valid_phone(text: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(text, "US"))
    except phonenumbers.NumberParseException:
        return False


def test_same_seed_same_frames_and_other_seed_differs():
    a, b = generate_samples(300, 100, seed=11), generate_samples(300, 100, seed=11)
    for x, y in zip(_frames(a), _frames(b), strict=True):
        pd.testing.assert_frame_equal(x, y)
    c = generate_samples(300, 100, seed=12)
    assert not a.customers.equals(c.customers)
    assert not a.acquired.equals(c.acquired)


def test_shape_columns_and_ids(small):
    c, a = small.customers, small.acquired
    assert list(c.columns) == CUSTOMER_COLUMNS and len(c) == 2000
    assert list(a.columns) == ACQUIRED_COLUMNS and len(a) == 800
    assert c["customer_id"].is_unique and a["lead_id"].is_unique
    assert c["customer_id"].str.fullmatch(r"C\d{6}").all()
    assert a["lead_id"].str.fullmatch(r"L\d{5}").all()
    assert set(c["source"]) == {"crm", "ecom", "pos"}
    assert set(a["opt_in"]) <= {"true", "false", ""}


def test_every_value_is_a_string_blank_for_missing(small):
    for frame in _frames(small):
        assert all(frame[col].map(type).eq(str).all() for col in frame.columns)
    assert (small.customers["email"] == "").any() and (small.customers["date_of_birth"] == "").any()


def test_truth_covers_every_row_and_is_kept_apart(small):
    ct, at = small.customers_truth, small.acquired_truth
    assert list(ct.columns) == ["customer_id", "entity_id", "kind", "household_id"]
    assert list(at.columns) == ["lead_id", "entity_id", "household_id"]
    assert ct["customer_id"].tolist() == small.customers["customer_id"].tolist()
    assert at["lead_id"].tolist() == small.acquired["lead_id"].tolist()
    assert set(ct["kind"]) <= KINDS
    assert "entity_id" not in small.customers.columns and "entity_id" not in small.acquired.columns


def test_duplicates_exist_in_a_realistic_share(small):
    ct = small.customers_truth
    sizes = ct["entity_id"].value_counts()
    assert sizes.max() >= 3
    dup_share = 1 - ct["entity_id"].nunique() / len(ct)
    assert 0.18 <= dup_share <= 0.27
    # shuffled: records of one person are rarely next to each other
    same_as_next = (ct["entity_id"] == ct["entity_id"].shift()).mean()
    assert same_as_next < 0.01


def test_lookalikes_are_different_people(small):
    m = small.customers.merge(small.customers_truth, on="customer_id")
    placed = m[(m["street"] != "") & (m["postcode"] != "")]
    shared = placed.groupby(["last_name", "street", "postcode"])["entity_id"].nunique()
    assert (shared > 1).sum() >= 20  # households visible even after variation
    kinds = m.drop_duplicates("entity_id")["kind"].value_counts()
    assert kinds["household"] >= 100 and kinds["twin"] >= 20 and kinds["junior"] >= 20
    twins = m[(m["kind"] == "twin") & (m["date_of_birth"].str.fullmatch(r"\d{4}-\d\d-\d\d"))]
    by_dob = twins.groupby(["last_name", "date_of_birth"])["entity_id"].nunique()
    assert (by_dob > 1).any()
    juniors = m[m["kind"] == "junior"]
    by_name = juniors.groupby(["first_name", "street"])["entity_id"].nunique()
    assert (by_name > 1).any()


def test_households_in_the_truth_are_the_groups_that_share_an_address(small):
    ct, at = small.customers_truth, small.acquired_truth
    both = pd.concat([ct[["entity_id", "household_id"]], at[["entity_id", "household_id"]]])
    assert both.groupby("entity_id")["household_id"].nunique().max() == 1  # one household per person, both files
    people = ct.drop_duplicates("entity_id")
    sizes = people.groupby("household_id")["entity_id"].size()
    kinds = people.groupby("household_id")["kind"].agg(lambda k: "/".join(sorted(set(k))))
    assert set(kinds[sizes > 1]) == {"household", "twin", "junior"}  # twins and Jr/Sr live together
    assert (sizes[kinds == ""] == 1).all() and 2 <= sizes.max() <= 4
    # generated together: one address per household (the first record of each person, before moves)
    m = small.customers.merge(ct, on="customer_id")
    placed = m[(m["street"] != "") & (m["postcode"].str.len() == 5)]
    clean = placed.assign(street=placed["street"].str.lower().str.split().str[:2].str.join(" "))
    per_house = clean.groupby(["street", "postcode"])["household_id"].nunique()
    assert (per_house == 1).mean() > 0.95
    new_leads = at[~at["entity_id"].isin(ct["entity_id"])]
    assert new_leads["household_id"].isin(ct["household_id"]).any()  # new leads joining master households


def test_acquired_overlaps_the_master_within_range(small):
    at, ct = small.acquired_truth, small.customers_truth
    overlap = at["entity_id"].isin(ct["entity_id"]).mean()
    assert 0.35 <= overlap <= 0.45
    assert at["entity_id"].duplicated().any()  # a few leads listed twice
    assert set(small.acquired["list_source"]) >= {"expo-2025", "webinar", "partner-x"}


def test_phones_and_emails_mostly_valid_with_some_defects(small):
    for frame in (small.customers, small.acquired):
        phones = frame["phone"][frame["phone"] != ""]
        valid = phones.map(_valid_phone)
        assert valid.mean() > 0.95 and not valid.all()
        assert phones.str.contains(r"^\(\d{3}\) \d{3}-\d{4}$").any()
        assert phones.str.contains(r"^\+1 \d{3} \d{3} \d{4}$").any()
        emails = frame["email"][frame["email"] != ""]
        ok = emails.str.match(EMAIL)
        assert ok.mean() > 0.95 and not ok.all()


def test_data_quality_defects_for_the_rule_checks(default):
    c = default.customers
    iso = pd.to_datetime(c["date_of_birth"], format="%Y-%m-%d", errors="coerce")
    assert (iso > pd.Timestamp("2026-06-30")).any() or (iso < pd.Timestamp("1906-06-30")).any()
    dated = c[c["consent_date"] != ""]
    assert (dated["consent_date"] < dated["signup_date"]).any()
    assert not set(c["consent_email"]) <= {"Y", "N", ""}
    assert (~c["postcode"].str.fullmatch(r"\d{5}(-\d{4})?") & (c["postcode"] != "")).any()
    assert c["signup_date"].between("2015-01-01", "2026-06-30").all()


def test_committed_samples_match_the_generator(default):
    """Regenerating gives the same bytes, so data/samples can never drift from the code."""
    files = {"customers.csv": default.customers, "acquired.csv": default.acquired,
             "truth/customers_truth.csv": default.customers_truth,
             "truth/acquired_truth.csv": default.acquired_truth}
    for name, frame in files.items():
        assert (SAMPLES / name).read_bytes() == _csv_bytes(frame), f"{name} is stale: make samples"
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    assert readme == _readme(default, "data/samples", 42)


def test_write_samples_writes_readable_csvs(tmp_path):
    paths = write_samples(tmp_path / "out", n_customers=200, n_acquired=80, seed=5)
    assert set(paths) == {"customers", "acquired", "customers_truth", "acquired_truth", "readme"}
    assert all(p.exists() for p in paths.values())
    back = pd.read_csv(paths["customers"], dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(back, generate_samples(200, 80, seed=5).customers)


def test_large_generator_has_same_shape():
    customers, truth = generate_customers_large(20_000)
    assert list(customers.columns) == CUSTOMER_COLUMNS and len(customers) == 20_000
    assert customers["customer_id"].is_unique
    assert truth["customer_id"].tolist() == customers["customer_id"].tolist()
    assert 0.18 <= 1 - truth["entity_id"].nunique() / len(truth) <= 0.27


@settings(max_examples=5, deadline=None)
@given(n=st.integers(1, 120), m=st.integers(1, 60), seed=st.integers(0, 3))
def test_any_size_gives_exact_counts_and_aligned_truth(n, m, seed):
    s = generate_samples(n, m, seed=seed)
    assert len(s.customers) == len(s.customers_truth) == n
    assert len(s.acquired) == len(s.acquired_truth) == m
    assert s.customers["customer_id"].is_unique and s.acquired["lead_id"].is_unique
