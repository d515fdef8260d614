"""Run an assessment: rule checks + scorecard, stored as a workspace run.

``assess`` is the one entry point the notebook, the CLI and ``prepare`` share.
The stored result is small JSON (counts, scores, fitness, a few masked
examples per rule), so dashboards read it in milliseconds; every failure
goes to a Parquet file next to the dataset, where DuckDB or pandas can
read it without the store growing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from workbench.assess.runs import KIND, history
from workbench.assess.scorecard import Scorecard, build_scorecard, dimension_table
from workbench.checks import (
    BUILTIN_PURPOSES,
    CheckResults,
    Rule,
    RuleSet,
    builtin_purposes,
    default_rules,
    load_rules,
    run_checks,
)
from workbench.checks.defaults import MIN_CONFIDENCE, STALE_YEARS, unassessable_purposes
from workbench.checks.library import FALLBACK_REGION, checked_region
from workbench.errors import WorkbenchError
from workbench.export import write_csv
from workbench.masking import mask_frame, mask_series
from workbench.provenance import assessment_limits
from workbench.store import json_value
from workbench.workspace import Dataset, Workspace

__all__ = ["Assessment", "assess", "from_run", "history"]

#: Masked example failures stored per rule: enough to recognise the problem, little PII exposure.
EXAMPLES = 5
RESULT_VERSION = 1


@dataclass
class Assessment:
    """One stored assessment: its JSON ``result`` plus, when just run, the in-memory check results."""

    workspace: Workspace = field(repr=False)
    dataset: Dataset
    run_id: int
    result: dict[str, Any] = field(repr=False)
    results: CheckResults | None = field(default=None, repr=False)

    @property
    def health(self) -> float:
        return float(self.result["health"])

    @property
    def scores(self) -> dict[str, float]:
        return dict(self.result["scores"])

    @property
    def fitness(self) -> dict[str, float]:
        return dict(self.result["fitness"])

    @property
    def critical_failed(self) -> bool:
        return bool(self.result["critical_failed"])

    @property
    def scorecard(self) -> Scorecard:
        return Scorecard(scores=self.scores, health=self.health, fitness=self.fitness,
                         fit_rows=dict(self.result.get("fit_rows", {})), rows=int(self.result["rows"]),
                         dimensions=dimension_table(self.result["checks"]))

    @property
    def checks(self) -> pd.DataFrame:
        """One row per rule: counts, pass rate, passed (examples left out), most failures first."""
        df = pd.DataFrame([{k: v for k, v in c.items() if k != "examples"} for c in self.result["checks"]])
        return df.sort_values("failed", ascending=False, kind="stable").reset_index(drop=True) if len(df) else df

    @property
    def failures_path(self) -> Path:
        return self.workspace.path / self.result["failures_path"]

    @property
    def failures(self) -> pd.DataFrame:
        """Every failure (rule, key, column, raw value, row position), read from the run's Parquet file."""
        return pd.read_parquet(self.failures_path)

    def examples(self, rule: str) -> pd.DataFrame:
        """The stored masked example failures of ``rule`` (key, value)."""
        for c in self.result["checks"]:
            if c["name"] == rule:
                return pd.DataFrame(c.get("examples", []), columns=["key", "value"])
        raise WorkbenchError(f"no rule named {rule!r} in run {self.run_id}; "
                             f"rules: {', '.join(c['name'] for c in self.result['checks'])}")

    def failing_rows(self, rule: str | None = None, *, masked: bool = True) -> pd.DataFrame:
        """Full rows of the dataset that fail ``rule`` (or any rule), PII masked unless ``masked=False``."""
        if self.results is not None:
            rows = self.results.failing_rows(rule)
        else:
            f = self.failures
            if rule is not None:
                f = f[f["rule"] == rule]
            rows = self.dataset.frame.iloc[np.unique(f["row"].to_numpy())]
        return mask_frame(rows, self.dataset.schema, enabled=masked)

    def export_failures(self, path: str | Path, *, masked: bool = False) -> Path:
        """Every failure as CSV, safe against formula injection (``masked`` masks PII values)."""
        f = self.failures
        if masked:
            f = _mask_failures(f, self.dataset)
        path = write_csv(f, path)
        self.workspace.record("export", str(path), what="failures", dataset=self.dataset.label, rows=len(f), masked=masked)
        return path

    def to_json(self, path: str | Path | None = None) -> str:
        """The stored result as JSON text (written to ``path`` when given)."""
        text = json.dumps(self.result, indent=2, default=str)
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text


