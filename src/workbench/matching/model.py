"""Features and the pairwise classifier.

Features are dedupe's: its ``DataModel`` turns a pair of records into one
distance per field plus "is missing" indicators. The classifier is a
logistic regression over them (what dedupe itself trains), centred on a
prior (expert or estimated from the data) so a few dozen labels are enough.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from dedupe.datamodel import DataModel
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.model_selection import StratifiedKFold

from workbench.matching import vectorized
from workbench.matching.fields import MatchField
from workbench.matching.kinds import KINDS

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
        #: Block-key predicates of the kinds whose dedupe type has none (sets, dates, organization words).
        self.extra_predicates = [p for f in self.fields for p in KINDS[f.kind].predicates(f.name)]
        self.n_features = 2 * len(self.names)
        self.feature_names = self.names + [f"{n} present" for n in self.names]
        # Term frequency of the full name (Splink's term-frequency adjustment): two
        # records agreeing on "John Smith" say less than two agreeing on "Aklbert Hernandez".
        self.name_pair = ((self.names.index("first_name"), self.names.index("last_name"))
                          if {"first_name", "last_name"} <= set(self.names) else None)
        self.name_freq: pd.Series | None = None
        self.min_freq = 1e-6
        if self.name_pair is not None:
            self.n_features += 2
            self.feature_names += ["name commonness", "name commonness present"]
        self._index = {name: i for i, name in enumerate(self.feature_names)}

    def column(self, feature: str) -> int | None:
        """Position of a feature by its name in ``feature_names`` ("email", "email present",
        "name commonness"), None when this layout has no such feature."""
        return self._index.get(feature)

    def set_name_frequencies(self, prepared: pd.DataFrame) -> None:
        """Relative frequency of each standardized full name in ``prepared`` (the data being matched)."""
        if self.name_pair is None or prepared.empty:
            return
        both = prepared["first_name"].notna() & prepared["last_name"].notna()
        keys = prepared.loc[both, "first_name"].astype(str) + " " + prepared.loc[both, "last_name"].astype(str)
        self.name_freq = keys.value_counts() / max(len(prepared), 1)
        self.min_freq = 1.0 / max(len(prepared), 1)

    def __call__(self, left: Sequence[dict], right: Sequence[dict]) -> np.ndarray:
        """Features for pairs of prepared records (dicts keyed by field name)."""
        if not len(left):
            return np.empty((0, self.n_features), dtype="f4")
        lcols = [np.array([r[n] for r in left], dtype=object) for n in self.names]
        rcols = [np.array([r[n] for r in right], dtype=object) for n in self.names]
        return self.columns(lcols, rcols)

    def columns(self, left_cols: Sequence[np.ndarray], right_cols: Sequence[np.ndarray]) -> np.ndarray:
        """Features for pairs given as one object array per field on each side (the fast path)."""
        X = vectorized.distances(self.kinds, left_cols, right_cols, self._scalar)
        if self.name_pair is None:
            return X
        i, j = self.name_pair
        _allow_swapped_names(X, i, j, left_cols, right_cols)
        return np.hstack([X, self._commonness(X, left_cols[i], left_cols[j])])

    def _commonness(self, X: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        """Where both names agree: how common the name is, 0 (one in a million) to 1 (everyone's)."""
        out = np.zeros((len(X), 2), dtype="f4")
        i, j = self.name_pair
        k = len(self.names)
        idx = np.flatnonzero((X[:, i] == 0) & (X[:, j] == 0) & (X[:, k + i] == 1) & (X[:, k + j] == 1))
        if not len(idx):
            return out
        keys = pd.Series(first[idx], dtype=object).astype(str) + " " + pd.Series(last[idx], dtype=object).astype(str)
        freq = keys.map(self.name_freq).to_numpy(dtype=float) if self.name_freq is not None else np.full(len(idx), np.nan)
        freq = np.where(np.isnan(freq), self.min_freq, freq)
        out[idx, 0] = np.clip((np.log10(freq) + 6.0) / 6.0, 0.0, 1.0)
        out[idx, 1] = 1.0
        return out

    def frame_pairs(self, prepared_left: pd.DataFrame, prepared_right: pd.DataFrame,
                    left_keys: Sequence[str], right_keys: Sequence[str]) -> np.ndarray:
        """Features for pairs named by keys into two prepared frames."""
        lp = prepared_left.loc[list(left_keys), self.names]
        rp = prepared_right.loc[list(right_keys), self.names]
        return self.columns([_obj(lp[n]) for n in self.names], [_obj(rp[n]) for n in self.names])


def _allow_swapped_names(X: np.ndarray, i: int, j: int, left: Sequence[np.ndarray],
                         right: Sequence[np.ndarray]) -> None:
    """Compare first with last name across the pair where that agrees better (names entered swapped).

    "Johnson Sarah" and "Sarah Johnson" are one person with a data-entry slip;
    compared straight they look like two different given names.
    """
    n = len(left[i])
    present = X[:, len(X[0]) // 2 + i].astype(bool) & X[:, len(X[0]) // 2 + j].astype(bool) if n else np.zeros(0, bool)
    idx = np.flatnonzero(present & (X[:, i] >= 0.7))
    if not len(idx):
        return
    first = vectorized.names(left[i][idx], right[j][idx])
    last = vectorized.names(left[j][idx], right[i][idx])
    better = first + last < X[idx, i] + X[idx, j]
    X[idx[better], i] = first[better]
    X[idx[better], j] = last[better]


def _obj(s: pd.Series) -> np.ndarray:
    out = s.to_numpy(dtype=object)
    out[pd.isna(out)] = None
    return out


#: Expert prior per match field, in log-odds: (agreement weight, disagreement weight).
#: A Fellegi-Sunter view of customer data: an agreeing first name or email is
#: strong evidence, an agreeing address or surname weak (households share
#: them), a disagreeing date of birth or name suffix (twins aside, father and
#: son) nearly rules a match out, and people change email, phone and address.
PRIOR_BY_NAME: dict[str, tuple[float, float]] = {
    "first_name": (3.0, 5.0), "last_name": (1.5, 2.0), "full_name": (3.0, 4.0),
    "email": (4.0, 1.0), "phone": (2.5, 1.0), "dob": (2.5, 5.0),
    "street": (1.0, 0.5), "city": (0.3, 0.3), "postcode": (0.5, 0.5), "state": (0.2, 0.5),
    "name_set": (1.0, 1.5), "name_suffix": (0.5, 4.0),
}


#: Name commonness: each tenfold more common name is worth ln(10) less (a
#: Fellegi-Sunter u probability); zero at one in a thousand, a typical name.
PRIOR_COMMONNESS = (-6 * np.log(10), 3 * np.log(10))


def prior_weights(featurizer: Featurizer,
                  estimated: dict[str, tuple[float, float]] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The prior on the coefficients: (mean, variance), in the feature layout (distances,
    "both present" flags, name commonness).

    A present field at distance d contributes ``present_w + d * distance_w``: the
    agreement weight at d = 0, minus the disagreement weight at d = 1.

    In records of people (a first or last name field), fields with an expert
    prior keep it: what twins and households teach (a shared street or
    surname is weak evidence, a different birth date nearly rules a match
    out) is not in agreement rates. Every other field, and every field of
    other records (organizations, sites, anything), takes the weights
    ``estimated`` from the data itself (``priors.estimate``), else its kind's.
    On the restaurants the household-minded street and phone priors cost 10
    points of F1 against the estimated ones; on the sample customers the
    estimated ones cost 7 against the expert priors.

    The variance says how sure the prior is: 1 where it has one opinion, and
    1 + gap² where the expert's and the data's disagree by ``gap``, so the
    labels settle what the two opinions do not. A surname is weak evidence
    among customers who marry and share households (expert: agreement 1.5,
    disagreement 2), while among the PatentsView inventors the data says a
    different surname all but rules a match out (estimated: 4.4 and 6). Held
    tight on the expert's view, the labels could not move it, and namesakes
    at one employer ("Hiroaki Yamada" and "Hiroki Yamashita" at Toshiba
    Memory) scored 0.998.
    """
    people = bool({"first_name", "last_name"} & {f.name for f in featurizer.fields})
    mean, var = np.zeros(featurizer.n_features), np.ones(featurizer.n_features)
    for f in featurizer.fields:
        i, p = featurizer.column(f.name), featurizer.column(f"{f.name} present")
        data = (estimated or {}).get(f.name)
        expert = PRIOR_BY_NAME.get(f.name)
        if people and expert:
            centre, other = expert, data
        elif people:
            centre, other = data or KINDS[f.kind].prior, None
        else:
            centre, other = data or expert or KINDS[f.kind].prior, None
        agree, disagree = centre
        mean[i], mean[p] = -(agree + disagree), agree
        if other is not None:
            var[i] = 1.0 + ((agree + disagree) - sum(other)) ** 2
            var[p] = 1.0 + (agree - other[0]) ** 2
    if featurizer.name_pair is not None:
        mean[featurizer.column("name commonness")] = PRIOR_COMMONNESS[0]
        mean[featurizer.column("name commonness present")] = PRIOR_COMMONNESS[1]
    return mean, var


class PairClassifier:
    """Logistic regression on pair features, shrunk towards an expert prior.

    Maximum a posteriori with a Gaussian prior centred on ``prior`` instead of
    on zero (plain L2): with a few dozen labels, most of them hard look-alikes
    chosen by active learning, a zero-centred model learns whatever those few
    pairs happen to show (an email match worth little, a date-of-birth
    mismatch not seen at all); centred on domain knowledge it keeps what the
    labels do not contradict and moves where they do. With many labels the
    data dominates. ``prior_variance`` (default 1 everywhere) loosens the
    prior per coefficient where it is unsure (``prior_weights``).

    Each label counts once. Classes are not re-weighted to balance: active
    learning asks about pairs near the boundary, so the share of matches
    among the labels says where the boundary sits, not that matches are
    under-represented. Balanced, the few matches of a labeling session
    weighed several times each and pulled the intercept (the one coefficient
    without a prior) up until a shared given name was enough: on the
    PatentsView inventors, 8 matches among 50 labels put "Mark Horowitz" and
    "Mark Vreeke" in one cluster (F1 0.974). Unweighted, the real sets gain
    (patents, 5 labeler seeds: median 0.990 -> 0.992, worst seed 0.974 ->
    0.989; restaurants median 0.996 -> 1.0), and so do the business
    customers (0.968 -> 0.970). The price is paid where a session holds only
    6-8 matches among 30 labels and recall is what they buy: Febrl 1
    1.000 -> 0.998, Febrl 4 median 0.9991 -> 0.9973 (worst 0.997 both).
    """

    def __init__(self, prior: np.ndarray | None = None, C: float = 1.0, prior_variance: np.ndarray | None = None):
        self.prior = None if prior is None else np.asarray(prior, dtype=float)
        self.prior_variance = None if prior_variance is None else np.asarray(prior_variance, dtype=float)
        self.C = C
        self.coef_: np.ndarray | None = None
        self.intercept_: float = 0.0

    def fit(self, X: np.ndarray, y: np.ndarray) -> PairClassifier:
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        prior = np.zeros(X.shape[1]) if self.prior is None else self.prior
        precision = 1.0 if self.prior_variance is None else 1.0 / self.prior_variance
        weight = np.full(len(y), float(self.C))
        sign = 2 * y - 1

        def loss(theta):
            w, b = theta[:-1], theta[-1]
            z = sign * (X @ w + b)
            p = expit(-z)
            diff = w - prior
            pull = precision * diff
            value = float(weight @ np.logaddexp(0.0, -z) + 0.5 * diff @ pull + 0.5e-4 * b * b)
            g = -(weight * sign * p)
            return value, np.append(X.T @ g + pull, g.sum() + 1e-4 * b)

        theta0 = np.append(prior, 0.0)
        res = minimize(loss, theta0, jac=True, method="L-BFGS-B", options={"maxiter": 500})
        self.coef_, self.intercept_ = res.x[:-1], float(res.x[-1])
        return self

    @property
    def fitted(self) -> bool:
        return self.coef_ is not None

    def reset(self) -> None:
        self.coef_ = None

    def decision(self, X: np.ndarray) -> np.ndarray:
        if self.coef_ is None:
            raise RuntimeError("classifier not fitted")
        return np.asarray(X, dtype=float) @ self.coef_ + self.intercept_

    def predict(self, X: np.ndarray) -> np.ndarray:
        if len(X) == 0:
            return np.empty(0)
        return expit(self.decision(X))

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """Per-feature contribution to the log-odds of one pair."""
        assert self.coef_ is not None
        return self.coef_ * x

    def clone(self) -> PairClassifier:
        return PairClassifier(self.prior, self.C, self.prior_variance)


def can_fit(y: np.ndarray) -> bool:
    return int((y == 1).sum()) >= 1 and int((y == 0).sum()) >= 1


def cross_validated_scores(X: np.ndarray, y: np.ndarray, classifier: PairClassifier | None = None,
                           seed: int = 0) -> np.ndarray | None:
    """Out-of-fold match probabilities for labeled pairs (None when too few labels)."""
    n_min = min(int((y == 1).sum()), int((y == 0).sum()))
    if n_min < MIN_PER_CLASS:
        return None
    template = classifier or PairClassifier()
    cv = StratifiedKFold(n_splits=min(5, n_min), shuffle=True, random_state=seed)
    out = np.empty(len(y))
    for train, test in cv.split(X, y):
        out[test] = template.clone().fit(X[train], y[train]).predict(X[test])
    return out


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


def suggest_threshold(curve: pd.DataFrame, low: float = 0.35, high: float = 0.45, tolerance: float = 0.03) -> float:
    """The middle of the thresholds within [low, high] whose F1 is within ``tolerance`` of the best.

    The curve comes from a few dozen labels that active learning chose among
    the hardest pairs, so it ranks thresholds only roughly; the band keeps the
    choice where it held on every benchmark set:

    - ``high`` = 0.45, below one half: clustering merges two groups only when
      the average score over all their pairs clears the threshold, and a true
      cluster with one sparse record (a point-of-sale row with a name only)
      averages below its strongest pairs. At 0.5 the labels' curve kept
      pointing, and it cost recall on the sample customers (F1 0.965 and
      0.973 at 0.5, 0.973 and 0.974 at 0.4 over two labeler seeds), the
      business customers (0.964, 0.971) and the restaurants (0.996, 1.0).
    - ``low`` = 0.35: lower chains namesakes together; on the PatentsView
      inventors, with one labeler seed, F1 was 0.94 at 0.3, 0.97 at 0.35 and
      0.99 at 0.4.
    - ``tolerance`` = 0.03: with a few dozen labels, one labeled pair moves
      F1 by about that much, so thresholds closer than that to the best are
      equally good by the labels; the middle of them is the safest pick.
    """
    inside = curve[(curve["threshold"] >= low - 1e-9) & (curve["threshold"] <= high + 1e-9)]
    best = inside[inside["f1"] >= inside["f1"].max() - tolerance]
    return float(best["threshold"].iloc[len(best) // 2])
