"""Property tests: invariants of run_checks on arbitrary small customer frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.checks import (
    age_between,
    any_valid,
    consent_consistent,
    consent_present,
    consistent_mapping,
    date_parseable,
    dates_ordered,
    expression,
    in_range,
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

AS_OF = "2025-01-01"
HOSTILE = ["<script>alert(1)</script>", '=HYPERLINK("x")', "", "  ", None]
text = st.one_of(st.none(), st.sampled_from(HOSTILE), st.text(max_size=8))
email = st.one_of(text, st.sampled_from(["a@b.com", "x@y.org", "bad@", "a@@b.com"]))
phone = st.one_of(text, st.sampled_from(["(212) 555-0123", "+44 20 7946 0958", "12345"]))
date = st.one_of(text, st.sampled_from(["2020-01-02", "01/02/2020", "2 Jan 2020", "2030-01-01", "1890-05-05"]))
flag = st.one_of(text, st.sampled_from(["Y", "N", "yes", "no", "1", "0", "maybe"]))
number = st.one_of(st.none(), st.integers(-10, 200), st.sampled_from(["42", "abc", ""]))

COLUMNS = {
    "id": st.one_of(st.none(), st.integers(0, 5)),
    "email": email,
    "phone": phone,
    "postcode": st.one_of(text, st.sampled_from(["02134", "SW1A 1AA", "ABC"])),
    "country": st.one_of(st.none(), st.sampled_from(["US", "GB", "Narnia", "usa"])),
    "age": number,
    "consent": flag,
    "consent_date": date,
    "signup": date,
}
frames = st.lists(st.fixed_dictionaries(COLUMNS), max_size=12).map(
    lambda rows: pd.DataFrame(rows, columns=list(COLUMNS)))

RULES = [
    unique("id"), not_null("id"), valid_email("email"), valid_phone("phone"),
    valid_postcode("postcode", country_column="country"), in_range("age", 0, 120), length("consent", 1, 3),
    in_set("consent", ["Y", "N"]), consent_present("consent", severity="warning"),
    consent_consistent("consent", date_column="consent_date", signup_column="signup"),
    date_parseable("signup"), not_in_future("signup"), age_between("consent_date"),
    matches("postcode", r"^\d"), expression("signup <= today", name="past", severity="critical"),
    any_valid(valid_email("email"), valid_phone("phone"), name="reach", severity="warning"),
    valid_phone("phone", country_column="country", name="phone_by_country"),
    consistent_mapping("postcode", ["country"]), dates_ordered("consent_date", "signup"),
]
fast = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(frames)
def test_checks_are_idempotent(frame):
    a = run_checks(frame, RULES, key="id", as_of=AS_OF)
    b = run_checks(frame, RULES, key="id", as_of=AS_OF)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    pd.testing.assert_frame_equal(a.row_status, b.row_status)
    pd.testing.assert_frame_equal(a.failures, b.failures)


@fast
@given(frames)
def test_counts_add_up_and_failures_are_the_false_rows(frame):
    results = run_checks(frame, RULES, key="id", as_of=AS_OF)
    s, rs, f = results.summary.set_index("name"), results.row_status, results.failures
    for name in s.index:
        tested, failed = s.loc[name, "tested"], s.loc[name, "failed"]
        false_rows = np.flatnonzero((rs[name] == False).to_numpy(dtype=bool, na_value=False))  # noqa: E712
        assert tested + rs[name].isna().sum() == len(frame)
        assert 0 <= failed <= tested
        assert failed == len(false_rows)
        assert 0.0 <= s.loc[name, "pass_rate"] <= 1.0
        assert f.loc[f["rule"] == name, "row"].tolist() == false_rows.tolist()
    assert len(f) == int(s["failed"].sum())


@fast
@given(frames)
def test_split_partitions_the_frame(frame):
    good, bad = run_checks(frame, RULES, as_of=AS_OF).split()
    assert len(good) + len(bad) == len(frame)
    assert set(good.index).isdisjoint(bad.index)
    assert sorted([*good.index, *bad.index]) == list(frame.index)


@fast
@given(frames, st.randoms(use_true_random=False))
def test_row_order_does_not_change_a_row_outcome(frame, rnd):
    order = list(frame.index)
    rnd.shuffle(order)
    a = run_checks(frame, RULES, as_of=AS_OF).row_status
    b = run_checks(frame.loc[order], RULES, as_of=AS_OF).row_status
    pd.testing.assert_frame_equal(a.loc[order], b)