def assess(
    ws: Workspace,
    dataset: Dataset | str,
    rules: RuleSet | Iterable[Rule] | str | Path | None = None,
    purposes: Sequence[str] | Mapping[str, list[str]] | None = None,
    *,
    as_of: pd.Timestamp | str | None = None,
    examples: int = EXAMPLES,
    default_region: str | None = None,
    stale_years: float = STALE_YEARS,
    min_confidence: float = MIN_CONFIDENCE,
) -> Assessment:
    """Check ``dataset`` against ``rules`` (zero-config defaults when None), score it and store the run.

    ``rules``: a ``RuleSet``, a list of rules, or a rules YAML path. ``purposes``:
    None for the rule set's (or the built-in ones its rules support), a list of
    purpose names to keep, or ``{purpose: [rule names or checks]}``.
    ``referential(source="dataset.column")`` rules read that dataset from ``ws``.

    ``default_region`` (ISO code) reads phone numbers without +country code
    where no country column says otherwise (default: the rules file's
    ``default_region:``, else the most common country, else US). Zero-config
    rules trust roles of at least ``min_confidence`` (names and overrides
    always) and call records stale after ``stale_years`` without update.
    Built-in purposes the data lacks fields for are stored under
    ``not_assessable`` with the reason, never as 0% fit.
    """
    ds = ws.dataset(dataset) if isinstance(dataset, str) else dataset
    if default_region is not None:
        default_region = checked_region(default_region)
    ruleset, source = _resolve_rules(rules, ds, default_region=default_region, stale_years=stale_years,
                                     min_confidence=min_confidence)
    chosen = _choose_purposes(ruleset, ds, purposes, min_confidence)
    frame = ds.frame
    warnings = list(ruleset.validate_against(frame)) if source != "defaults" else []
    with ws.run(KIND, ds, rules=source, purposes=sorted(chosen)) as run:
        started = time.perf_counter()
        results = run_checks(frame, ruleset, key=ds.key, as_of=as_of, references=_references(ws),
                             purposes=chosen, default_region=default_region)
        fit, limits = assessment_limits(ds, frame, results.fit_rows(chosen))  # what the provenance permits
        card = build_scorecard(results.summary, fit, rows=len(frame))
        failures_rel = _write_failures(ws, ds, run.id, results.failures)
        result = _result(ds, ruleset, results, card, chosen, examples)
        builtin = (source == "defaults" or not ruleset.purposes) and not isinstance(purposes, Mapping)
        result["purpose_descriptions"] = {p: BUILTIN_PURPOSES[p] for p in chosen if builtin and p in BUILTIN_PURPOSES}
        result["not_assessable"] = (unassessable_purposes(ds.schema, builtin_purposes(
            ds.schema, ruleset.rules, min_confidence=min_confidence), min_confidence=min_confidence)
            if builtin and purposes is None else {})
        result["provenance"] = {**ds.provenance.to_dict(), "statement": ds.provenance.describe(),
                                "limits": limits}
        result["default_region"] = (default_region or ruleset.default_region or FALLBACK_REGION).upper()
        result.update(rules=source, failures_path=failures_rel, warnings=warnings,
                      seconds=round(time.perf_counter() - started, 3))
        run.result = result
    return Assessment(ws, ds, run.id, result, results)


def from_run(ws: Workspace, run_id: int | None = None, *, dataset: str | None = None) -> Assessment:
    """A stored assessment: by run id, or the newest one of ``dataset``."""
    runs = ws.runs(KIND)
    runs = runs[runs["status"] == "done"]
    if run_id is not None:
        runs = runs[runs["id"] == run_id]
    elif dataset is not None:
        runs = runs[[isinstance(r, dict) and r.get("dataset") == dataset for r in runs["result"]]]
    if runs.empty:
        what = f"run {run_id}" if run_id is not None else f"assessment of {dataset!r}" if dataset else "assessment"
        raise WorkbenchError(f"no finished {what} in {ws.path}")
    row = runs.iloc[0]
    return Assessment(ws, ws.dataset_by_id(int(row["dataset_id"])), int(row["id"]), row["result"])


# --------------------------------------------------------------------------


def _resolve_rules(rules: Any, ds: Dataset, **defaults: Any) -> tuple[RuleSet, str]:
    if rules is None:
        return default_rules(ds.schema, ds.frame, **defaults), "defaults"
    if isinstance(rules, RuleSet):
        return rules, "python"
    if isinstance(rules, str | Path):
        return load_rules(rules, columns=[str(c) for c in ds.frame.columns]), str(rules)
    return RuleSet(list(rules)), "python"


def _choose_purposes(ruleset: RuleSet, ds: Dataset, purposes: Any, min_confidence: float) -> dict[str, list[str]]:
    available = dict(ruleset.purposes) or builtin_purposes(ds.schema, ruleset.rules, min_confidence=min_confidence)
    if purposes is None:
        return available
    if isinstance(purposes, Mapping):
        chosen = {str(p): list(m) for p, m in purposes.items()}
        RuleSet(ruleset.rules, chosen)  # raises ConfigError naming an unknown member
        return chosen
    unknown = [p for p in purposes if p not in available]
    if unknown:
        why = ""
        if unknown[0] in BUILTIN_PURPOSES:
            reason = unassessable_purposes(ds.schema, available, min_confidence=min_confidence).get(unknown[0])
            why = f" (not assessable: {reason or 'its rules are missing'}; it asks for {BUILTIN_PURPOSES[unknown[0]]})"
        raise WorkbenchError(f"unknown purpose {unknown[0]!r}{why}; purposes available for {ds.label}: "
                             f"{', '.join(available) or 'none'}")
    return {p: available[p] for p in purposes}


