"""Analyst labels in the workspace: the durable source of truth for a model.

Each label is stored the moment it is made, with the analyst, the time and a
snapshot of both records, so a model can be rebuilt from labels alone (after
a kernel crash, on another machine, after the data changed) and exported as
dedupe's training JSON. Undo marks a label undone; nothing is deleted.

Analysts working together:

- undo takes back only the analyst's own newest label, never another's;
- a pair handed to an analyst is leased to them (``LEASE_SECONDS``, in the
  store, so other processes see it) and other analysts' sessions skip it;
- when analysts label a pair differently, every statement is kept and the
  pair is *in conflict* (``conflicts()``): it trains nothing until a steward
  ``resolve``s it; the steward's answer then beats every analyst's label.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from workbench import access, store
from workbench.errors import WorkbenchError

LABELS = ("match", "distinct", "unsure")
#: How long a pair handed to an analyst stays theirs (renewed each time it is shown).
LEASE_SECONDS = 600


@dataclass(frozen=True)
class Label:
    id: int
    left_key: str
    right_key: str
    label: str
    left: dict
    right: dict
    analyst: str
    at: Any
    resolution: bool = False  # a steward's answer to a conflict, not an analyst's own label


class LabelStore:
    """Labels of one matching task ("dedupe:customers", "link:acquired->customers")."""

    def __init__(self, workspace, task: str, *, symmetric: bool = True):
        self.ws = workspace
        self.task = task
        self.symmetric = symmetric  # dedupe: (a, b) is (b, a); linking: left and right differ

    def add(self, left_key: str, right_key: str, label: str, left: Mapping, right: Mapping,
            analyst: str | None = None) -> Label:
        """Store one label at once (and audit it); ``analyst`` defaults to the workspace's user.

        A label never overwrites another analyst's: when they differ, both are
        kept and the pair is in conflict until a steward resolves it.
        """
        analyst = analyst or self.ws.user
        if label not in LABELS:
            raise WorkbenchError(f"unknown label {label!r}; use one of {', '.join(LABELS)}")
        access.require(self.ws, "analyst", "labeling pairs")
        t = store.labels_table
        values = dict(task=self.task, left_key=str(left_key), right_key=str(right_key), label=label,
                      left_json=store.dumps(dict(left)), right_json=store.dumps(dict(right)),
                      analyst=analyst, at=store.now())
        with store.write_transaction(self.ws.engine) as conn:  # the label and its audit entry, together
            new_id = store.inserted_id(conn.execute(t.insert().values(**values)))
            self.ws.record("label:add", self.task, conn=conn, label_id=new_id, left=str(left_key),
                           right=str(right_key), label=label, analyst=analyst)
        return Label(new_id, str(left_key), str(right_key), label, dict(left), dict(right), analyst, values["at"])

    def last(self, analyst: str | None = None) -> Label | None:
        """The newest active label of ``analyst`` (default: the workspace's user), or None."""
        with self.ws.engine.connect() as conn:
            row = conn.execute(self._own_newest(analyst)).mappings().first()
        return None if row is None else _label(row)

    def undo_last(self, analyst: str | None = None) -> Label | None:
        """Mark the analyst's own newest active label undone and return it (None when they have none).

        Another analyst's labels are never touched, however recent.
        """
        t = store.labels_table
        who = analyst or self.ws.user
        with store.write_transaction(self.ws.engine) as conn:
            row = conn.execute(self._own_newest(who)).mappings().first()
            if row is None:
                return None
            done = conn.execute(t.update().where(t.c.id == row["id"], t.c.undone_at.is_(None))
                                .values(undone_at=store.now())).rowcount
            if done:
                self.ws.record("label:undo", self.task, conn=conn, label_id=row["id"], left=row["left_key"],
                               right=row["right_key"], label=row["label"], analyst=who)
        if not done:  # the same analyst undid it from another window a moment ago
            return None
        return _label(row)

    def _own_newest(self, analyst: str | None):
        t = store.labels_table
        return (sa.select(t).where(t.c.task == self.task, t.c.undone_at.is_(None),
                                   t.c.analyst == (analyst or self.ws.user))
                .order_by(t.c.id.desc()).limit(1))

    def statements(self, pair: tuple[str, str] | None = None) -> list[Label]:
        """Every active label of every analyst (of one ``pair`` if given), oldest first: what ``active`` settles."""
        t = store.labels_table
        query = sa.select(t).where(t.c.task == self.task, t.c.undone_at.is_(None))
        if pair is not None:
            query = query.where(self._pair_filter(t, *pair))
        with self.ws.engine.connect() as conn:
            rows = conn.execute(query.order_by(t.c.id)).mappings().all()
        return [_label(r) for r in rows]

    def _pair_filter(self, t: sa.Table, a: str, b: str):
        same = (t.c.left_key == str(a)) & (t.c.right_key == str(b))
        return (same | ((t.c.left_key == str(b)) & (t.c.right_key == str(a)))) if self.symmetric else same

    def active(self) -> list[Label]:
        """The labels that train a model, oldest first: one per pair, conflicting pairs left out.

        Per pair each analyst's newest label counts; when they agree, the newest
        one stands; when they differ, the pair is in conflict and left out until
        a steward resolves it (the resolution then stands, whatever the analysts said).
        """
        settled, _ = self._settle()
        return settled

    def settled(self) -> dict[tuple[str, str], str]:
        """Each labeled pair's settled label, ``"conflict"`` for those awaiting a steward (pairs as ``_key``)."""
        settled, conflicts = self._settle()
        out = dict.fromkeys(conflicts, "conflict")
        out.update({self._key(lab.left_key, lab.right_key): lab.label for lab in settled})
        return out

    def _settle(self, pair: tuple[str, str] | None = None
                ) -> tuple[list[Label], dict[tuple[str, str], list[Label]]]:
        """(settled labels, conflicting pairs -> each analyst's label): the one rule for a pair's label."""
        by_pair: dict[tuple[str, str], dict[str, Label]] = {}
        for lab in self.statements(pair):
            by_pair.setdefault(self._key(lab.left_key, lab.right_key), {})[lab.analyst] = lab
        resolved = self._resolutions(pair)
        settled: list[Label] = []
        conflicts: dict[tuple[str, str], list[Label]] = {}
        for pair, per_analyst in by_pair.items():
            newest = max(per_analyst.values(), key=lambda x: x.id)
            if pair in resolved:
                label, steward, at = resolved[pair]
                settled.append(Label(newest.id, newest.left_key, newest.right_key, label, newest.left, newest.right,
                                     steward, at, resolution=True))
            elif len({x.label for x in per_analyst.values()}) == 1:
                settled.append(newest)
            else:
                conflicts[pair] = sorted(per_analyst.values(), key=lambda x: x.id)
        settled.sort(key=lambda x: x.id)
        return settled, conflicts

    def _key(self, a: str, b: str) -> tuple[str, str]:
        return _pair(str(a), str(b)) if self.symmetric else (str(a), str(b))

    # -- conflicts and their resolution ----------------------------------------------------
    def conflicts(self) -> pd.DataFrame:
        """Pairs analysts labeled differently, awaiting a steward: left_key, right_key, labels, analysts, at.

        ``labels`` reads "alice: match; bob: distinct"; ``at`` is the newest label's time.
        """
        _, conflicts = self._settle()
        cols = ["left_key", "right_key", "labels", "analysts", "at"]
        rows = [{"left_key": labs[0].left_key, "right_key": labs[0].right_key,
                 "labels": "; ".join(f"{x.analyst}: {x.label}" for x in labs),
                 "analysts": [x.analyst for x in labs], "at": labs[-1].at} for labs in conflicts.values()]
        return pd.DataFrame(rows, columns=cols)

    def in_conflict(self, left_key: str, right_key: str) -> bool:
        """Whether analysts disagree about this pair and no steward has resolved it yet."""
        _, conflicts = self._settle((left_key, right_key))
        return self._key(left_key, right_key) in conflicts

    def resolve(self, left_key: str, right_key: str, label: str) -> Label:
        """A steward's answer for a pair; it beats every analyst's label of the pair (all are kept).

        Needs the steward role or above (``workbench.access``).
        """
        access.require(self.ws, "steward", "resolving a label conflict")
        if label not in LABELS:
            raise WorkbenchError(f"unknown label {label!r}; use one of {', '.join(LABELS)}")
        ours = self.statements((left_key, right_key))
        if not ours:
            raise WorkbenchError(f"no analyst has labeled ({left_key}, {right_key}) in {self.task}: "
                                 "nothing to resolve")
        at = store.now()
        with store.write_transaction(self.ws.engine) as conn:
            conn.execute(store.label_resolutions_table.insert().values(
                task=self.task, left_key=str(left_key), right_key=str(right_key), label=label,
                steward=self.ws.user, at=at))
            self.ws.record("label:resolve", self.task, conn=conn, left=str(left_key), right=str(right_key),
                           label=label, statements={x.analyst: x.label for x in ours})
        newest = ours[-1]
        return Label(newest.id, newest.left_key, newest.right_key, label, newest.left, newest.right,
                     self.ws.user, at, resolution=True)

    def _resolutions(self, pair: tuple[str, str] | None = None) -> dict[tuple[str, str], tuple[str, str, Any]]:
        t = store.label_resolutions_table
        query = sa.select(t.c.left_key, t.c.right_key, t.c.label, t.c.steward, t.c.at).where(
            t.c.task == self.task, t.c.undone_at.is_(None))
        if pair is not None:
            query = query.where(self._pair_filter(t, *pair))
        with self.ws.engine.connect() as conn:
            rows = conn.execute(query.order_by(t.c.id)).all()
        return {self._key(a, b): (label, steward, at) for a, b, label, steward, at in rows}

    # -- leases: analysts working at once get different pairs -----------------------------
    def lease(self, left_key: str, right_key: str, analyst: str | None = None,
              seconds: float = LEASE_SECONDS) -> bool:
        """Hand a pair to ``analyst`` for ``seconds``; False when another analyst holds it.

        Renews the analyst's own lease. Atomic across processes: a conditional
        update of an expired or own lease, else an insert the primary key guards.
        """
        who = analyst or self.ws.user
        a, b = self._key(left_key, right_key)
        t = store.pair_leases_table
        now = time.time()
        mine = (t.c.task == self.task) & (t.c.left_key == a) & (t.c.right_key == b)
        with store.write_transaction(self.ws.engine) as conn:
            taken = conn.execute(t.update().where(mine, (t.c.expires < now) | (t.c.analyst == who))
                                 .values(analyst=who, expires=now + seconds)).rowcount
        if taken:
            return True
        try:
            with store.write_transaction(self.ws.engine) as conn:
                conn.execute(t.insert().values(task=self.task, left_key=a, right_key=b, analyst=who,
                                               expires=now + seconds))
        except sa.exc.IntegrityError:  # another analyst holds it (or took it this very moment)
            return False
        return True

    def unavailable(self, analyst: str | None = None) -> set[tuple[str, str]]:
        """Pairs not to hand to ``analyst``: labeled by anyone (active), or leased to someone else now."""
        who = analyst or self.ws.user
        lt, pt = store.labels_table, store.pair_leases_table
        with self.ws.engine.connect() as conn:
            labeled = conn.execute(sa.select(lt.c.left_key, lt.c.right_key)
                                   .where(lt.c.task == self.task, lt.c.undone_at.is_(None))).all()
            leased = conn.execute(sa.select(pt.c.left_key, pt.c.right_key)
                                  .where(pt.c.task == self.task, pt.c.analyst != who,
                                         pt.c.expires >= time.time())).all()
        return {self._key(a, b) for a, b in [*labeled, *leased]}

    def frame(self) -> pd.DataFrame:
        """Active labels as a table: left_key, right_key, label, analyst, at."""
        labs = self.active()
        return pd.DataFrame([{"left_key": x.left_key, "right_key": x.right_key, "label": x.label,
                              "analyst": x.analyst, "at": x.at} for x in labs],
                            columns=["left_key", "right_key", "label", "analyst", "at"])

    def by_analyst(self) -> pd.DataFrame:
        """Labels given per analyst and answer (``analyst``, ``label``, ``labels``); undone ones as "undone"."""
        t = store.labels_table
        undone = sa.case((t.c.undone_at.is_(None), t.c.label), else_=sa.literal("undone"))
        query = (sa.select(t.c.analyst, undone.label("label"), sa.func.count().label("labels"))
                 .where(t.c.task == self.task).group_by(t.c.analyst, undone))
        with self.ws.engine.connect() as conn:
            return pd.DataFrame(conn.execute(query).all(), columns=["analyst", "label", "labels"])

    def counts(self) -> dict[str, int]:
        """Settled labels per kind, and ``conflict``: pairs awaiting a steward."""
        labs, conflicts = self._settle()
        return {**{name: sum(1 for x in labs if x.label == name) for name in LABELS}, "conflict": len(conflicts)}

    # -- dedupe's training JSON -------------------------------------------------------
    def to_training_json(self) -> dict[str, list]:
        """dedupe's training format: {"match": [[rec, rec], ...], "distinct": [...]} (unsure left out)."""
        out: dict[str, list] = {"match": [], "distinct": []}
        for lab in self.active():
            if lab.label in out:
                out[lab.label].append([lab.left, lab.right])
        return out

    def export_training(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_training_json(), indent=1, default=str), encoding="utf-8")
        return path

    def import_training(self, path: str | Path, key: str | tuple[str, str] | None = None) -> int:
        """Add labels from a dedupe training JSON file; returns how many.

        Records are stored as given (they are the snapshots a model trains
        from); when they carry ``key`` it names them, otherwise they get
        synthetic keys and only train the model.
        """
        path = Path(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise WorkbenchError(f"cannot read training file: {exc}", path=str(path)) from None
        if not isinstance(doc, dict) or not {"match", "distinct"} & set(doc):
            raise WorkbenchError("not a dedupe training file: expected keys 'match' and 'distinct'", path=str(path))
        lkey, rkey = (key, key) if key is None or isinstance(key, str) else key
        n = 0
        for label in ("match", "distinct"):
            for i, pair in enumerate(doc.get(label, [])):
                try:
                    left, right = pair
                    left.keys(), right.keys()
                except (ValueError, TypeError, AttributeError):
                    raise WorkbenchError(f"{label} pair {i}: expected two records (JSON objects)",
                                         path=str(path)) from None
                lk = str(left[lkey]) if lkey and lkey in left else f"{path.name}:{label}:{i}:L"
                rk = str(right[rkey]) if rkey and rkey in right else f"{path.name}:{label}:{i}:R"
                self.add(lk, rk, label, left, right)
                n += 1
        self.ws.record("label:import", self.task, path=str(path), count=n)
        return n


def _label(row: Mapping[Any, Any]) -> Label:
    return Label(row["id"], row["left_key"], row["right_key"], row["label"], json.loads(row["left_json"]),
                 json.loads(row["right_json"]), row["analyst"], row["at"])


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)

