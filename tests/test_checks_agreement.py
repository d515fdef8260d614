"""One reading of phones, emails and dates: checks and standardization agree on every value."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.checks import date_parseable, run_checks, valid_email, valid_phone
from workbench.standardize import (
    read_phones,
    standardize_date,
    standardize_email,
    standardize_phone,
)

PHONES = ["(212) 555-0101", "+1 212 555 0101", "212.555.0101", "555-0101", "5550101", "+44 20 7946 0958",
          "020 7946 0958", "12", "n/a", "1-800-FLOWERS", "(212) 123-4567", "2125550101 ext 7", "+49 30 901820",
          "0049 30 901820", "+1 (999) 555-0101", 2125550101.0, "", None]
EMAILS = ["Ann@Example.COM", " bob@x.org ", "Jane Doe <Jane@X.com>", "mailto:jane@x.com", "no-at-sign",
          "a@@b.com", "a@b", "+tag@x.com", "john.smith+shop@gmail.com", "<script>alert(1)</script>",
          "user@b\u00fccher.de", "x@y.c0m", "", None]
DATES = ["2020-01-02", "01/02/2020", "13/02/2020", "2 Jan 2020", "March 7th, 1985", "07.03.1985", "19850307",
         "2020-02-30", "junk", "2020/01/02", "2020-01-02T10:00:00+02:00", "01/02/30", "1985037", "", None]


def _check(values: list, rule) -> list[bool | None]:
    frame = pd.DataFrame({"c": pd.Series(values, dtype=object)})
    s = run_checks(frame, [rule]).row_status[rule.name]
    return [None if pd.isna(x) else bool(x) for x in s]


@pytest.mark.parametrize("region", ["US", "GB", "DE"])
def test_phone_check_passes_exactly_where_standardize_reads_a_number(region):
    # not strict: a pass is a possible number (it has an E.164 form) or a local one (it has not)
    got = _check(PHONES, valid_phone("c", region=region, strict=False))
    e164 = standardize_phone(pd.Series(PHONES, dtype=object), region)
    status = read_phones(pd.Series(PHONES, dtype=object), region)["status"]
    for value, passed, std, st_ in zip(PHONES, got, e164, status, strict=True):
        if value is None or value == "":
            assert passed is None and std is None
        else:
            assert passed == (std is not None or st_ == "local"), value


@pytest.mark.parametrize("region", ["US", "GB"])
def test_strict_phone_check_is_the_strict_reading(region):
    got = _check(PHONES, valid_phone("c", region=region))
    status = read_phones(pd.Series(PHONES, dtype=object), region, strict=True)["status"].tolist()
    assert [None if g is None else g for g in got] == [
        None if s is None else s in ("valid", "local") for s in status]


def test_email_check_passes_exactly_where_standardize_reads_an_address():
    got = _check(EMAILS, valid_email("c"))
    std = standardize_email(pd.Series(EMAILS, dtype=object)).tolist()
    assert got == [None if v in (None, "") else s is not None for v, s in zip(EMAILS, std, strict=True)]
    assert got[:4] == [True, True, True, True] and got[4:8] == [False] * 4


def test_date_check_passes_exactly_where_standardize_reads_a_date():
    got = _check(DATES, date_parseable("c"))
    std = standardize_date(pd.Series(DATES, dtype=object)).tolist()
    assert got == [None if v in (None, "") else s is not None for v, s in zip(DATES, std, strict=True)]
    assert got[2] is True and got[7] is False  # day-first fallback read by both; 30 February by neither


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.text(alphabet="0123456789 ()-+.", max_size=16), st.sampled_from(PHONES[:-2])),
                min_size=1, max_size=12))
def test_phone_agreement_property(values):
    got = _check(values, valid_phone("c", strict=False))
    read = read_phones(pd.Series(values, dtype=object), "US")
    for passed, (st_, e164) in zip(got, read.itertuples(index=False), strict=True):
        if passed is not None:
            assert passed == (e164 is not None or st_ == "local")
