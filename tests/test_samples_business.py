"""The international/business sample generator: shape, determinism and ground truth."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.samples_business import (
    COUNTRY_CODES,
    RECORD_COLUMNS,
    generate_business_customers,
)


@pytest.fixture(scope="module")
def sample() -> tuple[pd.DataFrame, pd.DataFrame]:
    return generate_business_customers(600, seed=3)


def test_deterministic_for_a_seed():
    a, ta = generate_business_customers(200, seed=11)
    b, tb = generate_business_customers(200, seed=11)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(ta, tb)
    c, _ = generate_business_customers(200, seed=12)
    assert not a.equals(c)


def test_columns_and_unique_string_keys(sample):
    records, truth = sample
    assert list(records.columns) == RECORD_COLUMNS
    assert list(truth.columns) == ["record_id", "entity_id"]
    assert records["record_id"].is_unique
    assert all(isinstance(k, str) for k in records["record_id"])


def test_truth_covers_every_record_and_entity_count(sample):
    records, truth = sample
    assert truth["record_id"].is_unique
    assert set(truth["record_id"]) == set(records["record_id"])
    assert truth["entity_id"].nunique() == 600
    assert 1.4 < len(records) / 600 < 1.9


def test_organisations_and_people(sample):
    records, truth = sample
    assert set(records["customer_type"]) == {"company", "person"}
    m = records.merge(truth, on="record_id").drop_duplicates("entity_id")
    share = (m["customer_type"] == "company").mean()
    assert 0.5 < share < 0.7
    people = records[records["customer_type"] == "person"]
    companies = records[records["customer_type"] == "company"]
    assert people["company_name"].isna().all()
    assert companies["company_name"].notna().all()
    assert people["contact_last"].notna().mean() > 0.9
    assert companies["website"].notna().any() and companies["vat_number"].notna().any()


def test_several_countries_in_mixed_spellings(sample):
    records, _ = sample
    values = records["country"].dropna()
    codes = {COUNTRY_CODES[v.upper()] for v in values}
    assert {"US", "GB", "DE", "FR", "ES", "IT", "NL", "JP", "BR", "IN", "AU", "CA"} <= codes
    assert "DE" in set(values) and "Germany" in set(values)        # ISO codes and names


def test_duplicates_exist(sample):
    _, truth = sample
    sizes = truth["entity_id"].value_counts()
    assert 0.2 < (sizes > 1).mean() < 0.4
    assert sizes.max() <= 5


def test_branches_sharing_name_and_website_are_different_entities(sample):
    records, truth = sample
    co = records.merge(truth, on="record_id")
    co = co[co["customer_type"] == "company"].dropna(subset=["website"])
    co = co.assign(site=co["website"].str.lower()
                   .str.replace(r"^(https?://)?(www\.)?", "", regex=True).str.rstrip("/"))
    per_name = co.groupby(["company_name", "site"]).agg(
        entities=("entity_id", "nunique"), cities=("city", "nunique"))
    shared = per_name[per_name["entities"] > 1]
    assert len(shared) >= 3
    # the truth entity is one site: a company entity's records keep their postcode (up to
    # formatting such as "EC1A 1BB" / "EC1A1BB"), unlike the group's branches
    addr = co.dropna(subset=["postcode"]).groupby("entity_id")["postcode"].nunique()
    assert (addr > 1).mean() < 0.2


def test_look_alike_people_in_different_countries(sample):
    records, truth = sample
    p = records.merge(truth, on="record_id")
    p = p[p["customer_type"] == "person"].dropna(subset=["country"])
    p = p.assign(cc=p["country"].str.upper().map(COUNTRY_CODES))
    per_name = p.groupby(["contact_first", "contact_last"]).agg(
        entities=("entity_id", "nunique"), countries=("cc", "nunique"))
    assert ((per_name["entities"] > 1) & (per_name["countries"] > 1)).any()


def test_no_empty_strings(sample):
    records, truth = sample
    for frame in (records, truth):
        text = frame.map(lambda v: isinstance(v, str) and v.strip() == "")
        assert not text.to_numpy().any()
        assert not frame.map(lambda v: isinstance(v, str) and v != v.strip()).to_numpy().any()


def test_rejects_no_entities():
    with pytest.raises(ValueError):
        generate_business_customers(0)
