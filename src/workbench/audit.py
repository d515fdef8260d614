"""The audit log: who did what, to what, when, in a hash chain that shows tampering.

Each entry stores ``prev_hash`` (the hash of the entry before it) and
``hash``: sha256 over a canonical JSON of its id, time, user, action, target,
details and ``prev_hash``. The chain's head (last id and hash) is kept in the
store's ``meta`` table and moved by every append, so :func:`verify` can tell

* **modified**: an entry's content no longer matches its hash, or an entry
  was rewritten with a fresh hash and the next one still links to the old;
* **deleted**: ids are handed out one after another, so a gap, or a log that
  ends before the recorded head, means entries were removed;
* **inserted**: an entry without a hash (written around this module), or
  past the recorded head.

Appends are serialized: the id and ``prev_hash`` are read and the entry
inserted in one transaction holding the store's write lock (SQLite ``BEGIN
IMMEDIATE``, PostgreSQL an advisory lock), so two processes never fork the
chain. Someone able to rewrite the database can still recompute every hash
after an edit; the head hash that ``workbench audit --verify`` prints can be
kept elsewhere to catch that too.

Entries written before the chain existed are hashed, in order, by the
migration that introduced it; the verify report says how many.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from workbench import store

__all__ = ["GENESIS", "REDACTED", "Break", "ChainReport", "append", "chain_existing", "content_hash", "log",
           "next_id", "record", "redact", "verify"]

#: ``prev_hash`` of the first entry.
GENESIS = "0" * 64
HEAD_KEY = "audit_head"  # meta: {"id": last id, "hash": its hash}
CHAINED_KEY = "audit_chained"  # meta: entries hashed by the migration, {"count": n, "last_id": id}
LOCK = "workbench-audit"
#: In a redacted entry's details: ``{"by": id of the entry that redacted it}`` (see :func:`redact`).
REDACTED = "_redacted"
#: In the redacting entry's details: the ids it redacted.
REDACTED_LIST = "audit_redacted"


def _at_text(at: Any) -> str:
    """The time as both databases give it back: UTC, no offset, microseconds."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


def content_hash(entry: Mapping[str, Any], prev_hash: str) -> str:
    """sha256 of the canonical JSON of one entry (``details_json`` as stored, text for text)."""
    doc = {
        "id": int(entry["id"]),
        "at": _at_text(entry["at"]),
        "user": entry["user"],
        "action": entry["action"],
        "target": entry["target"],
        "details": entry["details_json"],
        "prev_hash": prev_hash,
    }
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _meta(conn: Connection, key: str) -> Any:
    t = store.meta_table
    value = conn.execute(sa.select(t.c.value).where(t.c.key == key)).scalar()
    return None if value is None else json.loads(value)


def _set_meta(conn: Connection, key: str, value: Any) -> None:
    t = store.meta_table
    text = json.dumps(value, sort_keys=True)
    if conn.execute(t.update().where(t.c.key == key).values(value=text)).rowcount == 0:
        conn.execute(t.insert().values(key=key, value=text))


