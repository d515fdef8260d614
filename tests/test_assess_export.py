"""CSV exports neutralize formula injection (used by the assessment and, later, golden records)."""

from __future__ import annotations

import pandas as pd

from workbench.export import neutralize_cell, neutralize_frame, write_csv


def test_neutralize_cell():
    for value in ["=1+1", "+x1", "-x", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x")']:
        assert neutralize_cell(value) == "'" + value
    for value in ["plain", "a=b", "", None, 5, -3.5, "+1", "-2"]:  # number-like text is left as it is
        assert neutralize_cell(value) == value


def test_neutralize_frame_leaves_numbers_and_other_cells():
    frame = pd.DataFrame({"text": ["=cmd", "ok", None, "-x"], "n": [-1, 2, 3, 4], "=evil": ["a", "b", "c", "d"]})
    out = neutralize_frame(frame)
    assert out["text"].tolist() == ["'=cmd", "ok", None, "'-x"]
    assert out["n"].tolist() == [-1, 2, 3, 4]
    assert list(out.columns) == ["text", "n", "'=evil"]
    assert frame["text"].iloc[0] == "=cmd"  # input untouched


def test_write_csv_round_trip(tmp_path):
    frame = pd.DataFrame({"value": ['=HYPERLINK("http://x")', "<script>alert(1)</script>", "@x"]})
    path = write_csv(frame, tmp_path / "sub" / "out.csv")
    back = pd.read_csv(path, dtype=str)
    assert back["value"].tolist() == ['\'=HYPERLINK("http://x")', "<script>alert(1)</script>", "'@x"]
