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

from workbench.matching.fields import MatchField

MIN_PER_CLASS = 2


class Featurizer:
    """Turns record pairs into dedupe's distance features."""

    def __init__(self, fields: Sequence[MatchField]):
        self.fields = list(fields)
        self.data_model = DataModel([f.variable() for f in self.fields])
        self.names = [f.name for f in self.fields]
        self.n_features = len(self.data_model)
        flags = [f"{f.name} present" for f in self.fields]
        self.feature_names = self.names + flags[: self.n_features - len(self.names)]

    def __call__(self, left: Sequence[dict], right: Sequence[dict]) -> np.ndarray:
        """One distance per field (clipped to [0, 1]) and one "both present" flag per field.

        As in dedupe, a missing value gives distance 0 and the flag carries the
        information; the flags let the model learn that, say, a missing date
        of birth is weaker evidence than an agreeing one.
        """
        if not len(left):
            return np.empty((0, self.n_features), dtype="f4")
        raw = self.data_model.distances(list(zip(left, right, strict=True)))
        raw[:, : len(self.names)] = np.clip(raw[:, : len(self.names)], 0.0, 1.0)
        return raw.astype("f4")

    def frame_pairs(self, prepared_left: pd.DataFrame, prepared_right: pd.DataFrame,
                    left_keys: Sequence[str], right_keys: Sequence[str]) -> np.ndarray:
        """Features for pairs named by keys into two prepared frames."""
        cols = self.names
        left = prepared_left.loc[list(left_keys), cols].to_dict("records")
        right = prepared_right.loc[list(right_keys), cols].to_dict("records")
        return self(left, right)


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


def suggest_threshold(curve: pd.DataFrame) -> float:
    """The threshold with the best F1; ties go to the middle of the best range (robust to few labels)."""
    best = curve[curve["f1"] >= curve["f1"].max() - 1e-9]
    return float(best["threshold"].iloc[len(best) // 2])
