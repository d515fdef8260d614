"""The right to erasure: remove a customer from everything the workspace holds.

``forget(ws, key)`` finds the record ``key`` in every dataset version whose
key column holds it (or in ``dataset``'s versions only) and removes it from:

* the dataset versions (``data.parquet``, only the parts holding it; rejected lines whose raw text
  holds the key or one of the record's distinctive values; key problems), with the
  row accounting kept whole (read = kept + rejected);
* assessment failures (row positions moved to the rewritten data) and the
  stored run results (summaries recomputed; examples naming it dropped);
* clusterings (the record leaves its cluster; a cluster named after it takes
  its smallest remaining key, as clusters are named), their scored edges,
  links of acquired lists (an acquired record linked to it becomes "new"), and
  cached dashboard figures. Block keys, candidate pairs and scores of a run
  are by record position and hold fragments of values (``sk``): they are a
  run's scratch, read by nothing after the run, so they are deleted (edges are
  written from scores first for runs older than ``edges.parquet``);
* golden records: the golden record of its cluster is rebuilt from the
  remaining members with the run's own survivorship rules (its id moves to the
  smallest remaining key when it was named after the record), so no surviving
  value comes from the erased record; with no member left, or rules that only
  Python can rebuild, the golden record is dropped and the report says so;
* the store: labels that involve it (dropped: a label is a snapshot of both
  records; models retrain from the labels left, and no trained model is kept
  in the workspace as data), stewards' resolutions and leases of those pairs,
  the key in review decisions and annotations, and the audit log
  (``workbench.audit.redact``: the entries are redacted and the chain is
  re-chained, the erasure's own entry lists them and the previous head hash).

Distinctive values are the record's personal values (schema PII flags) of at
least five characters that no remaining record of that version shares: a
value other records hold (a common first name, a shared household address)
does not identify the person and stays with them.

Exports written outside the workspace cannot be reached: the report lists
every export and report audited since the record arrived, whether each still
holds the key (``True``), does not (``False``) or cannot be checked (``None``:
moved, deleted, or a database table). The erasure's audit entry keeps an HMAC
of the key (a secret kept in the store), counts and what was touched, never
the key or values; :func:`forgotten` tells a steward whether a key was erased.

SQLite keeps deleted rows in free pages and in the WAL: the store is vacuumed
and its WAL truncated afterwards. An interrupted erasure is finished by
running it again (the data files are rewritten last).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from workbench import access, artifacts, audit, dataset_rows, store
from workbench.errors import WorkbenchError
from workbench.matching.stable_ids import SUFFIX
from workbench.review import cluster_sizes
from workbench.schema import Role

__all__ = ["ERASED", "ErasureReport", "forget", "forgotten", "key_digest"]

#: What a redacted value reads as.
ERASED = "[erased]"
#: Personal values shorter than this are not searched for elsewhere (too common to identify anyone).
MIN_VALUE_LENGTH = 5
_SECRET_KEY = "erasure_secret"
#: A run's scratch files, by record position: deleted, not rewritten (standardized records included).
_SCRATCH = ("keys_left", "keys_right", "probe", artifacts.PAIRS, artifacts.SCORES, artifacts.PREPARED,
            artifacts.SPARK_RECORDS, artifacts.RECORD_FILES)
_CACHES = ("dashboard-summary.json",)
_BASE_FILES = (artifacts.DATA, artifacts.REJECTS, artifacts.KEY_PROBLEMS)


@dataclass
class ErasureReport:
    """What an erasure removed (or, in a dry run, would remove). Holds the key: it is the caller's, never stored."""

    key_hash: str | None
    dry_run: bool
    #: per dataset version: dataset, version, rows, rejects, key_problems
    datasets: list[dict[str, Any]] = field(default_factory=list)
    #: per run: run, kind, what changed
    runs: list[dict[str, Any]] = field(default_factory=list)
    #: per golden record: run, golden_id, action (rebuilt | dropped), new_id
    golden: list[dict[str, Any]] = field(default_factory=list)
    store: dict[str, int] = field(default_factory=dict)
    audit_redacted: list[int] = field(default_factory=list)
    #: exports and reports audited since the record arrived: path, at, user, action, holds (True/False/None)
    exports: list[dict[str, Any]] = field(default_factory=list)
    #: records the workbench believes are the same person (cluster co-members, links): not erased
    related: list[dict[str, Any]] = field(default_factory=list)
    #: workspace files whose bytes still hold the key afterwards (should be none)
    leftovers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    audit_entry: int | None = None

    @property
    def found(self) -> bool:
        return any(d["rows"] for d in self.datasets)

    @property
    def rows(self) -> int:
        return sum(d["rows"] for d in self.datasets)

    def lines(self) -> list[str]:
        """The report as lines of text (the CLI prints these)."""
        verb = "would remove" if self.dry_run else "removed"
        out = [f"{'dry run: ' if self.dry_run else ''}{verb} {self.rows} record(s)"
               + (f" (key hmac {self.key_hash[:16]})" if self.key_hash else "")]
        for d in self.datasets:
            out.append(f"  {d['dataset']} v{d['version']}: {d['rows']} row(s), {d['rejects']} rejected line(s), "
                       f"{d['key_problems']} key problem(s)")
        for r in self.runs:
            out.append(f"  run {r['run']} ({r['kind']}): {', '.join(r['changes'])}")
        for g in self.golden:
            new = f" -> {g['new_id']}" if g.get("new_id") not in (None, g["golden_id"]) else ""
            out.append(f"  golden run {g['run']}: golden record {g['golden_id']}{new} {g['action']}")
        if any(self.store.values()):
            out.append("  store: " + ", ".join(f"{k} {v}" for k, v in self.store.items() if v))
        if self.audit_redacted:
            out.append(f"  audit entries redacted: {len(self.audit_redacted)} (the chain was re-chained)")
        held = [e for e in self.exports if e["holds"] is not False]
        out.append(f"  exports that held the customer: {len(held)}" + ("" if held else " (none found)"))
        for e in held:
            state = "holds it" if e["holds"] else "cannot be checked (moved, deleted or a database)"
            out.append(f"    {e['path']} ({e['action']} by {e['user']} at {str(e['at'])[:19]}): {state}; "
                       "erase it there")
        for r in self.related:
            out.append(f"  possibly the same person, not erased: {r['dataset']} {r['key']} ({r['via']})")
        for path in self.leftovers:
            out.append(f"  WARNING: {path} still holds the key")
        out.extend(f"  note: {n}" for n in self.notes)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


