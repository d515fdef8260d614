"""A labeler that answers from ground truth: the stand-in for an analyst in tests, demos and benchmarks.

The sample data ships its truth apart (``data/samples/truth/``) so the same
labeling protocol an analyst drives through the widget can be driven by a
script: ``TruthLabeler.for_samples(dir).label(session, budget=30)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd


class TruthLabeler:
    """Answers "match" when both records belong to the same true entity, else "distinct"."""

    def __init__(self, left_entity: Mapping[str, str] | pd.Series,
                 right_entity: Mapping[str, str] | pd.Series | None = None):
        self.left_entity = dict(left_entity)
        self.right_entity = self.left_entity if right_entity is None else dict(right_entity)

    @classmethod
    def for_samples(cls, samples_dir: str | Path, task: str = "dedupe") -> TruthLabeler:
        """The truth of the committed samples: ``task`` "dedupe" (customers) or "link" (acquired vs customers)."""
        truth = Path(samples_dir) / "truth"
        customers = pd.read_csv(truth / "customers_truth.csv", dtype=str).set_index("customer_id")["entity_id"]
        if task == "dedupe":
            return cls(customers)
        if task == "link":
            acquired = pd.read_csv(truth / "acquired_truth.csv", dtype=str).set_index("lead_id")["entity_id"]
            return cls(acquired, customers)
        raise ValueError(f"unknown task {task!r}: expected 'dedupe' or 'link'")

    def same(self, left_id: str, right_id: str) -> bool:
        left = self.left_entity.get(str(left_id))
        return left is not None and left == self.right_entity.get(str(right_id))

    def answer(self, pair) -> str:
        return "match" if self.same(pair.left_id, pair.right_id) else "distinct"

    def label(self, session, budget: int = 30) -> int:
        """Answer up to ``budget`` pairs the session asks about; returns how many were labeled."""
        done = 0
        while done < budget:
            pair = session.next_pair()
            if pair is None:
                break
            session.mark(pair, self.answer(pair))
            done += 1
        return done
