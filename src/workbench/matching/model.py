"""Features and the pairwise classifier.

Features are dedupe's: its ``DataModel`` turns a pair of records into one
distance per field plus "is missing" indicators. The classifier is a
logistic regression over them (what dedupe itself trains), balanced because
analysts label more non-matches than matches.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from dedupe.datamodel import DataModel
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from workbench.matching import vectorized
from workbench.matching.fields import MatchField

MIN_PER_CLASS = 2


class Featurizer:
    """Turns record pairs into features: a distance per field plus a "both present" flag per field.

    The layout and comparator semantics follow dedupe's ``DataModel`` (whose
    variables also supply the blocking predicates); the distances are
    computed vectorized (``vectorized.py``), tens of times faster.
    """

    def __init__(self, fields: Sequence[MatchField]):
        self.fields = list(fields)
        variables = [f.variable() for f in self.fields]
        self.data_model = DataModel(variables)
        self.names = [f.name for f in self.fields]
        self.kinds = [f.kind for f in self.fields]
        self._scalar = [v.comparator for v in variables]
        self.n_features = 2 * len(self.names)
        self.feature_names = self.names + [f"{n} present" for n in self.names]

    def __call__(self, left: Sequence[dict], right: Sequence[dict]) -> np.ndarray:
        """Features for pairs of prepared records (dicts keyed by field name)."""
        if not len(left):
            return np.empty((0, self.n_features), dtype="f4")
        lcols = [np.array([r[n] for r in left], dtype=object) for n in self.names]
        rcols = [np.array([r[n] for r in right], dtype=object) for n in self.names]
        return vectorized.distances(self.kinds, lcols, rcols, self._scalar)

    def columns(self, left_cols: Sequence[np.ndarray], right_cols: Sequence[np.ndarray]) -> np.ndarray:
        """Features for pairs given as one object array per field on each side (the fast path)."""
        return vectorized.distances(self.kinds, left_cols, right_cols, self._scalar)

    def frame_pairs(self, prepared_left: pd.DataFrame, prepared_right: pd.DataFrame,
                    left_keys: Sequence[str], right_keys: Sequence[str]) -> np.ndarray:
        """Features for pairs named by keys into two prepared frames."""
        lp = prepared_left.loc[list(left_keys), self.names]
        rp = prepared_right.loc[list(right_keys), self.names]
        return self.columns([_obj(lp[n]) for n in self.names], [_obj(rp[n]) for n in self.names])


def _obj(s: pd.Series) -> np.ndarray:
    out = s.to_numpy(dtype=object)
    out[pd.isna(out)] = None
    return out


class PairClassifier:
    """Logistic regression on pair features; ``predict`` gives match probabilities."""

    def __init__(self, C: float = 1.0):
        self.C = C
        self.model: LogisticRegression | None = None

    def fit(self, X: np.ndarray, y: np.ndarray) -> PairClassifier:
        # liblinear: milliseconds on a few hundred labels, where lbfgs takes ~100 ms.
        self.model = LogisticRegression(C=self.C, class_weight="balanced", solver="liblinear", max_iter=2000)
        self.model.fit(X, y)
        return self

    @property
    def fitted(self) -> bool:
        return self.model is not None

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("classifier not fitted")
        if len(X) == 0:
            return np.empty(0)
        return self.model.predict_proba(X)[:, 1]

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """Per-feature contribution to the log-odds of one pair."""
        assert self.model is not None
        return self.model.coef_[0] * x


def can_fit(y: np.ndarray) -> bool:
    return int((y == 1).sum()) >= 1 and int((y == 0).sum()) >= 1


def cross_validated_scores(X: np.ndarray, y: np.ndarray, C: float = 1.0, seed: int = 0) -> np.ndarray | None:
    """Out-of-fold match probabilities for labeled pairs (None when too few labels)."""
    n_min = min(int((y == 1).sum()), int((y == 0).sum()))
    if n_min < MIN_PER_CLASS:
        return None
    folds = min(5, n_min)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    clf = LogisticRegression(C=C, class_weight="balanced", solver="liblinear", max_iter=2000)
    return cross_val_predict(clf, X, y, cv=cv, method="predict_proba")[:, 1]


def threshold_curve(scores: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """Precision, recall and F1 of "score >= threshold" against labels, per threshold."""
    rows = []
    for t in np.round(np.arange(0.05, 1.0, 0.05), 2):
        pred = scores >= t
        tp = int((pred & (y == 1)).sum())
        fp = int((pred & (y == 0)).sum())
        fn = int((~pred & (y == 1)).sum())
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append({"threshold": float(t), "precision": precision, "recall": recall, "f1": f1})
    return pd.DataFrame(rows)


def suggest_threshold(curve: pd.DataFrame, low: float = 0.4, high: float = 0.9) -> float:
    """The threshold with the best F1 within [low, high]; ties go to the middle of the best range.

    Labels from active learning are few and skewed towards hard pairs, so the
    curve is noisy at its ends; a very low threshold chains whole
    neighbourhoods into one cluster, so it is never suggested.
    """
    inside = curve[(curve["threshold"] >= low - 1e-9) & (curve["threshold"] <= high + 1e-9)]
    best = inside[inside["f1"] >= inside["f1"].max() - 0.01]
    return float(best["threshold"].iloc[len(best) // 2])
