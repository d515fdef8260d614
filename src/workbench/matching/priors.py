"""Field weights estimated from the data itself, before any label (Fellegi–Sunter, as Splink does).

For each field, ``u`` is how often two random records agree on it (read off
random pairs) and ``m`` how often two records of one customer do (estimated
by expectation–maximization over the labeling pool, which mixes likely
duplicates and random pairs). The agreement weight is log(m/u), the
disagreement weight log((1-m)/(1-u)): a field every record shares (one
country) weighs nothing, a field that differs between duplicates as often as
between strangers (a signup date) weighs nothing, a rare value that
duplicates keep (a phone, a registration number) weighs a lot. The labels
then refine these weights (the classifier is centred on them).
"""

from __future__ import annotations

import numpy as np

#: A field "agrees" at this distance or closer (typo levels of names and dates included).
AGREE = 0.3
#: Bounds on the estimated weights, in log-odds: no one field decides alone.
MAX_WEIGHT = 6.0
ITERATIONS = 40


def estimate(X_pool: np.ndarray, random_rows: np.ndarray, n_fields: int) -> dict[int, tuple[float, float]]:
    """(agreement, disagreement) weights per field position, from pool features.

    ``X_pool`` has the featurizer's layout (distances, then "both present"
    flags); ``random_rows`` marks the pool's random pairs. Fields with too
    little data keep no estimate (their kind's prior applies).
    """
    if len(X_pool) < 20 or random_rows.sum() < 20:
        return {}
    dist, present = X_pool[:, :n_fields], X_pool[:, n_fields:2 * n_fields].astype(bool)
    agree = (dist <= AGREE) & present
    # u from random pairs, smoothed so a value never seen to agree is not certain evidence.
    rp = present[random_rows]
    u = (agree[random_rows].sum(axis=0) + 1.0) / (rp.sum(axis=0) + 2.0)
    m = np.full(n_fields, 0.9)
    lam = 0.1
    for _ in range(ITERATIONS):
        log_m = np.where(present, np.where(agree, np.log(m), np.log1p(-m)), 0.0).sum(axis=1)
        log_u = np.where(present, np.where(agree, np.log(u), np.log1p(-u)), 0.0).sum(axis=1)
        z = np.log(lam) + log_m - np.logaddexp(np.log(lam) + log_m, np.log1p(-lam) + log_u)
        p = np.exp(z)
        lam = float(np.clip(p.mean(), 1e-4, 0.9))
        weight = p[:, None] * present
        m = np.clip(((p[:, None] * agree).sum(axis=0) + 0.5) / (weight.sum(axis=0) + 1.0), 0.01, 0.999)
    out: dict[int, tuple[float, float]] = {}
    for j in range(n_fields):
        if present[:, j].sum() < 10:
            continue
        w_agree = float(np.clip(np.log(m[j] / u[j]), 0.0, MAX_WEIGHT))
        w_disagree = float(np.clip(-np.log((1 - m[j]) / (1 - u[j])), 0.0, MAX_WEIGHT))
        out[j] = (w_agree, w_disagree)
    return out