# --------------------------------------------------------------------------
# public API


def forget(ws: Any, key: str | Sequence[str], *, dataset: str | None = None, dry_run: bool = False
           ) -> ErasureReport:
    """Erase the record(s) ``key`` from every dataset version (or ``dataset``'s) and all that derives from it.

    Stewards and admins only. ``dry_run`` reports what would go and writes nothing.
    Raises ``WorkbenchError`` when no dataset holds the key.
    """
    keys = _keys(key)
    access.require(ws, "steward", "erasing a customer")
    if not dry_run:
        ws.require_writable("erasing a customer")
    targets = _find(ws, keys, dataset)
    if not any(t.touched for t in targets):
        where = f"dataset {dataset!r}" if dataset else "any dataset of this workspace"
        raise WorkbenchError(f"no record with key {_show(keys)} in {where}")
    return _run(ws, targets, action="erase", dry_run=dry_run, digest_of=keys)


def key_digest(ws: Any, key: str, *, create: bool = False) -> str | None:
    """HMAC-SHA256 of ``key`` with the workspace's erasure secret (None when it has none and ``create`` is off).

    The audit keeps this instead of the key: a steward asked "did you erase X?"
    can answer (:func:`forgotten`), a reader of the log alone cannot list who was erased.
    """
    secret = _secret(ws, create=create)
    return None if secret is None else hmac.new(secret, str(key).encode("utf-8"), hashlib.sha256).hexdigest()


def forgotten(ws: Any, key: str) -> list[dict[str, Any]]:
    """The erasure entries of the audit log that erased ``key``: id, at, user (empty when none did)."""
    digest = key_digest(ws, key)
    if digest is None:
        return []
    log = ws.audit_log()
    out = []
    for row in log[log["action"] == "erase"].itertuples():
        if digest in json.loads(row.details_json).get("keys_hmac", []):
            out.append({"id": int(row.id), "at": row.at, "user": row.user})
    return out


# --------------------------------------------------------------------------
# the plan


@dataclass
class _Target:
    """One dataset version and the rows of it to erase (``replace``: anonymized rows to put in their place)."""

    ds: Any
    frame: pd.DataFrame
    rows: np.ndarray  # bool mask over frame
    replace: pd.DataFrame | None = None
    #: keys only its rejected lines or key problems hold (a line that could not be read names them still)
    elsewhere: set[str] = field(default_factory=set)

    @property
    def keys(self) -> set[str]:
        return set(_as_text(self.frame[self.ds.key])[self.rows]) | self.elsewhere

    @property
    def touched(self) -> bool:
        return bool(self.rows.any() or self.elsewhere)


def _keys(key: str | Sequence[str]) -> list[str]:
    keys = [key] if isinstance(key, str | int) else list(key)
    keys = [str(k).strip() for k in keys if k is not None and str(k).strip()]
    if not keys:
        raise WorkbenchError("no key given: name the record to erase (its value in the dataset's key column)")
    return list(dict.fromkeys(keys))


def _show(keys: Sequence[str]) -> str:
    return repr(keys[0]) if len(keys) == 1 else f"{len(keys)} keys"


def _as_text(values: pd.Series) -> np.ndarray:
    return np.array([None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)
                     for v in values], dtype=object)


def _versions(ws: Any, dataset: str | None) -> list[Any]:
    t = store.datasets_table
    query = sa.select(t.c.id).where(t.c.status == "ready").order_by(t.c.id)
    if dataset is not None:
        query = query.where(t.c.name == dataset)
    with ws.engine.connect() as conn:
        ids = [r[0] for r in conn.execute(query)]
    if dataset is not None and not ids:
        ws.dataset(dataset)  # raises, naming the known datasets
    return [ws.dataset_by_id(i) for i in ids]


def _find(ws: Any, keys: Sequence[str], dataset: str | None) -> list[_Target]:
    wanted = set(keys)
    targets = []
    for ds in _versions(ws, dataset):
        if ds.key is None:
            if dataset is not None:
                raise WorkbenchError(f"{ds.label} has no key column, so a record cannot be named in it")
            continue
        frame = dataset_rows.read_frame(ws.artifact_path(ds, artifacts.DATA))
        mask = np.isin(_as_text(frame[ds.key]), list(wanted))
        targets.append(_Target(ds, frame, mask, elsewhere=_outside_data(ws, ds, wanted)))
    return targets


def _outside_data(ws: Any, ds: Any, keys: set[str]) -> set[str]:
    """Keys named by the version's rejected lines (raw text) or key problems."""
    tokens, found = _Tokens(keys, ()), set()
    rejects = _read(ws.artifact_path(ds, artifacts.REJECTS))
    if rejects is not None and "raw" in rejects.columns:
        for raw in rejects["raw"].dropna().astype(str):
            found |= {k for k in keys if tokens.hit(raw) and _Tokens([k], ()).hit(raw)}
    problems = _read(ws.artifact_path(ds, artifacts.KEY_PROBLEMS))
    if problems is not None and "key" in problems.columns:
        found |= keys & set(_as_text(problems["key"]))
    return found


# --------------------------------------------------------------------------
# running it


