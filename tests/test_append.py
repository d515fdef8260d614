"""Appending to a dataset: the new version is the last one's records, replaced or joined by the delta's.

The append is done in Arrow (the last version's records never reach pandas); where the types do not
cast alike it falls back to pandas. Either way the version must hold exactly what the pandas
definition gives: the last version's rows whose key the delta does not hold, in order, then the delta's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench import Workspace, artifacts
from workbench.workspace import _appended_rows


def _expected(base: pd.DataFrame, delta: pd.DataFrame, key: str) -> pd.DataFrame:
    replaced = base[key].astype(str).isin(set(delta[key].astype(str)))
    return pd.concat([base[~replaced], delta[list(base.columns)]], ignore_index=True)


def _people(rng: np.random.Generator, keys: np.ndarray) -> pd.DataFrame:
    n = len(keys)
    return pd.DataFrame({
        "id": keys,
        "name": rng.choice(["Ann", "Bob", "Åsa", "José", "", None], n),
        "city": rng.choice(["Oslo", "Lyon", "Kraków", None], n),
        "score": rng.random(n).round(3),
    })


@pytest.mark.parametrize("text_keys", [True, False])
def test_an_append_holds_the_last_versions_rows_replaced_or_joined_by_the_deltas(tmp_path, text_keys):
    rng = np.random.default_rng(7)
    keys = rng.permutation(np.arange(1000, 1600))
    base = _people(rng, keys.astype(str) if text_keys else keys)
    base.to_parquet(tmp_path / "base.parquet", index=False)
    ws = Workspace(tmp_path / "ws", user="ann")
    ws.load(tmp_path / "base.parquet", key="id", name="people")
    for step in range(4):  # replaced and new keys mixed (new only, last), the delta in its own order, on appends
        n_replaced = 40 if step < 3 else 0
        picked = np.concatenate([rng.choice(keys, n_replaced, replace=False),
                                 np.arange(5000 + 30 * step, 5030 + 30 * step)])
        delta = _people(rng, rng.permutation(picked).astype(str) if text_keys else rng.permutation(picked))
        delta = delta[["city", "id", "score", "name"]]  # columns in another order
        delta.to_parquet(tmp_path / f"delta{step}.parquet", index=False)
        last = ws.dataset("people")
        before = last.frame
        assert _appended_rows(ws.artifact_path(last, artifacts.DATA), "id", delta, delta["id"].astype(str)) \
            is not None  # done in Arrow
        grown = ws.load(tmp_path / f"delta{step}.parquet", name="people", mode="append")
        expected = _expected(before, delta, "id")
        got = ws.dataset("people").frame
        pd.testing.assert_frame_equal(got, expected)
        assert grown.rows_kept == len(expected) and grown.rows_read == grown.rows_kept + grown.rows_rejected
        n_new = int((~delta["id"].astype(str).isin(set(before["id"].astype(str)))).sum())
        assert n_new == 30
        assert any(f"{n_new} new record(s), {n_replaced} replaced by a newer one" in w for w in grown.warnings)
        keys = got["id"].to_numpy()


def test_an_append_whose_types_do_not_cast_is_aligned_as_pandas_aligns_them(tmp_path):
    base = pd.DataFrame({"id": ["a", "b", "c"], "age": [31, 42, 53], "note": [None, None, None]})
    base.to_parquet(tmp_path / "base.parquet", index=False)
    ws = Workspace(tmp_path / "ws", user="ann")
    ws.load(tmp_path / "base.parquet", key="id", name="people")
    # ages with a gap (float with NaN: not an int64) and notes where the last version had none (null type)
    delta = pd.DataFrame({"id": ["b", "d"], "age": [44.0, np.nan], "note": ["moved", "new"]})
    delta.to_parquet(tmp_path / "delta.parquet", index=False)
    last = ws.dataset("people")
    before = last.frame
    assert _appended_rows(ws.artifact_path(last, artifacts.DATA), "id", delta, delta["id"]) is None
    grown = ws.load(tmp_path / "delta.parquet", name="people", mode="append")
    pd.testing.assert_frame_equal(ws.dataset("people").frame, _expected(before, delta, "id"))
    assert any("1 new record(s), 1 replaced by a newer one" in w for w in grown.warnings)


def test_text_keys_appended_to_integer_keys_keep_their_text(tmp_path):
    pd.DataFrame({"id": [7, 8], "name": ["Ann", "Bob"]}).to_parquet(tmp_path / "base.parquet", index=False)
    ws = Workspace(tmp_path / "ws", user="ann")
    ws.load(tmp_path / "base.parquet", key="id", name="people")
    delta = pd.DataFrame({"id": ["07", "8"], "name": ["Cy", "Bo"]})  # "07" is not 7: an int cast would merge them
    delta.to_parquet(tmp_path / "delta.parquet", index=False)
    assert _appended_rows(ws.artifact_path(ws.dataset("people"), artifacts.DATA), "id", delta, delta["id"]) is None
    grown = ws.load(tmp_path / "delta.parquet", name="people", mode="append")
    got = ws.dataset("people").frame
    assert [str(k) for k in got["id"]] == ["7", "07", "8"] and list(got["name"]) == ["Ann", "Cy", "Bo"]
    assert any("1 new record(s), 1 replaced by a newer one" in w for w in grown.warnings)


@pytest.mark.parametrize("ages", [[30, 40], [30.0, np.nan]])  # the same type (Arrow), or not (pandas)
def test_a_record_without_a_key_replaces_none_and_none_replaces_it(tmp_path, ages):
    pd.DataFrame({"id": ["1", None, "3"], "age": [20, 21, 22]}).to_parquet(tmp_path / "base.parquet", index=False)
    ws = Workspace(tmp_path / "ws", user="ann")
    ws.load(tmp_path / "base.parquet", key="id", name="people")
    pd.DataFrame({"id": [None, "3"], "age": ages}).to_parquet(tmp_path / "delta.parquet", index=False)
    grown = ws.load(tmp_path / "delta.parquet", name="people", mode="append")
    got = ws.dataset("people").frame
    assert list(got["id"]) == ["1", None, None, "3"] and got["age"].iloc[1] == 21  # nothing lost
    assert any("1 new record(s), 1 replaced by a newer one" in w for w in grown.warnings)
