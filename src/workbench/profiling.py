"""ydata-profiling, kept behind this one module.

Its maintained successor (fg-data-profiling, same API) may replace it; nothing
else in the package imports it. Defaults follow what was measured here: the
pairwise interaction plots dominate run time, so they are off; large frames
are profiled on a sample, and the report says so.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from typing import Any

import pandas as pd

#: Above this many rows the report profiles a random sample.
SAMPLE_ROWS = 100_000
#: Above this many rows minimal mode is used by default.
MINIMAL_ABOVE = 20_000


def profile_report(frame: pd.DataFrame, *, title: str = "Profile", minimal: bool | None = None,
                   sample_rows: int = SAMPLE_ROWS, seed: int = 0) -> Any:
    """A ydata ``ProfileReport`` (lazily computed) with sane defaults for customer data.

    Display it with ``report.to_notebook_iframe()`` or ``report.to_html()``;
    ``to_widgets()`` is broken upstream.
    """
    if minimal is None:
        minimal = len(frame) > MINIMAL_ABOVE
    note = ""
    if len(frame) > sample_rows:
        frame = frame.sample(sample_rows, random_state=seed)
        note = f" (random sample of {sample_rows:,} rows)"
    ProfileReport = _import_profile_report()
    return ProfileReport(
        frame,
        title=f"{title}{note}",
        minimal=minimal,
        progress_bar=False,
        interactions={"continuous": False, "targets": []},
        correlations={"auto": {"calculate": False}},
        missing_diagrams={"heatmap": False, "dendrogram": False},
        samples={"head": 0, "tail": 0, "random": 0},
        duplicates={"head": 0},
    )


def profile_html(frame: pd.DataFrame, **kwargs: Any) -> str:
    """The report as one standalone HTML page, without progress-bar noise on stderr."""
    report = profile_report(frame, **kwargs)
    with contextlib.redirect_stderr(io.StringIO()):
        return report.to_html()


def _import_profile_report() -> Any:
    os.environ.setdefault("YDATA_PROFILING_NO_ANALYTICS", "True")
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        from ydata_profiling import ProfileReport
    return ProfileReport
