"""From a trained session to scored pairs over every record: the shared pipeline.

Deduplication and linking differ only in whether the right side is the left
side; both prepare all records, learn blocking, write keys, join, and score.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.matching import scale
from workbench.matching.blocking import BlockingPlan, candidate_predicates, learn_blocking
from workbench.matching.fields import prepare_records
from workbench.workspace import slug

#: Records standardized per chunk when preparing the full data.
PREPARE_CHUNK = 200_000
#: Candidate pairs allowed per record (sets the blocking budget).
PAIRS_PER_RECORD = 40


@dataclass
class ScoredRun:
    """Everything a finished scoring run produced."""

    folder: Path
    left_keys: np.ndarray
    right_keys: np.ndarray
    edges: pd.DataFrame
    plan: BlockingPlan
    log: scale.StageLog
    threshold: float


def prepare_all(raw: pd.DataFrame, fields, progress: bool) -> pd.DataFrame:
    """Standardize every record in chunks (raw is keyed by record key)."""
    parts = []
    with scale._bar(len(raw), "standardize", progress) as bar:
        for start in range(0, len(raw), PREPARE_CHUNK):
            chunk = raw.iloc[start:start + PREPARE_CHUNK].reset_index()
            parts.append(prepare_records(chunk, "__key__", fields))
            bar.update(len(chunk))
    return pd.concat(parts)


def run_scoring(session, threshold: float, *, progress: bool = True, workers: int | None = None) -> ScoredRun:
    """Score every candidate pair of the session's data with its trained model."""
    if not session.classifier.fitted:
        raise WorkbenchError(f"no model yet: label more pairs first ({session.progress})")
    log = scale.StageLog()
    dedupe_mode = session.right_ds is session.left_ds
    names = session.featurizer.names
    folder = session.ws.path / "matching" / slug(session.task) / time.strftime("%Y%m%d-%H%M%S")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)

    t = time.perf_counter()
    left_all = prepare_all(session.left_raw, session.fields, progress)
    right_all = left_all if dedupe_mode else prepare_all(session.right_raw, session.right_fields, progress)
    session.featurizer.set_name_frequencies(right_all)  # the whole data's, not the working sample's
    log.time("standardize", t)

    t = time.perf_counter()
    plan = _learn_plan(session, left_all, right_all, dedupe_mode)
    if not plan.predicates:
        raise WorkbenchError("could not learn any blocking rule from the labels: label a few more matches")
    log.time("learn blocking", t)
    log.figures["blocking"] = " | ".join(plan.describe())
    log.figures["blocking_recall_on_positives"] = round(plan.covered / max(plan.positives, 1), 4)

    t = time.perf_counter()
    offset = len(left_all)
    scale.write_block_keys(left_all[names], plan.predicates, folder / "keys_left", progress=progress)
    if not dedupe_mode:
        scale.write_block_keys(right_all[names], plan.predicates, folder / "keys_right", offset=offset,
                               progress=progress)
    log.time("block keys", t)

    t = time.perf_counter()
    counts = scale.candidate_pairs(folder / "keys_left", None if dedupe_mode else folder / "keys_right",
                                   folder / "pairs.parquet")
    log.time("candidate pairs", t)
    log.figures.update(counts)

    t = time.perf_counter()
    left_cols = scale.to_columns(left_all, names)
    right_cols = left_cols if dedupe_mode else scale.to_columns(right_all, names)
    scored = scale.score_pairs(folder / "pairs.parquet", left_cols, right_cols, session.featurizer.columns,
                               session.classifier.predict, folder / "scores.parquet",
                               min_score=min(0.5, threshold) / 2, right_offset=0 if dedupe_mode else offset,
                               workers=workers, progress=progress)
    log.time("score", t)
    log.figures.update(scored)
    edges = pd.read_parquet(folder / "scores.parquet")
    if dedupe_mode:
        t = time.perf_counter()
        n_before = len(edges)
        featurize = session.featurizer.columns
        predict = session.classifier.predict
        edges = scale.complete_components(
            edges, threshold, lambda li, ri: predict(featurize([c[li] for c in left_cols], [c[ri] for c in left_cols])))
        log.time("complete components", t)
        log.figures["component_pairs_added"] = len(edges) - n_before
    edges = _apply_labels(session, edges, left_all.index.to_numpy(), right_all.index.to_numpy(), offset,
                          dedupe_mode)
    return ScoredRun(folder, left_all.index.to_numpy(), right_all.index.to_numpy(), edges, plan, log, threshold)


def _learn_plan(session, left_all: pd.DataFrame, right_all: pd.DataFrame, dedupe_mode: bool) -> BlockingPlan:
    names = session.featurizer.names
    positives = _positive_pairs(session, names)
    present = {n for n in names if left_all[n].notna().any()}
    predicates = candidate_predicates(session.featurizer.data_model, present)
    rng = np.random.default_rng(session.seed)
    n_left = len(left_all)
    left_sample = left_all.iloc[rng.permutation(n_left)[:10_000]][names].to_dict("records")
    right_sample = None if dedupe_mode else right_all.iloc[
        rng.permutation(len(right_all))[:10_000]][names].to_dict("records")
    budget = PAIRS_PER_RECORD * max(n_left, len(right_all)) + 50_000
    return learn_blocking(predicates, positives, left_sample, right_sample, n_left,
                          None if dedupe_mode else len(right_all), max_pairs=budget)


def _positive_pairs(session, names) -> list[tuple[dict, dict]]:
    """Labeled matches plus pool pairs the model calls matches: what blocking must keep together."""
    pairs = []
    scores = session.classifier.predict(session.pool_X)
    pool = session.pool[scores >= 0.5]
    lp, rp = session.left_prep[names], session.right_prep[names]
    for lk, rk in zip(pool["left_key"], pool["right_key"], strict=True):
        pairs.append((lp.loc[lk].to_dict(), rp.loc[rk].to_dict()))
    for lab in session.labels.active():
        if lab.label == "match":
            x = session._snapshot_records(lab.left, lab.right)
            pairs.append(x)
    return [(_none(a), _none(b)) for a, b in pairs]


def _none(d: dict) -> dict:
    return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in d.items()}


def _apply_labels(session, edges: pd.DataFrame, left_keys: np.ndarray, right_keys: np.ndarray, offset: int,
                  dedupe_mode: bool) -> pd.DataFrame:
    """An analyst's label beats the model: matches score 1, distinct pairs 0."""
    lpos = {k: i for i, k in enumerate(left_keys)}
    rpos = lpos if dedupe_mode else {k: i + offset for i, k in enumerate(right_keys)}
    forced = {}
    for lab in session.labels.active():
        if lab.label == "unsure" or lab.left_key not in lpos or lab.right_key not in rpos:
            continue
        a, b = lpos[lab.left_key], rpos[lab.right_key]
        if dedupe_mode and a > b:
            a, b = b, a
        forced[(a, b)] = 1.0 if lab.label == "match" else 0.0
    if not forced:
        return edges
    edges = edges[[(a, b) not in forced for a, b in zip(edges["l"], edges["r"], strict=True)]]
    extra = pd.DataFrame({"l": [a for a, _ in forced], "r": [b for _, b in forced],
                          "score": np.asarray(list(forced.values()), dtype="f4")})
    return pd.concat([edges, extra], ignore_index=True)

