"""Scorecard math on tiny frames with known answers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from workbench.assess.scorecard import (
    band,
    build_scorecard,
    dimension_table,
    fitness_percent,
    health_score,
)
from workbench.checks import in_set, not_null, run_checks, unique, valid_email


def test_dimension_score_is_weighted_by_rows_tested():
    checks = [
        {"name": "a", "dimension": "completeness", "tested": 100, "failed": 10},  # 90%
        {"name": "b", "dimension": "completeness", "tested": 10, "failed": 10},   # 0%, but only 10 rows
        {"name": "c", "dimension": "validity", "tested": 50, "failed": 5},
        {"name": "d", "dimension": "uniqueness", "tested": 0, "failed": 0},      # nothing tested
    ]
    card = build_scorecard(checks)
    assert card.scores["completeness"] == pytest.approx(100 * 90 / 110, abs=0.01)  # not (90 + 0) / 2
    assert card.scores["validity"] == 90.0
    assert "uniqueness" not in card.scores and card.untested == ["uniqueness"]
    assert card.health == pytest.approx((100 * 90 / 110 + 90.0) / 2, abs=0.01)


def test_health_is_mean_of_dimension_scores_and_zero_without_evidence():
    assert health_score({"completeness": 100.0, "validity": 50.0}) == 75.0
    assert health_score({}) == 0.0


def test_dimension_table_orders_dimensions_and_counts_rules():
    table = dimension_table([
        {"dimension": "validity", "tested": 4, "failed": 1},
        {"dimension": "completeness", "tested": 4, "failed": 0},
        {"dimension": "validity", "tested": 4, "failed": 3},
    ])
    assert table["dimension"].tolist() == ["completeness", "validity"]
    assert table.set_index("dimension").loc["validity", ["rules", "tested", "failed", "score"]].tolist() == [2, 8, 4, 50.0]


def test_fitness_percent_and_empty_frame_fit_for_nothing():
    fit = pd.DataFrame({"mail": [True, True, False, False], "post": [True, True, True, False]})
    assert fitness_percent(fit) == {"mail": 50.0, "post": 75.0}
    assert fitness_percent(pd.DataFrame({"mail": pd.Series([], dtype=bool)})) == {"mail": 0.0}


def test_bands():
    assert [band(x) for x in (100, 95, 94.9, 80, 10, None, math.nan)] == ["good", "good", "fair", "fair", "poor",
                                                                         "none", "none"]


def test_scorecard_from_run_checks_known_answer():
    frame = pd.DataFrame({
        "id": ["1", "2", "3", "3"],
        "email": ["a@example.com", "not-an-email", None, "b@example.com"],
        "flag": ["Y", "N", "maybe", "Y"],
    })
    rules = [unique("id"), not_null("email"), valid_email("email"), in_set("flag", ["Y", "N"])]
    results = run_checks(frame, rules, key="id", purposes={"mail": ["valid_email:email", "in_set:flag"]})
    card = build_scorecard(results.summary, results.fit_rows(), rows=len(frame))
    # uniqueness: both rows holding "3" fail -> 2 of 4 pass
    assert card.scores["uniqueness"] == 50.0
    # completeness: 3 of 4 emails present
    assert card.scores["completeness"] == 75.0
    # validity: valid_email tested 3 (missing not tested), 1 fails; in_set tested 4, 1 fails -> 5 of 7
    assert card.scores["validity"] == pytest.approx(100 * 5 / 7, abs=0.01)
    # mail: rows 1 and 4 pass both (row 3's email is missing: not tested is not fit)
    assert card.fitness == {"mail": 50.0} and card.fit_rows == {"mail": 2}
    assert card.to_dict()["dimensions"][0]["dimension"] == "completeness"


def test_all_null_column_and_empty_and_one_row_frames_give_valid_scorecards():
    rules = [not_null("email"), valid_email("email")]
    purposes = {"mail": ["valid_email:email"]}
    cases = {
        "all null": pd.DataFrame({"email": [None, None, None]}, dtype=object),
        "empty": pd.DataFrame({"email": pd.Series([], dtype=object)}),
        "one row": pd.DataFrame({"email": ["a@example.com"]}),
    }
    cards = {}
    for name, frame in cases.items():
        results = run_checks(frame, rules, purposes=purposes)
        card = build_scorecard(results.summary, results.fit_rows(), rows=len(frame))
        assert 0.0 <= card.health <= 100.0, name
        assert all(0.0 <= v <= 100.0 for v in card.scores.values()), name
        assert set(card.fitness) == {"mail"}, name
        cards[name] = card
    assert cards["all null"].scores == {"completeness": 0.0} and cards["all null"].untested == ["validity"]
    assert cards["all null"].fitness == {"mail": 0.0}
    assert cards["empty"].scores == {} and cards["empty"].health == 0.0 and cards["empty"].fitness == {"mail": 0.0}
    assert cards["one row"].health == 100.0 and cards["one row"].fitness == {"mail": 100.0}
