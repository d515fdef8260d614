"""What a deduper and a linker share: prepared records, a pool, labels, a model.

A session prepares (standardizes) a bounded working sample of records, builds
a pool of candidate pairs with features, and replays every stored label so a
new session resumes where the last one stopped, even after a kernel crash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.matching import priors
from workbench.matching.candidates import rich_sample, training_pool
from workbench.matching.fields import plan_fields, plan_frame, prepare_records
from workbench.matching.labels import LabelStore
from workbench.matching.learner import ActiveLearner
from workbench.matching.model import (
    Featurizer,
    PairClassifier,
    cross_validated_scores,
    prior_weights,
    suggest_threshold,
    threshold_curve,
)
from workbench.matching.records import clean, keyed_records, record_by_key
from workbench.matching.trained import MatchModel, explain_pair, labels_sha256

#: Records standardized up front; larger datasets are sampled, so the first
#: pair is ready in seconds whatever the size.
WORK_SAMPLE = 60_000
#: Records in the labeling pool (the bound dedupe's prepare_training lacks).
POOL_RECORDS = 1500
#: Candidate pairs allowed per record (sets the blocking budget; pipeline.MIN_PAIR_BUDGET
#: is the floor). At a million generated customers 40 let blocking pick a name rule of
#: 24 million pairs: scoring took 4 minutes instead of 20 s and the extra look-alikes
#: cost 11 points of precision; 10 keeps it to the selective rules.
PAIRS_PER_RECORD = 10
#: Labels needed before a model is worth training.
MIN_MATCH = 3
MIN_DISTINCT = 3


@dataclass
class Pair:
    """A pair of records to label: keys, raw records, standardized records, model score."""

    left_id: str
    right_id: str
    left: dict
    right: dict
    score: float | None = None
    left_std: dict = field(default_factory=dict, repr=False)
    right_std: dict = field(default_factory=dict, repr=False)
    origin: str = ""


@dataclass
class Progress:
    match: int
    distinct: int
    unsure: int
    min_match: int = MIN_MATCH
    min_distinct: int = MIN_DISTINCT
    conflict: int = 0  # pairs analysts labeled differently, awaiting a steward (they train nothing)

    @property
    def total(self) -> int:
        return self.match + self.distinct + self.unsure

    @property
    def enough(self) -> bool:
        """Enough labels of each kind to train a model."""
        return self.match >= self.min_match and self.distinct >= self.min_distinct

    def __str__(self) -> str:
        need = "" if self.enough else f" (need {self.min_match} match and {self.min_distinct} distinct to train)"
        conflict = f", {self.conflict} in conflict awaiting a steward" if self.conflict else ""
        return f"{self.match} match, {self.distinct} distinct, {self.unsure} unsure{conflict}{need}"


class LabelingSession(Protocol):
    """What a labeling front end (``workbench.ui.LabelingApp``) may use of a session.

    ``Deduper`` and ``Linker`` both are one: pairs to label, the progress, the
    threshold curve, and ``finish`` (cluster or link everything), recorded as a
    ``run_kind`` run and shown as ``finish_verb`` while it runs.
    """

    ws: Any
    task: str
    left_ds: Any
    right_ds: Any
    labels: LabelStore
    last_run: dict[str, Any] | None
    run_kind: str
    finish_verb: str

    @property
    def progress(self) -> Progress: ...

    def next_pair(self, *, analyst: str | None = None) -> Pair | None: ...

    def mark(self, pair: Pair, label: str, *, analyst: str | None = None) -> Progress: ...

    def undo(self, *, analyst: str | None = None) -> Pair | None: ...

    def threshold_curve(self) -> pd.DataFrame: ...

    def finish(self, *, progress: Any = True) -> Any:
        """Cluster (a ``Clustering``) or link (the links frame) every record."""


class MatchingSession:
    """Base of Deduper and Linker: the labeling protocol (``LabelingSession``) and the model."""

    symmetric = True
    #: The run ``finish`` records, and what the labeling app shows while it runs.
    run_kind = ""
    finish_verb = ""
    last_run: dict[str, Any] | None = None

    def __init__(self, ws, task: str, left, right, *, fields: dict[str, str | None] | None = None,
                 right_fields: dict[str, str | None] | None = None, seed: int = 0, pool_records: int = POOL_RECORDS,
                 work_sample: int = WORK_SAMPLE, pairs_per_record: int = PAIRS_PER_RECORD):
        self.ws = ws
        self.task = task
        self.left_ds, self.right_ds = left, right
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.pairs_per_record = pairs_per_record
        self._check_size()
        self.fields, self.skipped = plan_fields(left.schema, fields, left.frame)
        if right is not left:
            by_name = {f.name: f for f in plan_fields(right.schema, right_fields, right.frame)[0]}
            self.fields = [f for f in self.fields if f.name in by_name]
            if not self.fields:
                raise WorkbenchError("the two datasets share no match field (by role): set roles so that "
                                     "names, emails, phones or addresses line up")
            self.right_fields = [by_name[f.name] for f in self.fields]
        else:
            self.right_fields = self.fields
        self.featurizer = Featurizer(self.fields)
        self.labels = LabelStore(ws, task, symmetric=self.symmetric)
        self.left_raw = keyed_records(left)
        self.right_raw = self.left_raw if right is left else keyed_records(right)
        left_sample = rich_sample(self.left_raw, left.schema, work_sample, self.rng)
        self.left_prep = prepare_records(left_sample.reset_index(), "__key__", self.fields)
        if right is left:
            self.right_prep = self.left_prep
        else:
            right_sample = rich_sample(self.right_raw, right.schema, work_sample, self.rng,
                                       partner=left_sample, partner_schema=left.schema)
            self.right_prep = prepare_records(right_sample.reset_index(), "__key__", self.right_fields)
        self._check_usable()
        self.featurizer.set_name_frequencies(self.right_prep)
        self.pool = self._build_pool(pool_records)
        self.pool_X = self._features(self.pool["left_key"], self.pool["right_key"])
        estimated = priors.estimate(self.pool_X, (self.pool["origin"] == "random").to_numpy(), len(self.fields))
        self.estimated_weights = {self.fields[j].name: w for j, w in estimated.items()}
        mean, variance = prior_weights(self.featurizer, self.estimated_weights)
        self.classifier = PairClassifier(mean, prior_variance=variance)
        self.learner = ActiveLearner(self.pool_X, self.classifier, seed=seed, min_per_class=min(MIN_MATCH, MIN_DISTINCT))
        self.stale_labels: list[str] = []
        self._label_features: dict[int, np.ndarray] = {}
        self._history: list[int] = []
        self._current: int | None = None
        self._replay_labels()

    @property
    def plan(self) -> pd.DataFrame:
        """The comparison plan to confirm: each field, its column, how it is compared, how sure, why.

        Columns left out are listed with the reason. Change it with
        ``ws.deduper(ds, fields={column: kind})`` (or ``None`` to leave a column out).
        """
        return plan_frame(self.fields, self.skipped)

    # -- set-up ------------------------------------------------------------------
    def _check_size(self) -> None:
        if self.left_ds.rows_kept < 2 and self.right_ds is self.left_ds:
            raise WorkbenchError(f"{self.left_ds.label} has {self.left_ds.rows_kept} record(s): "
                                 "deduplication needs at least 2")
        if self.left_ds.rows_kept < 1 or self.right_ds.rows_kept < 1:
            raise WorkbenchError("linking needs at least one record on each side")

    def _check_usable(self) -> None:
        usable = [f.name for f in self.fields if self.left_prep[f.name].notna().any()]
        if not usable:
            raise WorkbenchError("every match field is empty in this data: nothing to compare")
        empty = [f.name for f in self.fields if f.name not in usable]
        self.empty_fields = empty
        if self.right_ds is self.left_ds and (self.left_prep[usable].astype(str).nunique() <= 1).all():
            raise WorkbenchError("all records are identical in every match field: they are one customer, "
                                 "or the fields chosen cannot tell them apart")

    def _build_pool(self, pool_records: int) -> pd.DataFrame:
        other = None if self.right_ds is self.left_ds else self.right_prep
        return training_pool(self.left_prep, rng=self.rng, max_records=pool_records, other=other)

    def _features(self, left_keys, right_keys) -> np.ndarray:
        return self.featurizer.frame_pairs(self.left_prep, self.right_prep, list(left_keys), list(right_keys))

    # -- labels ------------------------------------------------------------------
    def _pair_index(self) -> dict[tuple[str, str], int]:
        if not hasattr(self, "_index"):
            self._index = {(a, b): i for i, (a, b) in enumerate(zip(self.pool["left_key"], self.pool["right_key"],
                                                                     strict=True))}
        return self._index

    def _replay_labels(self) -> None:
        """Take stored labels out of the pool and train on them (resume after a crash)."""
        index = self._pair_index()
        for lab in self.labels.active():
            for key in ((lab.left_key, lab.right_key), (lab.right_key, lab.left_key)):
                if key in index:
                    self.learner.take(index[key])
            missing = [k for k, raw in ((lab.left_key, self.left_raw), (lab.right_key, self.right_raw))
                       if k not in raw.index]
            if missing:
                self.stale_labels.append(
                    f"label {lab.label} on ({lab.left_key}, {lab.right_key}): record(s) {', '.join(missing)} "
                    "no longer in the data; kept for training from its stored snapshot")
        self._refit()

    def _labeled_features(self) -> tuple[np.ndarray, np.ndarray]:
        """Features of every active match/distinct label, from the labels' own record snapshots."""
        labs = [x for x in self.labels.active() if x.label in ("match", "distinct")]
        if not labs:
            return np.empty((0, self.featurizer.n_features), dtype="f4"), np.empty(0, dtype=int)
        todo = [x for x in labs if x.id not in self._label_features]
        if todo:
            X_new = self._snapshot_features([x.left for x in todo], [x.right for x in todo])
            for x, row in zip(todo, X_new, strict=True):
                self._label_features[x.id] = row
        X = np.vstack([self._label_features[x.id] for x in labs])
        y = np.array([1 if x.label == "match" else 0 for x in labs])
        return X, y

    def snapshot_records(self, left: dict, right: dict) -> tuple[dict, dict]:
        """Prepared (standardized) versions of two raw record snapshots."""
        lp = prepare_records(pd.DataFrame([left]).assign(__key__=[0]), "__key__", self.fields)
        rp = prepare_records(pd.DataFrame([right]).assign(__key__=[0]), "__key__",
                             self.fields if self.symmetric else self.right_fields)
        cols = self.featurizer.names
        return lp[cols].iloc[0].to_dict(), rp[cols].iloc[0].to_dict()

    def _snapshot_features(self, lefts: list[dict], rights: list[dict]) -> np.ndarray:
        left = prepare_records(pd.DataFrame(lefts).assign(__key__=range(len(lefts))), "__key__", self.fields)
        right = prepare_records(pd.DataFrame(rights).assign(__key__=range(len(rights))), "__key__",
                                self.fields if self.symmetric else self.right_fields)
        cols = self.featurizer.names
        return self.featurizer(left[cols].to_dict("records"), right[cols].to_dict("records"))

    def _refit(self) -> None:
        X, y = self._labeled_features()
        if not self.learner.fit(X, y):  # fits self.classifier, shared with the learner
            self.classifier.reset()

    def refresh(self) -> None:
        """Retrain from the labels in the store (after importing labels, or another analyst's)."""
        self._refit()

    # -- the labeling protocol ----------------------------------------------------------
    @property
    def progress(self) -> Progress:
        c = self.labels.counts()
        return Progress(c["match"], c["distinct"], c["unsure"], conflict=c["conflict"])

    def next_pair(self, *, analyst: str | None = None) -> Pair | None:
        """The pair whose label teaches the model most; None when the pool is exhausted.

        The pair is leased to ``analyst`` (default: the workspace's user) in the
        store, so other analysts' sessions, in this process or another, skip it,
        as they skip pairs anyone has labeled.
        """
        who = analyst or self.ws.user
        if self._current is not None:
            if self._claim(self._current, who):
                return self._pair_at(self._current)
            self._current = None  # our lease ran out and another analyst has the pair now
        self._sync_available(who)
        p = self.progress
        while (i := self.learner.next_index(p.match, p.distinct)) is not None:
            if self._claim(i, who):
                self._current = i
                return self._pair_at(i)
            self.learner.take(i)  # another analyst leased it a moment ago
        return None

    def _claim(self, i: int, analyst: str) -> bool:
        return self.labels.lease(self.pool.at[i, "left_key"], self.pool.at[i, "right_key"], analyst)

    def _sync_available(self, analyst: str) -> None:
        """Pool pairs are available unless labeled by anyone or leased to another analyst (read from the store)."""
        index = self._pair_index()
        available = np.ones(len(self.pool), dtype=bool)
        for a, b in self.labels.unavailable(analyst):
            for key in ((a, b), (b, a)):
                if key in index:
                    available[index[key]] = False
        self.learner.available[:] = available

    def mark(self, pair: Pair, label: str, *, analyst: str | None = None) -> Progress:
        """Store the analyst's label at once, then retrain (milliseconds).

        ``analyst`` (default: the workspace's user) is stored with the label.
        When another analyst labeled the pair differently, both labels are kept
        and the pair is in conflict (``labels.conflicts()``) until a steward resolves it.
        """
        left = record_by_key(self.left_raw, pair.left_id)
        right = record_by_key(self.right_raw, pair.right_id)
        stored = self.labels.add(pair.left_id, pair.right_id, label, left, right, analyst=analyst)
        i = self._pair_index().get((pair.left_id, pair.right_id))
        if i is not None:
            self._label_features[stored.id] = self.pool_X[i]  # no need to standardize the pair again
            self.learner.take(i)
            self._history.append(i)
        if i == self._current or i is None:
            self._current = None
        self._refit()
        return self.progress

    def undo(self, *, analyst: str | None = None) -> Pair | None:
        """Take back the analyst's own last label (never another's); its pair becomes the next pair again."""
        lab = self.labels.undo_last(analyst)
        if lab is None:
            return None
        i = self._pair_index().get((lab.left_key, lab.right_key))
        if i is not None:
            self.learner.give_back(i)
            self._current = i
        self._refit()
        return self._pair_at(i) if i is not None else None

    def _pair_at(self, i: int) -> Pair:
        lk, rk = self.pool.at[i, "left_key"], self.pool.at[i, "right_key"]
        score = float(self.learner.scores[i]) if self.learner.scores is not None else None
        cols = self.featurizer.names
        return Pair(lk, rk, record_by_key(self.left_raw, lk), record_by_key(self.right_raw, rk), score,
                    clean(self.left_prep.loc[lk, cols].to_dict()), clean(self.right_prep.loc[rk, cols].to_dict()),
                    self.pool.at[i, "origin"])

    # -- the model ---------------------------------------------------------------
    def _require_model(self) -> None:
        p = self.progress
        if not p.enough:
            raise WorkbenchError(f"not enough labels to train: {p}")

    def threshold_curve(self) -> pd.DataFrame:
        """Cross-validated precision and recall against the threshold, from the labels.

        Labels come from active learning, which favours hard pairs, so these
        figures are pessimistic about easy pairs; they rank thresholds well.
        """
        X, y = self._labeled_features()
        scores = cross_validated_scores(X, y, self.classifier)
        if scores is None:
            raise WorkbenchError(f"not enough labels to estimate precision and recall: {self.progress}")
        return threshold_curve(scores, y)

    def suggested_threshold(self) -> float:
        try:
            return suggest_threshold(self.threshold_curve())
        except WorkbenchError:
            return 0.5

    def explain(self, left_id: str, right_id: str) -> pd.DataFrame:
        """Per field: both standardized values, similarity and contribution to the score (log-odds)."""
        self._require_model()
        return explain_pair(self.featurizer, self.classifier, self.fields, self.right_fields,
                            record_by_key(self.left_raw, left_id), record_by_key(self.right_raw, right_id))

    def model(self, threshold: float | None = None) -> MatchModel:
        """The trained model as it stands: fields, featurizer, a copy of the classifier, the threshold
        (default: suggested from the labels). Its blocking rules are learned when it first clusters or links."""
        self._require_model()
        threshold = self.suggested_threshold() if threshold is None else float(threshold)
        clf = self.classifier.clone()
        clf.coef_ = None if self.classifier.coef_ is None else self.classifier.coef_.copy()
        clf.intercept_ = self.classifier.intercept_
        return MatchModel(self.fields, self.right_fields, clf, threshold, task=self.task,
                          mode="dedupe" if self.right_ds is self.left_ds else "link",
                          labels_sha256=labels_sha256(self.labels.active()))