class _Tokens:
    """The keys and distinctive values to find: whole JSON strings, and inside text at word boundaries."""

    def __init__(self, keys: Iterable[str], values: Iterable[str]):
        self.exact = {str(v) for v in (*keys, *values) if v}
        words = sorted((t for t in self.exact if len(t) >= 2), key=len, reverse=True)
        self.regex = (re.compile(r"(?<![0-9A-Za-z])(?:" + "|".join(map(re.escape, words)) + r")(?![0-9A-Za-z])")
                      if words else None)

    def hit(self, text: Any) -> bool:
        if not isinstance(text, str):
            return False
        return text in self.exact or (self.regex is not None and self.regex.search(text) is not None)

    def sub(self, text: str) -> str:
        if text in self.exact:
            return ERASED
        return self.regex.sub(ERASED, text) if self.regex is not None else text

    def mentions(self, value: Any) -> bool:
        if isinstance(value, dict):
            return any(self.hit(k) or self.mentions(v) for k, v in value.items())
        if isinstance(value, list):
            return any(self.mentions(v) for v in value)
        return self.hit(value)

    def scrub(self, value: Any, *, drop: bool) -> Any:
        """``value`` with every mention replaced by ``ERASED``; with ``drop``, list items that mention one go."""
        if isinstance(value, dict):
            return {k: self.scrub(v, drop=drop) for k, v in value.items() if not (drop and self.hit(k))}
        if isinstance(value, list):
            return [self.scrub(v, drop=drop) for v in value if not (drop and self.mentions(v))]
        if isinstance(value, str) and self.hit(value):
            return self.sub(value)
        return value

    def scrub_json(self, text: str | None, *, drop: bool) -> str | None:
        """JSON text with mentions scrubbed; the same text when nothing mentions one (parsed: escapes hide values)."""
        if not text:
            return text
        doc = json.loads(text)
        new = self.scrub(doc, drop=drop)
        return text if new == doc else store.dumps(new)


def _distinctive(targets: Sequence[_Target]) -> set[str]:
    """Personal values of the erased rows that no remaining row of their version holds."""
    out: set[str] = set()
    for t in targets:
        if not t.rows.any():
            continue
        for col in t.ds.schema.pii_columns:
            if col not in t.frame.columns:
                continue
            values = _as_text(t.frame[col])
            gone = {v for v in values[t.rows] if v and len(v) >= MIN_VALUE_LENGTH}
            out |= gone - set(values[~t.rows])
    return out


def _run(ws: Any, targets: list[_Target], *, action: str, dry_run: bool, digest_of: Sequence[str] | None = None,
         details: Mapping[str, Any] | None = None) -> ErasureReport:
    """Erase (or replace with ``_Target.replace``) the target rows everywhere; the one code path for
    ``forget`` and retention. Data files are rewritten last, so running it again finishes an interrupted one."""
    targets = [t for t in targets if t.touched]
    keys_by_name: dict[str, set[str]] = {}
    for t in targets:
        keys_by_name.setdefault(t.ds.name, set()).update(t.keys)
    all_keys = set().union(*keys_by_name.values()) if keys_by_name else set()
    tokens = _Tokens(all_keys, _distinctive(targets))
    digests = [key_digest(ws, k, create=not dry_run) for k in (digest_of or [])]
    report = ErasureReport(key_hash=digests[0] if len(digests) == 1 else None, dry_run=dry_run)
    report.exports = _exports(ws, targets, all_keys)
    report.related = _related(ws, targets)
    for t in targets:
        _failures(ws, t, report, dry_run)
    _matching_runs(ws, targets, report, dry_run)
    _golden_runs(ws, targets, report, dry_run)
    _household_runs(ws, targets, report, dry_run)
    _summaries(ws, targets, report, dry_run)
    entry = _store(ws, targets, keys_by_name, tokens, report, dry_run, action=action, digests=digests,
                   details=details)
    report.audit_entry = entry
    for t in targets:
        _dataset_files(ws, t, tokens, report, dry_run)
    if not dry_run:
        _compact(ws, report)
        if len(all_keys) <= 100 and not any(t.replace is not None for t in targets):  # anonymized rows may keep keys
            report.leftovers = _leftovers(ws.path, all_keys)
    if report.store.get("labels"):
        report.notes.append("labels involving the customer were dropped; a model retrains from the labels left")
    return report


def _secret(ws: Any, *, create: bool) -> bytes | None:
    t = store.meta_table
    with ws.engine.connect() as conn:
        value = conn.execute(sa.select(t.c.value).where(t.c.key == _SECRET_KEY)).scalar()
    if value is None and create:
        with store.write_transaction(ws.engine) as conn:
            value = conn.execute(sa.select(t.c.value).where(t.c.key == _SECRET_KEY)).scalar()
            if value is None:
                value = json.dumps(secrets.token_hex(32))
                conn.execute(t.insert().values(key=_SECRET_KEY, value=value))
    return None if value is None else json.loads(value).encode("ascii")


# --------------------------------------------------------------------------
# dataset files


def _write(frame: pd.DataFrame | pa.Table, path: Path) -> None:
    """The workspace's own writer: a temporary name, then a rename (a reader never sees half a file)."""
    from workbench.workspace import _write_parquet

    _write_parquet(frame, path)


def _write_data(path: Path, frame: pd.DataFrame, keep: np.ndarray, touched: np.ndarray) -> None:
    """A version's rows after an erasure: the rows of ``frame`` (one per row before it) that ``keep`` holds. Of
    a version in parts (``dataset_rows``), only each part holding a ``touched`` row is written again, in its
    own types where they still fit, under a temporary name: a link it shared with another version's file
    breaks (that version is worked on its own), and the other parts are left as they are."""
    if not path.is_dir():
        _write(frame[keep].reset_index(drop=True), path)
        return
    from workbench.workspace import _arrow_table

    start = 0
    for part, n in zip(dataset_rows.files(path), dataset_rows.row_counts(path), strict=True):
        end = start + n
        if touched[start:end].any():
            table = _arrow_table(frame.iloc[start:end][keep[start:end]].reset_index(drop=True))
            try:
                table = table.cast(pq.read_schema(part))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                pass  # a value written over another type (the readers widen it)
            _write(table, part)
        start = end