def _references(ws: Workspace):
    """Resolve ``referential(source="dataset.column")`` against the workspace's latest versions."""
    def resolve(source: str) -> pd.Series:
        name, _, column = source.rpartition(".")
        if not name:
            raise WorkbenchError(f"referential source {source!r} must read 'dataset.column'")
        frame = ws.dataset(name).frame
        if column not in frame.columns:
            raise WorkbenchError(f"referential source {source!r}: dataset {name!r} has no column {column!r}; "
                                 f"columns: {', '.join(map(str, frame.columns))}")
        return frame[column]
    return resolve


def _write_failures(ws: Workspace, ds: Dataset, run_id: int, failures: pd.DataFrame) -> str:
    path = ws.artifact_path(ds, f"assess/run-{run_id}-failures.parquet")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        table = pa.Table.from_pandas(failures, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # keys of mixed types (Excel): store as text
        failures = failures.assign(key=failures["key"].map(lambda k: None if k is None else str(k)))
        table = pa.Table.from_pandas(failures, preserve_index=False)
    pq.write_table(table, path)
    return path.relative_to(ws.path).as_posix()


def _result(ds: Dataset, ruleset: RuleSet, results: CheckResults, card: Scorecard,
            purposes: Mapping[str, list[str]], examples: int) -> dict[str, Any]:
    base = results.to_dict()
    found = _examples(results, ds, examples)
    rows = max(len(results.frame), 1)
    checks = []
    for c, rule in zip(base["checks"], results.rules, strict=True):
        checks.append({**c, "failed_pct": round(100.0 * c["failed"] / max(c["tested"], 1), 2),
                       "description": rule.kind.description, "tested_pct": round(100.0 * c["tested"] / rows, 2),
                       "examples": found.get(rule.name, [])})
    members = {p: [r.name for r in ruleset.purpose_rules(p)] if p in ruleset.purposes
               else list(m) for p, m in purposes.items()}
    return {
        "result_version": RESULT_VERSION,
        "dataset": ds.name, "version": ds.version, "dataset_id": ds.id, "label": ds.label,
        "source": ds.source, "key": ds.key,
        "rows": int(ds.rows_kept), "rows_read": int(ds.rows_read), "rejected": int(ds.rows_rejected),
        "as_of": base["as_of"],
        "checks": checks,
        **card.to_dict(),
        "purposes": members,
        "failing_rows": base["failing_rows"],
        "failures": int(sum(c["failed"] for c in checks)),
        "critical_failed": bool(base["critical_failed"]),
        "critical_rules_failed": [c["name"] for c in checks if c["severity"] == "critical" and not c["passed"]],
    }


def _examples(results: CheckResults, ds: Dataset, n: int) -> dict[str, list[dict[str, Any]]]:
    """Up to ``n`` failing rows per rule: the record key and the offending value(s), masked per role."""
    out: dict[str, list[dict[str, Any]]] = {}
    if n <= 0:
        return out
    frame = results.frame
    keys = _masked_keys(frame, ds)
    for i, rule in enumerate(results.rules):
        pos = np.flatnonzero(results.status[i] == 0)[:n]
        if not len(pos):
            continue
        cols = rule.columns
        masked = mask_frame(frame.iloc[pos][cols], ds.schema)
        labelled = len(cols) > 1 or rule.column is None
        items = []
        for j, p in enumerate(pos):
            vals = [masked.iloc[j][c] for c in cols]
            value: str | None
            if labelled:
                value = "; ".join(f"{c}={'' if _missing(v) else v}" for c, v in zip(cols, vals, strict=True))
            else:
                value = None if _missing(vals[0]) else str(vals[0])
            items.append({"key": json_value(keys[p]), "value": value})
        out[rule.name] = items
    return out


def _masked_keys(frame: pd.DataFrame, ds: Dataset) -> np.ndarray:
    if ds.key is None or ds.key not in frame.columns:
        return frame.index.to_numpy()
    field = ds.schema[ds.key] if ds.key in ds.schema.names else None
    return mask_series(frame[ds.key], field).to_numpy()


def _mask_failures(f: pd.DataFrame, ds: Dataset) -> pd.DataFrame:
    """Mask failure values by the role of their column (multi-column values: fully hidden)."""
    f = f.copy()
    known = set(ds.schema.names)
    for column, idx in f.groupby("column").groups.items():
        if column in known:
            f.loc[idx, "value"] = mask_series(f.loc[idx, "value"], ds.schema[column]).to_numpy()
        else:
            f.loc[idx, "value"] = "***"
    return f


def _missing(v: Any) -> bool:
    return v is None or (not isinstance(v, str) and pd.isna(v))
