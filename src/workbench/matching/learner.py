"""Active learning over a bounded pool of candidate pairs.

The protocol is two methods, as in dedupe (``uncertain_pairs``/``mark_pairs``):
``next_index()`` picks the pair whose label would teach the model most, and
``fit()`` retrains on the labels. The pool's features are computed once, so
each next pair costs one small logistic regression and one matrix product
(milliseconds), and the analyst never waits.
"""

from __future__ import annotations

import numpy as np

from workbench.matching.model import PairClassifier, can_fit


class ActiveLearner:
    """Uncertainty sampling on a pool of pairs with precomputed features ``X``."""

    def __init__(self, X: np.ndarray, classifier: PairClassifier, *, seed: int = 0, min_per_class: int = 3):
        self.X = X
        self.min_per_class = min_per_class
        self.rng = np.random.default_rng(seed)
        self.available = np.ones(len(X), dtype=bool)
        self.classifier = classifier
        self.scores: np.ndarray | None = None
        # Before any model: the classifier's expert prior ranks pairs (log-odds up to a constant).
        prior = classifier.prior if classifier.prior is not None else np.r_[-np.ones(X.shape[1] // 2),
                                                                             np.zeros(X.shape[1] - X.shape[1] // 2)]
        self.prior = np.nan_to_num(X) @ prior if len(X) else np.empty(0)
        self._picks = 0

    def take(self, index: int) -> None:
        self.available[index] = False

    def give_back(self, index: int) -> None:
        self.available[index] = True

    def fit(self, X_labeled: np.ndarray, y: np.ndarray) -> bool:
        """Retrain on labeled features (1 match, 0 distinct); False while one class is missing."""
        if not can_fit(y):
            self.scores = None
            return False
        self.classifier.fit(X_labeled, y)
        self.scores = self.classifier.predict(self.X) if len(self.X) else np.empty(0)
        return True

    def next_index(self, n_match: int, n_distinct: int) -> int | None:
        """The most informative available pair, or None when the pool is exhausted."""
        idx = np.flatnonzero(self.available)
        if not len(idx):
            return None
        self._picks += 1
        if self.scores is None:
            prior = self.prior[idx]
            if n_match == 0:
                # Start with the likeliest match, so both classes appear quickly.
                return int(idx[np.argmax(prior)])
            if n_distinct == 0:
                # Then a clear non-match.
                return int(idx[np.argmin(prior)])
            # Then from the middle of the prior: likely a look-alike.
            order = idx[np.argsort(prior)]
            return int(order[len(order) // 2])
        s = self.scores[idx]
        # One class still short of what a model needs (on data where nearly every
        # look-alike is a duplicate, uncertainty sampling keeps asking about
        # matches): ask about the most doubtful pair on the short side.
        if n_distinct < self.min_per_class <= n_match and (s < 0.5).any():
            side = np.flatnonzero(s < 0.5)
            return int(idx[side[np.argmax(s[side])]])
        if n_match < self.min_per_class <= n_distinct and (s >= 0.5).any():
            side = np.flatnonzero(s >= 0.5)
            return int(idx[side[np.argmin(s[side])]])
        if self._picks % 5 == 0:
            # Now and then look among confident matches near the boundary: catches
            # a model that is confidently wrong about a kind of pair.
            band = idx[(s > 0.6) & (s < 0.95)]
            if len(band):
                return int(self.rng.choice(band))
        uncertainty = np.abs(s - 0.5)
        top = idx[np.argsort(uncertainty)[:3]]
        return int(self.rng.choice(top))
