"""Analysts' notes and tags on records and clusters.

    notes = Annotations(ws, "customers")
    notes.note("C000123", "called 2026-11-03: moved to Leeds")
    notes.tag(["C000123", "C004567"], "vip")          # a cluster: its members' keys
    notes.for_keys(["C000123"])                        # what applies to these records

A note or tag belongs to a dataset *name* (every version) and targets a
record key, or a cluster given by its members' keys: cluster ids change
every time the data is clustered again, the members are what the analyst
meant. A cluster's annotations are those on any of its records plus those
on any cluster sharing a record with it. Each one carries its analyst and
time, is stored with its audit entry in one transaction, and is removed
(``remove``) by marking it, never deleted, so the log stays whole.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa

from workbench import access, store
from workbench.errors import WorkbenchError

__all__ = ["Annotation", "Annotations", "per_golden"]

MAX_NOTE = 2000
_TAG = re.compile(r"^[a-z0-9][a-z0-9_\-:.]{0,39}$")
COLUMNS = ["id", "target_kind", "target", "kind", "text", "analyst", "at"]


@dataclass(frozen=True)
class Annotation:
    id: int
    target_kind: str  # record | cluster
    keys: tuple[str, ...]
    kind: str  # note | tag
    text: str
    analyst: str
    at: Any


class Annotations:
    """Notes and tags of one dataset (by name), read and written through the workspace store."""

    def __init__(self, ws: Any, dataset: Any):
        self.ws = ws
        self.dataset = dataset if isinstance(dataset, str) else dataset.name

    # -- writing -----------------------------------------------------------------------
    def note(self, target: str | Iterable[str], text: str) -> Annotation:
        """Attach a free-text note to a record (its key) or a cluster (its members' keys)."""
        text = str(text).strip()
        if not text:
            raise WorkbenchError("a note needs some text")
        if len(text) > MAX_NOTE:
            raise WorkbenchError(f"a note is at most {MAX_NOTE:,} characters; this one has {len(text):,}")
        return self._add(target, "note", text)

    def tag(self, target: str | Iterable[str], tag: str) -> Annotation:
        """Tag a record or cluster: lower-case letters, digits and ``_-:.``, up to 40 characters."""
        return self._add(target, "tag", check_tag(tag))

    def untag(self, target: str | Iterable[str], tag: str) -> int:
        """Remove ``tag`` from exactly this record or cluster; the number of tags removed."""
        kind, keys = _target(target)
        found = [a for a in self.active() if a.kind == "tag" and a.text == check_tag(tag)
                 and a.target_kind == kind and a.keys == keys]
        for a in found:
            self.remove(a.id)
        return len(found)

    def remove(self, annotation_id: int) -> None:
        """Mark one note or tag removed (analysts; kept in the store, audited)."""
        self._require("removing a note or tag")
        t = store.annotations_table
        with store.write_transaction(self.ws.engine) as conn:
            done = conn.execute(t.update().where(t.c.id == int(annotation_id), t.c.dataset == self.dataset,
                                                 t.c.removed_at.is_(None)).values(removed_at=store.now())).rowcount
            if not done:
                raise WorkbenchError(f"no note or tag {annotation_id} on {self.dataset!r} to remove")
            self.ws.record("annotation:remove", self.dataset, conn=conn, id=int(annotation_id))

    def _add(self, target: str | Iterable[str], kind: str, text: str) -> Annotation:
        self._require(f"adding a {kind}")
        target_kind, keys = _target(target)
        t = store.annotations_table
        at = store.now()
        with store.write_transaction(self.ws.engine) as conn:
            new_id = store.inserted_id(conn.execute(t.insert().values(
                dataset=self.dataset, target_kind=target_kind, target=_stored(target_kind, keys), kind=kind,
                text=text, analyst=self.ws.user, at=at)))
            # the audit entry names the annotation, not its text: notes may hold personal data
            self.ws.record(f"annotation:{kind}", self.dataset, conn=conn, id=int(new_id), target_kind=target_kind,
                           records=len(keys))
        return Annotation(int(new_id), target_kind, keys, kind, text, self.ws.user, at)

    def _require(self, what: str) -> None:
        self.ws.require_writable(what)
        access.require(self.ws, "analyst", what)

    # -- reading -----------------------------------------------------------------------
    def active(self) -> list[Annotation]:
        """Every note and tag not removed, oldest first."""
        t = store.annotations_table
        with self.ws.engine.connect() as conn:
            rows = conn.execute(sa.select(t).where(t.c.dataset == self.dataset, t.c.removed_at.is_(None))
                                .order_by(t.c.id)).mappings().all()
        return [Annotation(int(r["id"]), r["target_kind"], _keys(r["target_kind"], r["target"]), r["kind"],
                           r["text"], r["analyst"], r["at"]) for r in rows]

    def frame(self) -> pd.DataFrame:
        """The active notes and tags as a table (``target`` is the key, or the keys joined by ', ')."""
        rows = [{"id": a.id, "target_kind": a.target_kind, "target": ", ".join(a.keys), "kind": a.kind,
                 "text": a.text, "analyst": a.analyst, "at": a.at} for a in self.active()]
        return pd.DataFrame(rows, columns=COLUMNS)

    def for_keys(self, keys: Iterable[str]) -> list[Annotation]:
        """Notes and tags on any of ``keys``, or on a cluster sharing a record with them."""
        wanted = {str(k) for k in keys}
        return [a for a in self.active() if wanted.intersection(a.keys)]

    def tags_by_key(self) -> dict[str, set[str]]:
        """Record key -> tags on it or on a cluster it was tagged in (for filtering a queue)."""
        out: dict[str, set[str]] = {}
        for a in self.active():
            if a.kind == "tag":
                for k in a.keys:
                    out.setdefault(k, set()).add(a.text)
        return out

    def tags(self) -> list[str]:
        return sorted({a.text for a in self.active() if a.kind == "tag"})


def per_golden(annotations: list[Annotation], crosswalk: pd.DataFrame) -> pd.DataFrame:
    """One row per golden record with annotations: golden_id, tags (sorted, '; '), notes ('analyst, date:
    text', oldest first, ' | '). For exports next to the golden records."""
    golden_of = dict(zip(crosswalk["record_key"].astype(str), crosswalk["golden_id"].astype(str), strict=True))
    tags: dict[str, set[str]] = {}
    notes: dict[str, list[str]] = {}
    for a in annotations:
        for gid in sorted({golden_of[k] for k in a.keys if k in golden_of}):
            if a.kind == "tag":
                tags.setdefault(gid, set()).add(a.text)
            else:
                when = a.at.date().isoformat() if hasattr(a.at, "date") else str(a.at)[:10]
                notes.setdefault(gid, []).append(f"{a.analyst}, {when}: {a.text}")
    ids = sorted(set(tags) | set(notes))
    return pd.DataFrame({"golden_id": ids, "tags": ["; ".join(sorted(tags.get(g, ()))) for g in ids],
                         "notes": [" | ".join(notes.get(g, [])) for g in ids]}, columns=["golden_id", "tags", "notes"])


def check_tag(tag: Any) -> str:
    text = str(tag).strip().lower()
    if not _TAG.match(text):
        raise WorkbenchError(f"tag {str(tag)[:60]!r}: use 1-40 lower-case letters, digits and _-:. "
                             "(starting with a letter or digit)")
    return text


def _target(target: str | Iterable[str]) -> tuple[str, tuple[str, ...]]:
    if isinstance(target, str | int):
        key = str(target).strip()
        if not key:
            raise WorkbenchError("a note or tag needs a record key or a cluster's keys")
        return "record", (key,)
    keys = tuple(sorted({str(k).strip() for k in target if str(k).strip()}))
    if not keys:
        raise WorkbenchError("a note or tag needs a record key or a cluster's keys")
    return ("record", keys) if len(keys) == 1 else ("cluster", keys)


def _stored(kind: str, keys: tuple[str, ...]) -> str:
    return keys[0] if kind == "record" else json.dumps(list(keys))


def _keys(kind: str, target: str) -> tuple[str, ...]:
    return (target,) if kind == "record" else tuple(json.loads(target))
