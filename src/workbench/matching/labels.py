"""Analyst labels in the workspace: the durable source of truth for a model.

Each label is stored the moment it is made, with the analyst, the time and a
snapshot of both records, so a model can be rebuilt from labels alone (after
a kernel crash, on another machine, after the data changed) and exported as
dedupe's training JSON. Undo marks a label undone; nothing is deleted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from workbench import store
from workbench.errors import WorkbenchError

LABELS = ("match", "distinct", "unsure")


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


class LabelStore:
    """Labels of one matching task ("dedupe:customers", "link:acquired->customers")."""

    def __init__(self, workspace, task: str, *, symmetric: bool = True):
        self.ws = workspace
        self.task = task
        self.symmetric = symmetric  # dedupe: (a, b) is (b, a); linking: left and right differ

    def add(self, left_key: str, right_key: str, label: str, left: Mapping, right: Mapping,
            analyst: str | None = None) -> Label:
        """Store one label at once; ``analyst`` defaults to the workspace's user."""
        analyst = analyst or self.ws.user
        if label not in LABELS:
            raise WorkbenchError(f"unknown label {label!r}; use one of {', '.join(LABELS)}")
        t = store.labels_table
        values = dict(task=self.task, left_key=str(left_key), right_key=str(right_key), label=label,
                      left_json=store.dumps(dict(left)), right_json=store.dumps(dict(right)),
                      analyst=analyst, at=store.now())
        with self.ws.engine.begin() as conn:
            new_id = conn.execute(t.insert().values(**values)).inserted_primary_key[0]
        return Label(new_id, str(left_key), str(right_key), label, dict(left), dict(right), analyst, values["at"])

    def undo_last(self) -> Label | None:
        """Mark the newest active label undone and return it (None when there is none)."""
        t = store.labels_table
        with self.ws.engine.begin() as conn:
            row = conn.execute(
                sa.select(t).where(t.c.task == self.task, t.c.undone_at.is_(None)).order_by(t.c.id.desc()).limit(1)
            ).mappings().first()
            if row is None:
                return None
            conn.execute(t.update().where(t.c.id == row["id"]).values(undone_at=store.now()))
        self.ws.record("label:undo", self.task, left=row["left_key"], right=row["right_key"], label=row["label"])
        return _label(row)

    def active(self) -> list[Label]:
        """Current labels, oldest first; a pair labeled twice keeps its newest label."""
        t = store.labels_table
        with self.ws.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t).where(t.c.task == self.task, t.c.undone_at.is_(None)).order_by(t.c.id)
            ).mappings().all()
        latest: dict[tuple[str, str], Label] = {}
        for row in rows:
            lab = _label(row)
            pair = _pair(lab.left_key, lab.right_key) if self.symmetric else (lab.left_key, lab.right_key)
            latest.pop(pair, None)
            latest[pair] = lab
        return list(latest.values())

    def frame(self) -> pd.DataFrame:
        """Active labels as a table: left_key, right_key, label, analyst, at."""
        labs = self.active()
        return pd.DataFrame([{"left_key": x.left_key, "right_key": x.right_key, "label": x.label,
                              "analyst": x.analyst, "at": x.at} for x in labs],
                            columns=["left_key", "right_key", "label", "analyst", "at"])

    def counts(self) -> dict[str, int]:
        labs = self.active()
        return {name: sum(1 for x in labs if x.label == name) for name in LABELS}

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


def _label(row: Mapping[str, Any]) -> Label:
    return Label(row["id"], row["left_key"], row["right_key"], row["label"], json.loads(row["left_json"]),
                 json.loads(row["right_json"]), row["analyst"], row["at"])


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)

