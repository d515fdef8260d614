"""The comparators of ``comparators.py``, computed for whole arrays of pairs at once.

dedupe's ``DataModel.distances`` calls a Python comparator per field per pair
(about 25,000 pairs a second here); scoring the ~17 million candidate pairs
of a million customers that way takes a quarter of an hour. Here string
distances come from rapidfuzz's ``cpdist`` (element-wise, in C) and the rest
from numpy/pandas array operations. The scalar functions stay the reference:
a property test checks both agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, Hamming, JaroWinkler, Levenshtein, Postfix, Prefix
from rapidfuzz.process import cpdist

from workbench.matching import comparators

#: Threads rapidfuzz may use; scoring worker processes set it to 1 (the
#: process pool is the parallelism there).
THREADS = -1


def _cp(a: np.ndarray, b: np.ndarray, scorer) -> np.ndarray:
    if not len(a):
        return np.empty(0)
    return np.asarray(cpdist(list(a), list(b), scorer=scorer, workers=THREADS), dtype="f8")


def _lengths(a: np.ndarray) -> np.ndarray:
    return pd.Series(a, dtype=object).str.len().to_numpy(dtype="i8")


def names(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lev = _cp(a, b, OSA.distance)
    jw = _cp(a, b, JaroWinkler.similarity)
    la, lb = _lengths(a), _lengths(b)
    shortest = np.minimum(la, lb)
    prefix = _cp(a, b, Prefix.similarity) >= shortest
    first_eq = pd.Series(a, dtype=object).str[:1].to_numpy() == pd.Series(b, dtype=object).str[:1].to_numpy()
    out = np.ones(len(a))
    out[(jw >= 0.85) | prefix] = 0.7
    out[(lev <= np.where(shortest <= 4, 1, 2)) & (np.abs(la - lb) <= 1)] = 0.25
    initial = (la == 1) | (lb == 1)
    out[initial] = np.where(first_eq[initial], 0.4, 1.0)
    out[a == b] = 0.0
    return out


def given_names(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = names(a, b)
    la, lb = _lengths(a), _lengths(b)
    shortest = np.minimum(la, lb)
    nested = (_cp(a, b, Prefix.similarity) >= shortest) | (_cp(a, b, Postfix.similarity) >= shortest)
    idx = np.flatnonzero(nested & (a != b))  # few pairs: the scalar rule on each
    if len(idx):
        out[idx] = [comparators.compare_given_names(x, y) for x, y in zip(a[idx], b[idx], strict=True)]
    return out


def emails(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    pa_ = pd.Series(a, dtype=object).str.partition("@")
    pb_ = pd.Series(b, dtype=object).str.partition("@")
    la, lb = pa_[0].to_numpy(), pb_[0].to_numpy()
    same_domain = pa_[2].to_numpy() == pb_[2].to_numpy()
    typo = same_domain & (_cp(la, lb, Levenshtein.distance) == 1)
    typo &= (pd.Series(la, dtype=object).str.replace(r"\d", "", regex=True).to_numpy()
             != pd.Series(lb, dtype=object).str.replace(r"\d", "", regex=True).to_numpy())
    out = np.where((la == lb) | typo, 0.3, 1.0)
    out[a == b] = 0.0
    return out


def strings(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _cp(a, b, Levenshtein.normalized_distance)


def addresses(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return 1.0 - _cp(a, b, fuzz.token_sort_ratio) / 100.0


def token_sets(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.fromiter((comparators.compare_token_sets(x, y) for x, y in zip(a, b, strict=True)), dtype="f8",
                       count=len(a))


def exact(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(a == b, 0.0, 1.0)


def dates(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sa, sb = pd.Series(a, dtype=object), pd.Series(b, dtype=object)
    both10 = (_lengths(a) == 10) & (_lengths(b) == 10)
    year = sa.str[:4].to_numpy() == sb.str[:4].to_numpy()
    swapped = year & (sa.str[5:7].to_numpy() == sb.str[8:10].to_numpy()) & (
        sa.str[8:10].to_numpy() == sb.str[5:7].to_numpy())
    one_digit = np.zeros(len(a), dtype=bool)
    if both10.any():
        one_digit[both10] = _cp(a[both10], b[both10], Hamming.distance) == 1
    out = np.ones(len(a))
    out[both10 & (swapped | one_digit)] = 0.25
    out[a == b] = 0.0
    return out


def by_kind() -> dict:
    """Vectorized comparator per kind (from the registry in ``kinds.py``)."""
    from workbench.matching.kinds import KINDS

    return {name: k.vectorized for name, k in KINDS.items() if k.vectorized is not None}


def distances(kinds: Sequence[str], left: Sequence[np.ndarray], right: Sequence[np.ndarray],
              scalar_fallback: Sequence = ()) -> np.ndarray:
    """Feature matrix like dedupe's: one distance per field (0 when missing), then one "both present" flag each."""
    n = len(left[0]) if len(left) else 0
    k = len(kinds)
    X = np.zeros((n, 2 * k), dtype="f4")
    fast = by_kind()
    for j, kind in enumerate(kinds):
        a = np.asarray(left[j], dtype=object)
        b = np.asarray(right[j], dtype=object)
        present = ~(pd.isna(a) | pd.isna(b))
        idx = np.flatnonzero(present)
        if len(idx):
            sa, sb = a[idx], b[idx]
            fn = fast.get(kind)
            if fn is None:
                compare = scalar_fallback[j]
                d = np.fromiter((compare(x, y) for x, y in zip(sa, sb, strict=True)), dtype="f8", count=len(sa))
            else:
                d = fn(sa, sb)
            X[idx, j] = np.clip(d, 0.0, 1.0)
        X[:, k + j] = present
    return X
