import json

import pandas as pd

from workbench.summary import summarize, summary_frame, value_pattern


def test_patterns_collapse_letter_runs():
    assert value_pattern(pd.Series(["02134", "Ann", "Annabel", "ab-12"])).tolist() == ["99999", "Aa+", "Aa+", "a+-99"]


def test_summary_figures_are_right_and_small():
    frame = pd.DataFrame({
        "zip": ["02134", "02134", "1000", None, " "],
        "n": [1, 2, 3, 4, None],
    })
    s = summarize(frame)
    z = s["columns"][0]
    assert z["missing"] == 2 and z["distinct"] == 2 and z["top_values"][0] == ["02134", 2]
    assert z["patterns"][0] == ["99999", 2]
    n = s["columns"][1]
    assert n["kind"] == "numeric" and (n["min"], n["max"]) == (1.0, 4.0)
    assert len(json.dumps(s)) < 5_000
    assert list(summary_frame(s)["column"]) == ["zip", "n"]


def test_empty_and_all_null_frames():
    s = summarize(pd.DataFrame({"a": pd.Series([], dtype=object)}))
    assert s["rows"] == 0 and s["columns"][0]["missing_pct"] == 0.0
    s = summarize(pd.DataFrame({"a": [None, None]}))
    assert s["columns"][0]["missing_pct"] == 100.0 and s["columns"][0]["distinct"] == 0