def _dataset_files(ws: Any, t: _Target, tokens: _Tokens, report: ErasureReport, dry_run: bool) -> None:
    ds = t.ds
    n = int(t.rows.sum())
    rejects = _read(ws.artifact_path(ds, artifacts.REJECTS))
    problems = _read(ws.artifact_path(ds, artifacts.KEY_PROBLEMS))
    drop_rejects = (np.array([any(tokens.hit(str(v)) for v in row if v is not None) for row in
                              rejects.astype(object).itertuples(index=False)], dtype=bool)
                    if rejects is not None and len(rejects) else np.zeros(0, bool))
    drop_problems = (np.isin(_as_text(problems["key"]), list(t.keys)) if problems is not None and len(problems)
                     and "key" in problems.columns else np.zeros(0 if problems is None else len(problems), bool))
    report.datasets.append({"dataset": ds.name, "version": ds.version, "rows": n,
                            "rejects": int(drop_rejects.sum()), "key_problems": int(drop_problems.sum()),
                            "action": "anonymize" if t.replace is not None else "delete"})
    if dry_run:
        return
    if t.replace is not None:
        frame = t.frame.copy()
        frame.loc[t.rows] = t.replace.to_numpy()
        _write_data(ws.artifact_path(ds, artifacts.DATA), frame, np.ones(len(frame), bool), t.rows)
    else:
        _write_data(ws.artifact_path(ds, artifacts.DATA), t.frame, ~t.rows, t.rows)
    if drop_rejects.any():
        _write(rejects[~drop_rejects].reset_index(drop=True), ws.artifact_path(ds, artifacts.REJECTS))
    if drop_problems.any():
        _write(problems[~drop_problems].reset_index(drop=True), ws.artifact_path(ds, artifacts.KEY_PROBLEMS))
    tab = store.datasets_table
    kept = 0 if t.replace is not None else n
    with ws.engine.begin() as conn:
        conn.execute(tab.update().where(tab.c.id == ds.id).values(
            rows_kept=tab.c.rows_kept - kept, rows_rejected=tab.c.rows_rejected - int(drop_rejects.sum()),
            rows_read=tab.c.rows_read - kept - int(drop_rejects.sum())))


def _read(path: Path) -> pd.DataFrame | None:
    return pd.read_parquet(path) if path.is_file() else None


def _runs(ws: Any) -> pd.DataFrame:
    t = store.runs_table
    with ws.engine.connect() as conn:
        df = pd.read_sql(sa.select(t.c.id, t.c.dataset_id, t.c.kind, t.c.status, t.c.params_json, t.c.result_json)
                         .order_by(t.c.id), conn)
    df["result"] = [json.loads(v) if isinstance(v, str) else None for v in df["result_json"]]
    df["params"] = [json.loads(v) if isinstance(v, str) else {} for v in df["params_json"]]
    return df


def _run_entry(report: ErasureReport, run: Any, kind: str) -> list[str]:
    for r in report.runs:
        if r["run"] == int(run):
            return r["changes"]
    report.runs.append({"run": int(run), "kind": kind, "changes": []})
    return report.runs[-1]["changes"]


def _failures(ws: Any, t: _Target, report: ErasureReport, dry_run: bool) -> None:
    """Assessment failures of the version: the record's rows go, later row positions move up."""
    runs = _runs(ws)
    for run in runs[(runs["dataset_id"] == t.ds.id) & (runs["kind"] == "assess")].itertuples():
        rel = (run.result or {}).get("failures_path")
        path = ws.path / rel if rel else None
        if path is None or not path.is_file():
            continue
        f = pd.read_parquet(path)
        gone = np.isin(_as_text(f["key"]), list(t.keys)) if "key" in f.columns else np.zeros(len(f), bool)
        if not gone.any():
            continue
        _run_entry(report, run.id, run.kind).append(f"{int(gone.sum())} failure(s)")
        if dry_run:
            continue
        f = f[~gone].reset_index(drop=True)
        if "row" in f.columns and t.replace is None:
            removed = np.flatnonzero(t.rows)
            f["row"] = f["row"].to_numpy() - np.searchsorted(removed, f["row"].to_numpy())
        _write(f, path)


# --------------------------------------------------------------------------
# clusterings and links


def _matching_runs(ws: Any, targets: list[_Target], report: ErasureReport, dry_run: bool) -> None:
    by_id = {t.ds.id: t.keys for t in targets}
    by_label = {t.ds.label: t.keys for t in targets}
    for run in _runs(ws).itertuples():
        result = run.result or {}
        folder = result.get("folder")
        if not folder or run.kind == "golden" or not str(folder).startswith("matching/"):
            continue
        own = by_id.get(int(run.dataset_id)) if pd.notna(run.dataset_id) else None
        master = by_label.get((run.params or {}).get("master"))
        if not own and not master:
            continue
        path = ws.path / folder
        if path.is_dir():
            _matching_folder(path, own or set(), master or set(), _run_entry(report, run.id, run.kind), dry_run)


