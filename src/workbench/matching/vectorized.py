"""The comparators of ``comparators.py``, computed for whole arrays of pairs at once.

dedupe's ``DataModel.distances`` calls a Python comparator per field per pair
(about 25,000 pairs a second here); scoring the ~17 million candidate pairs
of a million customers that way takes a quarter of an hour. rapidfuzz's
``cpdist`` computes element-wise string distances in C on all cores, so the
same features cost seconds. The scalar functions stay the reference: a test
checks both agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler, Levenshtein
from rapidfuzz.process import cpdist

from workbench.matching import comparators


#: Threads rapidfuzz may use. Worker processes forked for scoring set it to 1:
#: a thread pool inherited through fork deadlocks.
THREADS = -1


def _cp(a: list[str], b: list[str], scorer) -> np.ndarray:
    if not a:
        return np.empty(0)
    return np.asarray(cpdist(a, b, scorer=scorer, workers=THREADS), dtype="f8")


def names(a: list[str], b: list[str]) -> np.ndarray:
    lev = _cp(a, b, Levenshtein.distance)
    jw = _cp(a, b, JaroWinkler.similarity)
    la = np.fromiter((len(x) for x in a), dtype="i4", count=len(a))
    lb = np.fromiter((len(x) for x in b), dtype="i4", count=len(b))
    eq = np.fromiter((x == y for x, y in zip(a, b, strict=True)), dtype=bool, count=len(a))
    first_eq = np.fromiter((x[:1] == y[:1] for x, y in zip(a, b, strict=True)), dtype=bool, count=len(a))
    prefix = np.fromiter((x.startswith(y) or y.startswith(x) for x, y in zip(a, b, strict=True)), dtype=bool,
                         count=len(a))
    out = np.ones(len(a))
    out[(jw >= 0.85) | prefix] = 0.7
    typo = (lev <= np.where(np.minimum(la, lb) <= 4, 1, 2)) | (jw >= 0.92)
    out[typo] = 0.25
    initial = (la == 1) | (lb == 1)
    out[initial] = np.where(first_eq[initial], 0.4, 1.0)
    out[eq] = 0.0
    return out


def emails(a: list[str], b: list[str]) -> np.ndarray:
    la = [x.partition("@")[0] for x in a]
    lb = [x.partition("@")[0] for x in b]
    same_domain = np.fromiter((x.partition("@")[2] == y.partition("@")[2] for x, y in zip(a, b, strict=True)),
                              dtype=bool, count=len(a))
    out = 0.5 * _cp(la, lb, Levenshtein.normalized_distance) + np.where(same_domain, 0.0, 0.5)
    eq = np.fromiter((x == y for x, y in zip(a, b, strict=True)), dtype=bool, count=len(a))
    out[eq] = 0.0
    return out


def strings(a: list[str], b: list[str]) -> np.ndarray:
    return _cp(a, b, Levenshtein.normalized_distance)


def addresses(a: list[str], b: list[str]) -> np.ndarray:
    return 1.0 - _cp(a, b, fuzz.token_sort_ratio) / 100.0


def exact(a: list[str], b: list[str]) -> np.ndarray:
    return np.fromiter((0.0 if x == y else 1.0 for x, y in zip(a, b, strict=True)), dtype="f8", count=len(a))


def dates(a: list[str], b: list[str]) -> np.ndarray:
    return np.fromiter((comparators.compare_dates(x, y) for x, y in zip(a, b, strict=True)), dtype="f8",
                       count=len(a))


def token_sets(a: list[str], b: list[str]) -> np.ndarray:
    return np.fromiter((comparators.compare_token_sets(x, y) for x, y in zip(a, b, strict=True)), dtype="f8",
                       count=len(a))


BY_KIND = {
    "Name": names,
    "Email": emails,
    "String": strings,
    "ShortString": strings,
    "Address": addresses,
    "Exact": exact,
    "Date": dates,
    "TokenSet": token_sets,
}


def distances(kinds: Sequence[str], left: Sequence[np.ndarray], right: Sequence[np.ndarray],
              scalar_fallback: Sequence = ()) -> np.ndarray:
    """Feature matrix like dedupe's: one distance per field (0 when missing), then one "both present" flag each."""
    n = len(left[0]) if len(left) else 0
    k = len(kinds)
    X = np.zeros((n, 2 * k), dtype="f4")
    for j, kind in enumerate(kinds):
        a, b = left[j], right[j]
        present = np.fromiter((x is not None and y is not None for x, y in zip(a, b, strict=True)), dtype=bool,
                              count=n)
        idx = np.flatnonzero(present)
        if len(idx):
            sa = [str(a[i]) for i in idx]
            sb = [str(b[i]) for i in idx]
            fn = BY_KIND.get(kind)
            if fn is None:
                compare = scalar_fallback[j]
                d = np.fromiter((compare(x, y) for x, y in zip(sa, sb, strict=True)), dtype="f8", count=len(sa))
            else:
                d = fn(sa, sb)
            X[idx, j] = np.clip(d, 0.0, 1.0)
        X[:, k + j] = present
    return X