def append(conn: Connection, user: str, action: str, target: str | None = None,
           details: Mapping[str, Any] | None = None) -> int:
    """Add one entry inside the caller's transaction; returns its id.

    The transaction must hold the store's write lock from its start
    (``store.write_transaction``), as :func:`record` does; on PostgreSQL the
    audit's advisory lock is taken here as well.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": store.lock_key(LOCK)})
    t = store.audit_table
    head = _meta(conn, HEAD_KEY) or {"id": 0, "hash": GENESIS}
    last = conn.execute(sa.select(sa.func.max(t.c.id))).scalar() or 0
    entry = {
        "id": max(int(head["id"]), int(last)) + 1,  # never reuse the id of a deleted last entry
        "at": store.now(),
        "user": user,
        "action": action,
        "target": target,
        "details_json": store.dumps(dict(details or {})),
    }
    digest = content_hash(entry, head["hash"])
    conn.execute(t.insert().values(**entry, prev_hash=head["hash"], hash=digest))
    _set_meta(conn, HEAD_KEY, {"id": entry["id"], "hash": digest})
    return entry["id"]


def record(engine: Engine, user: str, action: str, target: str | None = None,
           details: Mapping[str, Any] | None = None) -> int:
    """Append one entry in its own locked transaction; returns its id."""
    with store.write_transaction(engine, lock=LOCK) as conn:
        return append(conn, user, action, target, details)


def next_id(conn: Connection) -> int:
    """The id the next :func:`append` in this transaction will give its entry."""
    head = _meta(conn, HEAD_KEY) or {"id": 0}
    last = conn.execute(sa.select(sa.func.max(store.audit_table.c.id))).scalar() or 0
    return max(int(head["id"]), int(last)) + 1


def redact(conn: Connection, rewrite: Callable[[str | None, str], tuple[str | None, str] | None], *,
           by_entry: int) -> dict[str, Any]:
    """Rewrite the entries ``rewrite`` changes, then re-chain the log from the first one.

    Erasing a person (``workbench.erasure``) must not leave their key or values
    in old entries, yet the log must stay verifiable and say what happened.
    ``rewrite(target, details_json)`` returns the new (target, details_json)
    of an entry, or None to leave it alone. Each rewritten entry gets
    ``"_redacted": {"by": by_entry}`` in its details; every entry from the
    first rewritten one on is re-hashed (ids, times, users and actions never
    change), and the head moves. ``by_entry`` must be the entry the caller
    appends next in the same transaction (:func:`next_id`), and it must list
    the redacted ids under ``"audit_redacted"``: :func:`verify` checks that
    every redacted entry names an entry that owns up to it.

    Returns ``{"entries": [redacted ids], "previous_head": {"id", "hash"},
    "rechained_from": id or None}`` for the caller's own entry: someone who kept
    the old head hash elsewhere finds it there instead of a silent rewrite.
    The caller's transaction must hold the audit lock (``store.write_transaction(engine, lock=LOCK)``).
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": store.lock_key(LOCK)})
    t = store.audit_table
    head = _meta(conn, HEAD_KEY) or {"id": 0, "hash": GENESIS}
    rows = conn.execute(sa.select(t).order_by(t.c.id)).mappings().all()
    changed: dict[int, tuple[str | None, str]] = {}
    for row in rows:
        new = rewrite(row["target"], row["details_json"] or "{}")
        if new is None or tuple(new) == (row["target"], row["details_json"]):
            continue
        target, details_json = new
        details = json.loads(details_json)
        details[REDACTED] = {"by": int(by_entry)}
        changed[int(row["id"])] = (target, store.dumps(details))
    report: dict[str, Any] = {"entries": sorted(changed), "previous_head": dict(head), "rechained_from": None}
    if not changed:
        return report
    first = min(changed)
    report["rechained_from"] = first
    prev = GENESIS
    for row in rows:
        rid = int(row["id"])
        if rid < first:
            prev = row["hash"] or ""
            continue
        entry = dict(row)
        if rid in changed:
            entry["target"], entry["details_json"] = changed[rid]
        digest = content_hash(entry, prev)
        conn.execute(t.update().where(t.c.id == rid).values(target=entry["target"],
                                                            details_json=entry["details_json"],
                                                            prev_hash=prev, hash=digest))
        prev = digest
    _set_meta(conn, HEAD_KEY, {"id": max(int(head["id"]), int(rows[-1]["id"])), "hash": prev})
    return report


def chain_existing(conn: Connection) -> int:
    """Hash the entries already in the log, in id order, and set the head; returns how many.

    Run by the store migration that adds ``prev_hash`` and ``hash``.
    """
    t = store.audit_table
    rows = conn.execute(sa.select(t.c.id, t.c.at, t.c.user, t.c.action, t.c.target, t.c.details_json)
                        .order_by(t.c.id)).mappings().all()
    prev, last_id = GENESIS, 0
    for row in rows:
        digest = content_hash(row, prev)
        conn.execute(t.update().where(t.c.id == row["id"]).values(prev_hash=prev, hash=digest))
        prev, last_id = digest, int(row["id"])
    _set_meta(conn, HEAD_KEY, {"id": last_id, "hash": prev})
    _set_meta(conn, CHAINED_KEY, {"count": len(rows), "last_id": last_id})
    return len(rows)


def log(engine: Engine) -> pd.DataFrame:
    """Every entry, oldest first, with its hashes."""
    with engine.connect() as conn:
        return pd.read_sql(sa.select(store.audit_table).order_by(store.audit_table.c.id), conn)


# --------------------------------------------------------------------------
# verification


@dataclass(frozen=True)
class Break:
    """A broken link: the entry it is about, what happened to it, and how that shows."""

    entry: int
    kind: str  # modified | deleted | inserted
    detail: str

    def __str__(self) -> str:
        return f"entry {self.entry} {self.kind}: {self.detail}"