def _matching_folder(folder: Path, own: set[str], master: set[str], changes: list[str], dry_run: bool) -> None:
    both = own | master
    model = folder / artifacts.CLUSTERS_MODEL
    if not (folder / artifacts.EDGES).exists() and (folder / artifacts.SCORES).exists() and model.exists():
        keys = pd.read_parquet(model)["key"].astype(str).to_numpy()  # older runs: scores by model position
        raw = pd.read_parquet(folder / artifacts.SCORES)
        if not dry_run:
            pd.DataFrame({"left_key": keys[raw["l"].to_numpy()], "right_key": keys[raw["r"].to_numpy()],
                          "score": raw["score"].to_numpy()}).to_parquet(folder / artifacts.EDGES, index=False)
    renamed: dict[str, str] = {}
    for name in (artifacts.CLUSTERS_MODEL, artifacts.CLUSTERS):
        path = folder / name
        if path.exists():
            c = pd.read_parquet(path)
            gone = np.isin(c["key"].astype(str).to_numpy(), list(own))
            if gone.any():
                changes.append(f"{int(gone.sum())} record(s) left {name.split('.')[0]}")
                after = _recluster(c, gone, own)
                if name == artifacts.CLUSTERS:
                    before = c.loc[~gone, "cluster_id"].astype(str).to_numpy()
                    moved = before != after["cluster_id"].astype(str).to_numpy()
                    renamed = dict(zip(before[moved], after.loc[moved, "cluster_id"].astype(str), strict=True))
                if not dry_run:
                    _write(after, path)
                    for by_position in (artifacts.EDGE_POSITIONS, artifacts.CLUSTER_CODES):  # rows it shifted
                        (folder / by_position).unlink(missing_ok=True)
    _id_files(folder, own, renamed, changes, dry_run)
    _drop_rows(folder / artifacts.RECORDS, lambda h: _erased_rows(h["key"], own), "record hash(es)", changes,
               dry_run)
    _drop_rows(folder / artifacts.EDGES,
               lambda e: _erased_rows(e["left_key"], both) | _erased_rows(e["right_key"], both), "edge(s)", changes,
               dry_run)
    links = folder / artifacts.LINKS
    if links.exists():
        lk = pd.read_parquet(links)
        gone = np.isin(_as_text(lk["acquired_key"]), list(own))
        orphan = np.isin(_as_text(lk["master_key"]), list(master)) & ~gone
        if gone.any() or orphan.any():
            changes.append(f"{int(gone.sum())} link(s) removed, {int(orphan.sum())} now new")
            if not dry_run:
                lk = lk.copy()
                lk.loc[orphan, "master_key"] = None
                lk.loc[orphan, "score"] = np.nan
                lk.loc[orphan, "status"] = "new"
                _write(lk[~gone].reset_index(drop=True), links)
    scratch = [folder / n for n in _SCRATCH if (folder / n).exists()]
    if scratch:
        changes.append("scratch files deleted (block keys, pairs, scores, standardized records)")
    caches = [folder / n for n in _CACHES if (folder / n).exists()]
    if caches:
        changes.append("cached dashboard figures deleted")
    if not dry_run:
        for path in scratch + caches:
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)


def _erased_rows(keys: pd.Series, erased: set[str]) -> np.ndarray:
    return np.isin(keys.astype(str).to_numpy(), list(erased))


def _drop_rows(path: Path, gone_of, what: str, changes: list[str], dry_run: bool) -> None:
    """Rewrite the Parquet file at ``path`` without the rows ``gone_of(frame)`` marks, saying how many."""
    if not path.exists():
        return
    frame = pd.read_parquet(path)
    gone = gone_of(frame)
    if gone.any():
        changes.append(f"{int(gone.sum())} {what}")
        if not dry_run:
            _write(frame[~gone].reset_index(drop=True), path)


