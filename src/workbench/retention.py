"""Retention: how long a dataset's records may be kept, and applying that policy.

A policy is stored per dataset (every version of the name, in
``datasets.retention_json``): ``{"days": 365, "action": "delete" | "anonymize",
"by": optional date column}``. A record's age is taken from its ``by`` column
when given (a record whose date is missing or unreadable falls back to the
version's date), else from the version's acquisition date
(``provenance_json["acquired_on"]``), else from when the version was loaded.

``apply_retention(ws)`` is a dry run by default: it lists, per dataset
version, the records past their time. With ``dry_run=False`` it removes them
through the erasure's code path (``workbench.erasure``: the same rewrite of
dataset versions, clusterings, golden records, labels and audit), or, for
``anonymize``, puts ``workbench.anonymize.anonymize_frame``'s rows in their
place in the dataset version and takes the originals out of everything derived
from them (an anonymized record is nobody: it leaves clusters and golden records).
Every application and every policy change is audited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from workbench import access, artifacts, dataset_rows, store
from workbench.errors import WorkbenchError

__all__ = ["ACTIONS", "RetentionPolicy", "RetentionReport", "apply_retention", "retention_policy", "set_retention"]

ACTIONS = ("delete", "anonymize")


@dataclass(frozen=True)
class RetentionPolicy:
    days: int
    action: str = "delete"
    by: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.days, bool) or not isinstance(self.days, int | np.integer) or self.days < 1:
            raise WorkbenchError(f"retention days must be a whole number of days, at least 1; got {self.days!r}")
        if self.action not in ACTIONS:
            raise WorkbenchError(f"unknown retention action {self.action!r}; use one of {', '.join(ACTIONS)}")

    def to_dict(self) -> dict[str, Any]:
        return {"days": int(self.days), "action": self.action, **({"by": self.by} if self.by else {})}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RetentionPolicy:
        return cls(days=d.get("days"), action=d.get("action", "delete"), by=d.get("by"))


@dataclass
class RetentionReport:
    """What a policy application would remove (dry run) or removed, per dataset version."""

    dry_run: bool
    now: datetime
    #: per version: dataset, version, policy, cutoff, records (past their time), keys, oldest
    datasets: list[dict[str, Any]] = field(default_factory=list)
    erasure: Any = None  # the ErasureReport of the rewrite, when applied

    @property
    def records(self) -> int:
        return sum(d["records"] for d in self.datasets)

    def lines(self) -> list[str]:
        verb = "would go" if self.dry_run else "went"
        out = [f"{'dry run: ' if self.dry_run else ''}{self.records} record(s) past their retention {verb} "
               f"(as of {self.now.date().isoformat()})"]
        for d in self.datasets:
            p = d["policy"]
            out.append(f"  {d['dataset']} v{d['version']}: {d['records']} record(s) older than {p['days']} days "
                       f"(by {p.get('by') or d['dated_by']}, before {d['cutoff']}): {p['action']}")
        if self.erasure is not None:
            out.extend(line for line in self.erasure.lines()[1:] if "possibly the same person" not in line)
        return out


def set_retention(ws: Any, dataset_name: str, days: int, action: str = "delete", by: str | None = None
                  ) -> RetentionPolicy:
    """Give every version of ``dataset_name`` this policy (stewards and admins; audited)."""
    policy = RetentionPolicy(days=days, action=action, by=by)
    access.require(ws, "steward", "setting a retention policy")
    ws.require_writable("setting a retention policy")
    ds = ws.dataset(dataset_name)  # raises naming the known datasets
    if by is not None and by not in ds.frame.columns:
        raise WorkbenchError(f"retention 'by' column {by!r} is not in {ds.label}; columns: "
                             f"{', '.join(map(str, ds.frame.columns))}")
    before = retention_policy(ws, dataset_name)
    t = store.datasets_table
    with store.write_transaction(ws.engine) as conn:
        conn.execute(t.update().where(t.c.name == dataset_name).values(retention_json=store.dumps(policy.to_dict())))
        ws.record("retention:set", dataset_name, conn=conn, before=before.to_dict() if before else None,
                  after=policy.to_dict())
    return policy


def retention_policy(ws: Any, dataset_name: str) -> RetentionPolicy | None:
    """The policy of ``dataset_name`` (its newest version that has one), or None."""
    t = store.datasets_table
    with ws.engine.connect() as conn:
        text = conn.execute(sa.select(t.c.retention_json).where(t.c.name == dataset_name,
                                                                t.c.retention_json.is_not(None))
                            .order_by(t.c.version.desc()).limit(1)).scalar()
    return RetentionPolicy.from_dict(json.loads(text)) if text else None


def apply_retention(ws: Any, *, dry_run: bool = True, now: datetime | date | str | None = None,
                    key: str | bytes | None = None, dataset: str | None = None) -> RetentionReport:
    """Apply every dataset's policy (or ``dataset``'s): a dry run unless ``dry_run=False``.

    ``now`` fixes the day ages are counted to (default: today, UTC); ``key`` is
    passed to ``anonymize_frame`` (its secret for pseudonyms).
    """
    from workbench import erasure

    access.require(ws, "steward", "applying retention")
    if not dry_run:
        ws.require_writable("applying retention")
    today = _day(now)
    report = RetentionReport(dry_run=dry_run, now=today)
    targets = []
    t = store.datasets_table
    query = sa.select(t).where(t.c.status == "ready", t.c.retention_json.is_not(None)).order_by(t.c.id)
    if dataset is not None:
        query = query.where(t.c.name == dataset)
    with ws.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    if dataset is not None and not rows:
        ws.dataset(dataset)
        raise WorkbenchError(f"dataset {dataset!r} has no retention policy: set one with set_retention "
                             "(workbench retention set NAME --days N)")
    for row in rows:
        policy = RetentionPolicy.from_dict(json.loads(row["retention_json"]))
        ds = ws.dataset_by_id(row["id"])
        frame = dataset_rows.read_frame(ws.artifact_path(ds, artifacts.DATA))
        if ds.key is None:
            raise WorkbenchError(f"{ds.label} has no key column: retention needs one to follow its records")
        fallback, dated_by = _version_date(row)
        cutoff = today - timedelta(days=policy.days)
        ages = _dates(frame, policy.by, fallback)
        old = (ages < pd.Timestamp(cutoff)).to_numpy()
        target = erasure._Target(ds, frame, old)
        if policy.action == "anonymize" and old.any():
            target.replace = _anonymized(frame[old], ds.schema, key)
        report.datasets.append({"dataset": ds.name, "version": ds.version, "policy": policy.to_dict(),
                                "cutoff": cutoff.date().isoformat(), "records": int(old.sum()),
                                "keys": sorted(map(str, frame.loc[old, ds.key])), "dated_by": dated_by,
                                "oldest": None if not old.any() else ages[old].min().date().isoformat()})
        targets.append(target)
    details = {"as_of": today.date().isoformat(),
               "policies": [{k: d[k] for k in ("dataset", "version", "policy", "cutoff", "records")}
                            for d in report.datasets]}
    if any(t.rows.any() for t in targets):
        report.erasure = erasure._run(ws, targets, action="retention:apply", dry_run=dry_run, details=details)
    elif not dry_run:
        ws.record("retention:apply", ", ".join(sorted({d["dataset"] for d in report.datasets})) or None,
                  **details)
    return report


def _day(now: datetime | date | str | None) -> datetime:
    if now is None:
        return datetime.now(UTC).replace(tzinfo=None)
    try:
        value = pd.Timestamp(now)
    except (ValueError, TypeError) as exc:
        raise WorkbenchError(f"not a date: {now!r} (use YYYY-MM-DD)") from exc
    return (value.tz_convert(None) if value.tzinfo else value).to_pydatetime()


def _version_date(row: Any) -> tuple[pd.Timestamp, str]:
    """The date a version's records count from when they carry none: acquisition, else load."""
    try:
        acquired = json.loads(row["provenance_json"] or "{}").get("acquired_on")
    except ValueError:
        acquired = None
    if acquired:
        try:
            return pd.Timestamp(acquired), "acquisition date"
        except ValueError:
            pass
    created = pd.Timestamp(row["created_at"])
    return (created.tz_convert(None) if created.tzinfo else created), "load date"


def _dates(frame: pd.DataFrame, by: str | None, fallback: pd.Timestamp) -> pd.Series:
    if by is None:
        return pd.Series(fallback, index=frame.index)
    if by not in frame.columns:
        raise WorkbenchError(f"retention 'by' column {by!r} is not in the data; columns: "
                             f"{', '.join(map(str, frame.columns))}")
    values = pd.to_datetime(frame[by], errors="coerce", format="mixed", utc=True).dt.tz_convert(None)
    return values.fillna(fallback)


def _anonymized(rows: pd.DataFrame, schema: Any, key: Any) -> pd.DataFrame:
    try:
        from workbench.anonymize import anonymize_frame
    except ImportError as exc:
        raise WorkbenchError("the anonymize action needs workbench.anonymize, which this installation lacks; "
                             "use action 'delete'") from exc
    out = anonymize_frame(rows.reset_index(drop=True), schema, key=key)
    frame = getattr(out, "frame", out)
    return frame[list(rows.columns)]


# --------------------------------------------------------------------------
# command line