@dataclass
class ChainReport:
    entries: int
    head: str
    hashed_at_migration: int = 0
    breaks: list[Break] = field(default_factory=list)
    #: Entries rewritten by an erasure (``redact``), each owned up to by a later entry.
    redacted: int = 0

    @property
    def intact(self) -> bool:
        return not self.breaks

    @property
    def first(self) -> Break | None:
        return self.breaks[0] if self.breaks else None


def _missing(first: int, last: int) -> str:
    return f"entry {first} is missing" if first == last else f"entries {first}-{last} are missing"


def verify(engine: Engine) -> ChainReport:
    """Walk the chain from the first entry; every break found, in id order (reads only)."""
    t = store.audit_table
    with engine.connect() as conn:
        head = _meta(conn, HEAD_KEY)
        chained = _meta(conn, CHAINED_KEY) or {"count": 0, "last_id": 0}
        rows = conn.execute(sa.select(t).order_by(t.c.id)).mappings()
        breaks: list[Break] = []
        prev_id, prev_hash, n = 0, GENESIS, 0
        claims: dict[int, Any] = {}  # redacted entry -> the entry it says redacted it
        owned: dict[int, set[int]] = {}  # redacting entry -> the ids it lists
        for row in rows:
            n += 1
            rid = int(row["id"])
            _redaction_marks(rid, row["details_json"], claims, owned)
            if row["hash"] is None:
                breaks.append(Break(rid, "inserted", "it has no hash: it was written around the audit chain"))
            elif content_hash(row, row["prev_hash"] or "") != row["hash"]:
                breaks.append(Break(rid, "modified", "its content no longer matches its hash"))
            elif row["prev_hash"] != prev_hash:
                if rid > prev_id + 1:
                    breaks.append(Break(prev_id + 1, "deleted", f"{_missing(prev_id + 1, rid - 1)}: entry {rid} "
                                        "links to a hash no remaining entry has"))
                elif prev_id:
                    breaks.append(Break(prev_id, "modified", f"it was rewritten with a new hash; entry {rid} "
                                        "still links to the old one"))
                else:
                    breaks.append(Break(rid, "inserted", "the first entry does not start the chain"))
            elif rid > prev_id + 1 and rid > int(chained["last_id"]) + 1:
                breaks.append(Break(prev_id + 1, "deleted", f"{_missing(prev_id + 1, rid - 1)} (ids are "
                                    "consecutive) and the hashes were recomputed around the gap"))
            prev_id, prev_hash = rid, row["hash"] or ""
    if head is None:
        if n:
            breaks.append(Break(prev_id, "modified", "the chain head is missing from the store"))
    elif int(head["id"]) > prev_id:
        breaks.append(Break(prev_id + 1, "deleted", f"{_missing(prev_id + 1, int(head['id']))}: the log ends "
                            f"at entry {prev_id} but its head records entry {head['id']}"))
    elif int(head["id"]) < prev_id:
        breaks.append(Break(int(head["id"]) + 1, "inserted", f"entries past the recorded head "
                            f"(entry {head['id']}) were added around the audit chain"))
    elif head["hash"] != prev_hash:
        breaks.append(Break(prev_id, "modified", "the last entry's hash is not the one the head records"))
    for rid, by in sorted(claims.items()):
        if not isinstance(by, int) or rid not in owned.get(by, ()):
            breaks.append(Break(rid, "modified", f"it is marked redacted by entry {by}, which records no such "
                                "redaction"))
    breaks.sort(key=lambda b: b.entry)
    return ChainReport(entries=n, head=prev_hash, hashed_at_migration=int(chained["count"]), breaks=breaks,
                       redacted=len(claims))


def _redaction_marks(rid: int, details_json: str | None, claims: dict[int, Any], owned: dict[int, set[int]]) -> None:
    """Note an entry's redaction mark and the redactions it owns up to (JSON parsed only when mentioned)."""
    text = details_json or ""
    if REDACTED not in text and REDACTED_LIST not in text:
        return
    try:
        details = json.loads(text)
    except ValueError:
        return
    if not isinstance(details, dict):
        return
    mark = details.get(REDACTED)
    if isinstance(mark, dict):
        claims[rid] = mark.get("by")
    listed = details.get(REDACTED_LIST)
    if isinstance(listed, list):
        owned[rid] = {int(i) for i in listed if isinstance(i, int)}
