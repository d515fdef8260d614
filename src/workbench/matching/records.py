"""A dataset's records keyed by their record key, as matching reads them."""

from __future__ import annotations

from typing import Any

import pandas as pd

from workbench.errors import WorkbenchError


def keyed_records(ds) -> pd.DataFrame:
    """The dataset's kept rows indexed by their key (as text); unique keys required."""
    frame = ds.frame
    if ds.key is None:
        raise WorkbenchError(f"{ds.label} has no key column: load it with key=... so labels can name records")
    keys = frame[ds.key].astype(str)
    if keys.duplicated().any():
        dup = keys[keys.duplicated()].iloc[0]
        raise WorkbenchError(f"{ds.label}: key {ds.key!r} repeats (e.g. {dup!r}); matching needs unique keys")
    out = frame.copy()
    out.index = keys.to_numpy()
    out.index.name = "__key__"
    return out


def record_hashes(raw: pd.DataFrame) -> pd.Series:
    """A content hash per record of a keyed frame: any change to any of a record's values changes it."""
    return pd.Series(pd.util.hash_pandas_object(raw.astype("string"), index=False).to_numpy(),
                     index=raw.index.astype(str))


def record_by_key(raw: pd.DataFrame, key: str) -> dict[str, Any]:
    """One record of a keyed frame as a dict, missing values as None."""
    if key not in raw.index:
        raise WorkbenchError(f"record {key!r} is not in the data")
    return clean(raw.loc[key].to_dict())


def clean(d: dict[str, Any]) -> dict[str, Any]:
    """Missing values (NaN, NA, NaT) as None."""
    return {k: (None if _isna(v) else v) for k, v in d.items()}


def _isna(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False