def _id_files(folder: Path, own: set[str], renamed: dict[str, str], changes: list[str], dry_run: bool) -> None:
    """The run's id registry and id history without the erased records' keys as ids: an id the clusters
    renamed takes its new name, any other id naming an erased key (retired, or ``key~2``) an opaque one."""
    if not own:
        return
    opaque: dict[str, str] = {}

    def new_name(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if value in renamed:
            return renamed[value]
        base, _, suffix = value.rpartition(SUFFIX)
        if value in own or (base in own and suffix.isdigit()):
            return opaque.setdefault(value, f"erased-{secrets.token_hex(6)}")
        return value

    for name, columns in ((artifacts.CLUSTER_IDS, ("cluster_id", "merged_into", "split_from")),
                          (artifacts.ID_HISTORY, ("cluster_id", "other_id"))):
        path = folder / name
        if not path.exists():
            continue
        frame = pd.read_parquet(path)
        out = frame.copy()
        for col in columns:
            out[col] = frame[col].map(new_name).astype(object)
        changed = int((out[list(columns)].astype(str) != frame[list(columns)].astype(str)).any(axis=1).sum())
        if changed:
            changes.append(f"{changed} id(s) renamed in {name.split('.')[0]}")
            if name == artifacts.CLUSTER_IDS:  # a renamed id may meet an id of the same name: keep the active one
                out = out.sort_values("status", key=lambda s: s.eq("active"), kind="stable") \
                    .drop_duplicates("cluster_id", keep="last").sort_index()
            if not dry_run:
                _write(out.reset_index(drop=True), path)


def _recluster(c: pd.DataFrame, gone: np.ndarray, keys: set[str]) -> pd.DataFrame:
    """The clustering without the erased records; a cluster named after one takes its smallest remaining key."""
    c = _renamed_clusters(c[~gone].reset_index(drop=True), "key", keys)
    if "cluster_size" in c.columns:
        c["cluster_size"] = cluster_sizes(c["cluster_id"].to_numpy())
    return c


def _renamed_clusters(frame: pd.DataFrame, key_column: str, keys: set[str]) -> pd.DataFrame:
    """A cluster id that is an erased record's key (clusters are named after a member) becomes the
    cluster's smallest remaining key: the id must not tell that the record existed."""
    if "cluster_id" not in frame.columns or frame.empty:
        return frame
    ids = frame["cluster_id"].astype(str)
    renamed = ids.isin(keys)
    if renamed.any():
        frame = frame.copy()
        smallest = frame[key_column].astype(str).groupby(ids).transform("min")
        frame.loc[renamed, "cluster_id"] = smallest[renamed]
    return frame


# --------------------------------------------------------------------------
# golden records


def _golden_runs(ws: Any, targets: list[_Target], report: ErasureReport, dry_run: bool) -> None:
    by_id = {t.ds.id: t for t in targets}
    for run in _runs(ws).itertuples():
        if run.kind != "golden" or pd.isna(run.dataset_id) or int(run.dataset_id) not in by_id:
            continue
        result = run.result or {}
        folder = ws.path / result["folder"] if result.get("folder") else None
        if folder is None or not (folder / artifacts.CROSSWALK).exists():
            continue
        t = by_id[int(run.dataset_id)]
        _golden_folder(ws, t, run, folder, report, dry_run)


def _golden_folder(ws: Any, t: _Target, run: Any, folder: Path, report: ErasureReport, dry_run: bool) -> None:
    from workbench.export import MANIFEST, read_manifest, table_writer, write_files
    from workbench.golden import SurvivorshipRules, build_golden

    keys = t.keys
    cw = pd.read_parquet(folder / artifacts.CROSSWALK)
    rec = cw["record_key"].astype(str)
    hit = rec.isin(keys)
    if not hit.any():
        return
    golden = pd.read_parquet(folder / artifacts.GOLDEN)
    lineage = pd.read_parquet(folder / artifacts.LINEAGE)
    affected = sorted(set(cw.loc[hit, "golden_id"].astype(str)))
    try:
        rules = SurvivorshipRules.from_dict((run.params or {}).get("rules") or {})
    except Exception:  # rules given in Python have no stored form
        rules = None
    new_frame = t.frame[~t.rows]  # anonymized records are nobody: they leave golden records as erased ones do
    source = t.ds.schema.column_for(Role.SOURCE)
    rebuilt = []
    for gid in affected:
        members = sorted(set(rec[(cw["golden_id"].astype(str) == gid) & ~hit]))
        entry = {"run": int(run.id), "golden_id": gid, "action": "dropped", "new_id": None}
        if members and rules is not None:
            new_id = gid if gid not in keys else members[0]
            sub = new_frame[np.isin(_as_text(new_frame[t.ds.key]), members)]
            if len(sub):
                clusters = pd.DataFrame({"key": _as_text(sub[t.ds.key]), "cluster_id": new_id})
                rebuilt.append((gid, build_golden(sub, clusters, rules, key=t.ds.key, source=source)))
                entry.update(action="rebuilt", new_id=new_id)
        report.golden.append(entry)
    if dry_run:
        return
    keep = ~golden["golden_id"].astype(str).isin(affected)
    parts_g = [golden[keep]] + [r.golden for _, r in rebuilt]
    parts_l = [lineage[~lineage["golden_id"].astype(str).isin(affected)]] + [r.lineage for _, r in rebuilt]
    parts_c = [cw[~cw["golden_id"].astype(str).isin(affected)]] + [r.crosswalk for _, r in rebuilt]
    frames = {"golden": _concat(parts_g, golden), "lineage": _concat(parts_l, lineage),
              "crosswalk": _concat(parts_c, cw)}
    try:
        manifest = read_manifest(folder)
    except WorkbenchError:
        manifest = {}
    # the tables exported beside them (annotations, consent, hierarchy): the affected golden records' rows go
    # (building golden records again recomputes them from what is left)
    for name in sorted(set(manifest.get("files", {})) - {f"{n}.parquet" for n in frames}):
        if name.endswith(".parquet") and (folder / name).is_file():
            frames[name.removesuffix(".parquet")] = _without(pd.read_parquet(folder / name), keys, set(affected))
    meta = {k: v for k, v in manifest.items() if k not in ("files", "manifest_version")}
    meta["erasure"] = {"golden_records_rebuilt": sum(1 for e in report.golden if e["action"] == "rebuilt"
                                                     and e["run"] == int(run.id)),
                       "golden_records_dropped": sum(1 for e in report.golden if e["action"] == "dropped"
                                                     and e["run"] == int(run.id)), "at": store.now().isoformat()}
    write_files(folder, {f"{n}.parquet": table_writer(f, "parquet") for n, f in frames.items()},
                manifest=meta, manifest_name=MANIFEST)


def _without(frame: pd.DataFrame, keys: set[str], golden_ids: set[str] = frozenset()) -> pd.DataFrame:
    """``frame`` without the rows naming an erased record (``record_key``) or an affected golden record."""
    gone = np.zeros(len(frame), dtype=bool)
    if "record_key" in frame.columns:
        gone |= np.isin(_as_text(frame["record_key"]), list(keys))
    if golden_ids and "golden_id" in frame.columns:
        gone |= np.isin(_as_text(frame["golden_id"]), list(golden_ids))
    return frame[~gone].reset_index(drop=True)


def _household_runs(ws: Any, targets: list[_Target], report: ErasureReport, dry_run: bool) -> None:
    """Households runs (``workbench.households``): the erased records leave ``members``; the groups keep
    their ids, and the counts stay as they were when the run was made."""
    from workbench.export import MANIFEST, read_manifest, table_writer, write_files

    by_id = {t.ds.id: t for t in targets}
    for run in _runs(ws).itertuples():
        if run.kind != "households" or pd.isna(run.dataset_id) or int(run.dataset_id) not in by_id:
            continue
        folder = ws.path / (run.result or {}).get("folder", "") if (run.result or {}).get("folder") else None
        if folder is None or not (folder / artifacts.MEMBERS).is_file():
            continue
        members = pd.read_parquet(folder / artifacts.MEMBERS)
        keys = by_id[int(run.dataset_id)].keys
        kept = _renamed_clusters(_without(members, keys), "record_key", keys)
        if len(kept) == len(members):
            continue
        _run_entry(report, run.id, run.kind).append(f"{len(members) - len(kept)} record(s) left its households")
        if dry_run:
            continue
        try:
            manifest = read_manifest(folder)
        except WorkbenchError:
            manifest = {}
        frames = {n: pd.read_parquet(folder / n) for n in manifest.get("files", {}) if n.endswith(".parquet")
                  and n != artifacts.MEMBERS and (folder / n).is_file()}
        frames[artifacts.MEMBERS] = kept
        meta = {k: v for k, v in manifest.items() if k not in ("files", "manifest_version")}
        meta["erasure"] = {"records_removed": len(members) - len(kept), "at": store.now().isoformat()}
        write_files(folder, {n: table_writer(f, "parquet") for n, f in frames.items()}, manifest=meta,
                    manifest_name=MANIFEST)


def _concat(parts: list[pd.DataFrame], like: pd.DataFrame) -> pd.DataFrame:
    parts = [p.astype({c: object for c in p.columns if isinstance(p[c].dtype, pd.CategoricalDtype)})[
        [c for c in like.columns if c in p.columns]] for p in parts if len(p)]
    if not parts:
        return like.iloc[0:0]
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------
# stored results, store rows, audit


def _summaries(ws: Any, targets: list[_Target], report: ErasureReport, dry_run: bool) -> None:
    """Summary runs of a rewritten version are recomputed (they show top values, min and max)."""
    from workbench.summary import summarize

    by_id = {t.ds.id: t for t in targets}
    runs = _runs(ws)
    tab = store.runs_table
    for run in runs[(runs["kind"] == "summary") & runs["dataset_id"].isin(list(by_id))].itertuples():
        if run.status != "done":
            continue
        _run_entry(report, run.id, run.kind).append("recomputed")
        if dry_run:
            continue
        t = by_id[int(run.dataset_id)]
        frame = t.frame[~t.rows] if t.replace is None else _replaced(t)
        with ws.engine.begin() as conn:
            conn.execute(tab.update().where(tab.c.id == int(run.id)).values(
                result_json=store.dumps(summarize(frame.reset_index(drop=True)))))


def _replaced(t: _Target) -> pd.DataFrame:
    frame = t.frame.copy()
    frame.loc[t.rows] = t.replace.to_numpy()
    return frame


def _task_sides(task: str, keys_by_name: Mapping[str, set[str]]) -> tuple[set[str], set[str]]:
    """(left keys, right keys) of a matching task to erase: ``dedupe:NAME``, ``link:A->M`` and variants."""
    body = task.split(":", 1)[1] if ":" in task else task
    if "->" in body:
        a, m = body.split("->", 1)
        left = set().union(*(v for n, v in keys_by_name.items() if n in re.split(r":", a))) if keys_by_name else set()
        right = set().union(*(v for n, v in keys_by_name.items() if n in re.split(r":", m))) if keys_by_name else set()
        return left, right
    parts = set(re.split(r":", body))
    both = set().union(*(v for n, v in keys_by_name.items() if n in parts)) if keys_by_name else set()
    return both, both


def _store(ws: Any, targets: list[_Target], keys_by_name: Mapping[str, set[str]], tokens: _Tokens,
           report: ErasureReport, dry_run: bool, *, action: str, digests: list[str | None],
           details: Mapping[str, Any] | None) -> int | None:
    counts = {"labels": 0, "label_resolutions": 0, "pair_leases": 0, "decisions": 0, "annotations": 0,
              "run_results": 0, "dataset_rows": 0}
    conn_cm = (ws.engine.connect() if dry_run else store.write_transaction(ws.engine, lock=audit.LOCK))
    with conn_cm as conn:
        for table, name in ((store.labels_table, "labels"), (store.label_resolutions_table, "label_resolutions"),
                            (store.pair_leases_table, "pair_leases")):
            rows = conn.execute(sa.select(table)).mappings().all()
            for row in rows:
                left, right = _task_sides(row["task"], keys_by_name)
                snaps = [json.loads(row[c]) for c in ("left_json", "right_json") if row.get(c)]
                if row["left_key"] in left or row["right_key"] in right or tokens.mentions(snaps):
                    counts[name] += 1
                    if not dry_run:
                        cond = (table.c.id == row["id"]) if "id" in table.c else sa.and_(
                            table.c.task == row["task"], table.c.left_key == row["left_key"],
                            table.c.right_key == row["right_key"])
                        conn.execute(table.delete().where(cond))
        t = store.decisions_table
        for row in conn.execute(sa.select(t)).mappings().all():
            left, _ = _task_sides(row["task"], keys_by_name)
            kept = [k for k in json.loads(row["keys_json"]) if str(k) not in left]
            note = row["note"]
            if len(kept) == len(json.loads(row["keys_json"])) and not tokens.hit(note or ""):
                continue
            counts["decisions"] += 1
            if dry_run:
                continue
            split_out = row["action"] == "split" and str(json.loads(row["keys_json"])[0]) in left
            if not kept or split_out or (row["action"] in ("merge", "verify") and len(kept) < 2):
                conn.execute(t.delete().where(t.c.id == row["id"]))
            else:
                conn.execute(t.update().where(t.c.id == row["id"]).values(
                    keys_json=store.dumps(kept), note=tokens.sub(note) if note else note))
        t = store.annotations_table
        for row in conn.execute(sa.select(t).where(t.c.dataset.in_(list(keys_by_name)))).mappings().all():
            keys = keys_by_name.get(row["dataset"], set())
            if row["target_kind"] == "record":
                members = [row["target"]]
            else:
                try:
                    members = [str(k) for k in json.loads(row["target"])]
                except ValueError:
                    members = [row["target"]]
            left = [k for k in members if k not in keys]
            if len(left) == len(members) and not tokens.hit(row["text"]):
                continue
            counts["annotations"] += 1
            if dry_run:
                continue
            if not left or row["target_kind"] == "record":
                conn.execute(t.delete().where(t.c.id == row["id"]))
            else:
                conn.execute(t.update().where(t.c.id == row["id"]).values(
                    target=store.dumps(sorted(left)), text=tokens.sub(row["text"])))
        t = store.runs_table
        for row in conn.execute(sa.select(t.c.id, t.c.kind, t.c.params_json, t.c.result_json)).mappings().all():
            if row["kind"] == "summary":
                continue
            params = tokens.scrub_json(row["params_json"], drop=True)
            result = tokens.scrub_json(row["result_json"], drop=True)
            if (params, result) != (row["params_json"], row["result_json"]):
                counts["run_results"] += 1
                _run_entry(report, row["id"], row["kind"]).append("result scrubbed")
                if not dry_run:
                    conn.execute(t.update().where(t.c.id == row["id"]).values(params_json=params, result_json=result))
        t = store.datasets_table
        for row in conn.execute(sa.select(t.c.id, t.c.warnings_json)).mappings().all():
            new = tokens.scrub_json(row["warnings_json"], drop=False)
            if new != row["warnings_json"]:
                counts["dataset_rows"] += 1
                if not dry_run:
                    conn.execute(t.update().where(t.c.id == row["id"]).values(warnings_json=new))
        report.store = counts
        if dry_run:
            report.audit_redacted = _audit_hits(conn, tokens)
            return None
        entry_id = audit.next_id(conn)

        def rewrite(target: str | None, details_json: str) -> tuple[str | None, str] | None:
            new_target = tokens.sub(target) if tokens.hit(target) else target
            new_details = tokens.scrub_json(details_json, drop=False)
            return None if (new_target, new_details) == (target, details_json) else (new_target, new_details)

        redaction = audit.redact(conn, rewrite, by_entry=entry_id)
        report.audit_redacted = redaction["entries"]
        what = {
            "keys_hmac": [d for d in digests if d],
            "datasets": [{"dataset": t.ds.name, "version": t.ds.version, "rows": int(t.rows.sum())} for t in targets],
            "runs": sorted(r["run"] for r in report.runs),
            "golden": {"rebuilt": sum(1 for g in report.golden if g["action"] == "rebuilt"),
                       "dropped": sum(1 for g in report.golden if g["action"] == "dropped")},
            "store": counts,
            "exports_that_held": sum(1 for e in report.exports if e["holds"] is not False),
            audit.REDACTED_LIST: redaction["entries"],
            "previous_head": redaction["previous_head"],
            "rechained_from": redaction["rechained_from"],
            **dict(details or {}),
        }
        label = ", ".join(sorted({t.ds.name for t in targets}))
        ws.record(action, label, conn=conn, **what)
        return entry_id


def _audit_hits(conn: Any, tokens: _Tokens) -> list[int]:
    t = store.audit_table
    return [int(r.id) for r in conn.execute(sa.select(t.c.id, t.c.target, t.c.details_json))
            if tokens.hit(r.target) or tokens.scrub_json(r.details_json, drop=False) != r.details_json]


# --------------------------------------------------------------------------
# exports, related records, compaction, leftovers


def _exports(ws: Any, targets: list[_Target], keys: set[str]) -> list[dict[str, Any]]:
    """Exports and reports audited since the first version holding the record was loaded."""
    t = store.datasets_table
    ids = [x.ds.id for x in targets]
    if not ids:
        return []
    with ws.engine.connect() as conn:
        since = conn.execute(sa.select(sa.func.min(t.c.created_at)).where(t.c.id.in_(ids))).scalar()
    log = ws.audit_log()
    log = log[log["action"].isin(["export", "report"])]
    out = []
    for row in log.itertuples():
        if since is not None and _naive(row.at) < _naive(since):
            continue
        details = json.loads(row.details_json or "{}")
        path = details.get("path") if row.action == "report" else row.target
        out.append({"path": path, "at": row.at, "user": row.user, "action": row.action,
                    "holds": _holds(path, keys)})
    return out


def _naive(at: Any) -> pd.Timestamp:
    ts = pd.Timestamp(at)
    return ts.tz_convert(None) if ts.tzinfo is not None else ts


def _holds(path: str | None, keys: set[str]) -> bool | None:
    """Whether the exported file(s) at ``path`` hold one of ``keys``; None when they cannot be read."""
    if not path or "://" in path:
        return None
    p = Path(path)
    files = [f for f in p.rglob("*") if f.is_file()] if p.is_dir() else [p] if p.is_file() else []
    if not files:
        return None
    return any(_file_holds(f, keys) for f in files)


def _file_holds(path: Path, keys: set[str]) -> bool:
    needles = [k.encode("utf-8") for k in keys]
    data = path.read_bytes()
    if any(n in data for n in needles):
        return True
    if path.suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception:
            return False
        return any(np.isin(_as_text(frame[c]), list(keys)).any() for c in frame.columns)
    return False


def _related(ws: Any, targets: list[_Target]) -> list[dict[str, Any]]:
    """Records the latest clustering puts with the erased ones, and acquired records linked to them."""
    out: list[dict[str, Any]] = []
    runs = _runs(ws)
    for t in targets:
        keys = t.keys
        done = runs[(runs["status"] == "done") & (runs["dataset_id"] == t.ds.id) & (runs["kind"] == "dedupe")]
        if not done.empty:
            path = ws.path / (done.iloc[-1]["result"] or {}).get("folder", "") / artifacts.CLUSTERS
            if path.is_file():
                c = pd.read_parquet(path)
                ids = set(c.loc[c["key"].astype(str).isin(keys), "cluster_id"].astype(str))
                for k in sorted(set(c.loc[c["cluster_id"].astype(str).isin(ids), "key"].astype(str)) - keys):
                    out.append({"dataset": t.ds.name, "key": k, "via": "same cluster"})
        for run in runs[(runs["status"] == "done") & (runs["kind"] == "link")].itertuples():
            if (run.params or {}).get("master") != t.ds.label:
                continue
            path = ws.path / (run.result or {}).get("folder", "") / artifacts.LINKS
            if path.is_file():
                lk = pd.read_parquet(path)
                linked = lk[lk["master_key"].astype(str).isin(keys)]
                name = ws.dataset_by_id(int(run.dataset_id)).name if pd.notna(run.dataset_id) else "?"
                out.extend({"dataset": name, "key": str(k), "via": f"linked ({s})"}
                           for k, s in zip(linked["acquired_key"], linked["status"], strict=False))
    return out


def _compact(ws: Any, report: ErasureReport) -> None:
    """SQLite keeps deleted rows in free pages and the WAL: vacuum, then truncate the WAL."""
    if ws.engine.dialect.name != "sqlite":
        report.notes.append("the store is not SQLite: its database keeps nothing in the workspace folder; "
                            "its own VACUUM reclaims the deleted rows")
        return
    ws.engine.dispose()  # pooled connections would keep the WAL from being truncated
    with ws.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM")
        busy, _, _ = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    ws.engine.dispose()
    if busy:
        report.notes.append("another process was reading the store: its WAL could not be truncated yet; "
                            "it is on the next checkpoint")


def _leftovers(root: Path, keys: set[str]) -> list[str]:
    """Workspace files whose raw bytes still hold a key (Parquet pages are compressed: the tests read them too)."""
    needles = [re.compile(rb"(?<![0-9A-Za-z])" + re.escape(k.encode("utf-8")) + rb"(?![0-9A-Za-z])")
               for k in keys if len(k) >= 2]
    if not needles:
        return []
    out = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if any(n.search(data) for n in needles):
            out.append(path.relative_to(root).as_posix())
    return out


# --------------------------------------------------------------------------
# command line
