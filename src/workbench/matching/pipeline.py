"""From a trained model to scored pairs over every record: the shared pipeline.

Deduplication and linking differ only in whether the right side is the left
side; both prepare all records, learn blocking, write keys, join, and score.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from workbench import artifacts
from workbench.errors import WorkbenchError
from workbench.matching import scale
from workbench.matching.blocking import (
    COST_SAMPLE,
    BlockingPlan,
    candidate_predicates,
    learn_blocking,
)
from workbench.matching.fields import prepare_records
from workbench.matching.labels import Label
from workbench.matching.prepared_store import write_prepared
from workbench.matching.trained import MatchModel


class BlockingRecallWarning(UserWarning):
    """The learned blocking rules lose a large share of the likely matches before scoring."""


#: Records standardized per chunk when preparing the full data.
PREPARE_CHUNK = 200_000


@dataclass
class ScoredRun:
    """Everything a finished scoring run produced."""

    folder: Path
    left_keys: np.ndarray
    right_keys: np.ndarray
    edges: pd.DataFrame
    #: The blocking learned or loaded for the run; None for an update (the pinned model's predicates).
    plan: BlockingPlan | None
    log: scale.StageLog
    threshold: float
    model: MatchModel


#: Learns blocking for a model over the prepared records (``learn_plan`` with a session bound).
PlanLearner = Callable[[MatchModel, pd.DataFrame, pd.DataFrame, Path, scale.StageLog], BlockingPlan]


def prepare_all(raw: pd.DataFrame, fields, progress: bool) -> pd.DataFrame:
    """Standardize every record in chunks (raw is keyed by record key)."""
    parts = []
    with scale._bar(len(raw), "standardize", progress) as bar:
        for start in range(0, len(raw), PREPARE_CHUNK):
            chunk = raw.iloc[start:start + PREPARE_CHUNK].reset_index()
            parts.append(prepare_records(chunk, "__key__", fields))
            bar.update(len(chunk))
    return pd.concat(parts) if parts else prepare_records(raw.iloc[:0].reset_index(), "__key__", fields)


def prepare_and_plan(model: MatchModel, left_raw: pd.DataFrame, right_raw: pd.DataFrame | None, folder: Path, *,
                     learn: PlanLearner | None = None, progress: bool = True
                     ) -> tuple[pd.DataFrame, pd.DataFrame, BlockingPlan, scale.StageLog]:
    """The stages both engines share before block keys: prepare every record, then the blocking plan.

    Returns the prepared left and right records (the same frame to deduplicate),
    the plan (the model's rules, or learned with ``learn`` and kept in the model) and the log.
    """
    log = scale.StageLog()
    dedupe_mode = right_raw is None

    t = time.perf_counter()
    left_all = prepare_all(left_raw, model.fields, progress)
    right_all = left_all if dedupe_mode else prepare_all(right_raw, model.right_fields, progress)
    if not model.has_name_frequencies:
        model.with_name_frequencies(right_all)  # the whole data's, not the working sample's
    log.time("standardize", t)

    t = time.perf_counter()
    if model.predicates:
        plan = BlockingPlan(list(model.predicates), 0, 0, 0.0)
    elif learn is None:
        raise WorkbenchError("the model has no blocking rules: save it from a finished run (its model.json), "
                             "or cluster from a labeling session")
    else:
        plan = learn(model, left_all, right_all, folder, log)
        if not plan.predicates:
            raise WorkbenchError("could not learn any blocking rule from the labels: label a few more matches")
        model.predicates = list(plan.predicates)
        log.figures["blocking_estimated_recall"] = round(plan.estimated_recall, 4)
        log.figures["blocking_likely_matches"] = plan.positives
        if plan.warning():
            log.figures["blocking_warning"] = plan.warning()
            warnings.warn(plan.warning(), BlockingRecallWarning, stacklevel=5)
    log.time("learn blocking", t)
    log.figures["blocking"] = " | ".join(plan.describe())

    return left_all, right_all, plan, log


def run_scoring(model: MatchModel, left_raw: pd.DataFrame, right_raw: pd.DataFrame | None, folder: Path, *,
                labels: Sequence[Label] = (), learn: PlanLearner | None = None, progress: bool = True,
                workers: int | None = None) -> ScoredRun:
    """Score every candidate pair of the records (keyed raw frames; ``right_raw`` None to deduplicate) with ``model``.

    Blocking rules are the model's; a model without them (fresh from a labeling
    session) learns them with ``learn`` and keeps them. Name frequencies are
    the model's when it carries them (a loaded model), else the whole data's.
    ``labels`` beat the model (matches score 1, distinct pairs 0). Files go to ``folder``.
    """
    dedupe_mode = right_raw is None
    names = model.featurizer.names
    left_all, right_all, plan, log = prepare_and_plan(model, left_raw, right_raw, folder, learn=learn,
                                                      progress=progress)

    t = time.perf_counter()
    offset = len(left_all)
    scale.write_block_keys(left_all[names], plan.predicates, folder / "keys_left", progress=progress)
    if not dedupe_mode:
        scale.write_block_keys(right_all[names], plan.predicates, folder / "keys_right", offset=offset,
                               progress=progress)
    log.time("block keys", t)

    t = time.perf_counter()
    counts = scale.candidate_pairs(folder / "keys_left", None if dedupe_mode else folder / "keys_right",
                                   folder / artifacts.PAIRS)
    log.time("candidate pairs", t)
    log.figures.update(counts)

    t = time.perf_counter()
    threshold = model.threshold
    featurize, predict = model.featurizer.columns, model.predict
    left_cols = scale.to_columns(left_all, names)
    right_cols = left_cols if dedupe_mode else scale.to_columns(right_all, names)
    scored = scale.score_pairs(folder / artifacts.PAIRS, left_cols, right_cols, featurize, predict,
                               folder / artifacts.SCORES, min_score=min(0.5, threshold) / 2,
                               right_offset=0 if dedupe_mode else offset, workers=workers, progress=progress)
    log.time("score", t)
    log.figures.update(scored)
    edges = pd.read_parquet(folder / artifacts.SCORES)
    if dedupe_mode:
        t = time.perf_counter()
        n_before = len(edges)
        edges = scale.complete_components(
            edges, threshold, lambda li, ri: scale.score_positions(li, ri, left_cols, left_cols, featurize, predict))
        log.time("complete components", t)
        log.figures["component_pairs_added"] = len(edges) - n_before
        t = time.perf_counter()
        write_prepared(folder, left_all, names)  # what the next update pairs its new records with
        log.time("keep prepared", t)
    edges = _apply_labels(labels, edges, left_all.index.to_numpy(), right_all.index.to_numpy(), offset,
                          dedupe_mode)
    return ScoredRun(folder, left_all.index.to_numpy(), right_all.index.to_numpy(), edges, plan, log, threshold,
                     model)


def run_folder(parent: Path, run_id: int | None) -> Path:
    """A new folder for one run's files, named by its run id: no other run shares it or deletes it."""
    parent.mkdir(parents=True, exist_ok=True)
    if run_id is None:  # a caller without a registered run still gets a folder of its own
        return Path(tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=parent))
    folder = parent / f"run-{run_id}"
    try:
        folder.mkdir()
    except FileExistsError:
        raise WorkbenchError(f"{folder}: a folder for run {run_id} exists already (left from an earlier store "
                             "in this workspace folder?); move it away and retry") from None
    return folder


def learn_plan(session, model: MatchModel, left_all: pd.DataFrame, right_all: pd.DataFrame,
               folder: Path, log: scale.StageLog) -> BlockingPlan:
    """Blocking rules for ``model`` over all records, learned from the session's sample and labels."""
    dedupe_mode = left_all is right_all
    names = model.featurizer.names
    present = {n for n in names if left_all[n].notna().any()}
    predicates = candidate_predicates(model.featurizer.data_model, present, model.featurizer.extra_predicates)
    positives = _positive_pairs(session, model, predicates, folder, dedupe_mode, log)
    rng = np.random.default_rng(session.seed)
    n_left = len(left_all)
    left_sample = left_all.iloc[rng.permutation(n_left)[:COST_SAMPLE]][names]
    right_sample = None if dedupe_mode else right_all.iloc[rng.permutation(len(right_all))[:COST_SAMPLE]][names]
    budget = max(session.pairs_per_record * max(n_left, len(right_all)), MIN_PAIR_BUDGET)
    return learn_blocking(predicates, positives, left_sample, right_sample, n_left,
                          None if dedupe_mode else len(right_all), max_pairs=budget)


#: Candidate pairs blocking may always spend, whatever the size: scored in seconds. Small
#: data with large true clusters (an inventor's thousand patents) needs more than a
#: per-record budget gives; at a million records the per-record budget is the larger.
MIN_PAIR_BUDGET = 2_000_000
#: Records of the working sample probed for likely matches (every candidate predicate at once).
#: About 15 s of a million-record run (most of it scoring the probe's pairs). 5,000 halved
#: that, but at a million records it found 68 likely matches instead of 259, blocking then
#: took a 10-million-pair rule and F1 fell from 0.930 to 0.863. Taking whole groups of
#: records sharing a cheap key found 1,190, but blocking then took two more rules and the
#: run took twice as long for a lower F1 (0.922).
PROBE_RECORDS = 10_000
#: Likely matches kept to learn blocking from (a random share beyond that).
MAX_POSITIVES = 20_000


def _positive_pairs(session, model: MatchModel, predicates, folder: Path, dedupe_mode: bool,
                    log: scale.StageLog) -> list[tuple[dict, dict]]:
    """What blocking must keep together: labeled matches, and the likely matches of a sample.

    The likely matches are the pairs that any candidate predicate brings
    together in (a bounded part of) the working sample and that the model
    calls matches: not only those that look like the few labeled ones.
    """
    rng = np.random.default_rng(session.seed + 1)
    names = model.featurizer.names
    lp, rp = session.left_prep[names], session.right_prep[names]
    if len(lp) > PROBE_RECORDS:
        lp = lp.iloc[np.sort(rng.choice(len(lp), PROBE_RECORDS, replace=False))]
    if dedupe_mode:
        rp = lp
    elif len(rp) > PROBE_RECORDS:
        rp = rp.iloc[np.sort(rng.choice(len(rp), PROBE_RECORDS, replace=False))]
    probe = folder / "probe"
    scale.write_block_keys(lp, predicates, probe / "keys_left", progress=False)
    if not dedupe_mode:
        scale.write_block_keys(rp, predicates, probe / "keys_right", offset=len(lp), progress=False)
    counts = scale.candidate_pairs(probe / "keys_left", None if dedupe_mode else probe / "keys_right",
                                   probe / artifacts.PAIRS, max_block=_probe_block(len(lp), session), window=5)
    pairs = pd.read_parquet(probe / artifacts.PAIRS)
    li = pairs["l"].to_numpy()
    ri = pairs["r"].to_numpy() - (0 if dedupe_mode else len(lp))
    lcols, rcols = scale.to_columns(lp, names), scale.to_columns(rp, names)
    scores = scale.score_positions(li, ri, lcols, rcols, model.featurizer.columns, model.predict)
    likely = np.flatnonzero(scores >= 0.5)
    log.figures["probe_pairs"] = int(counts["pairs"])
    log.figures["probe_likely_matches"] = int(len(likely))
    if len(likely) > MAX_POSITIVES:
        likely = np.sort(rng.choice(likely, MAX_POSITIVES, replace=False))
    ldicts, rdicts = lp.to_dict("records"), rp.to_dict("records")
    out = [(ldicts[li[i]], rdicts[ri[i]]) for i in likely]
    for lab in session.labels.active():
        if lab.label == "match":
            out.append(session.snapshot_records(lab.left, lab.right))
    return [(_none(a), _none(b)) for a, b in out]


#: Blocks of the probe are paired in full up to this size, and up to what scales to scale.MAX_BLOCK
#: in the full data below it, never under PROBE_MIN_BLOCK (larger ones are windowed, as at full scale).
PROBE_MAX_BLOCK = 100
PROBE_MIN_BLOCK = 20


def _probe_block(probed: int, session) -> int:
    """Largest probe block paired in full: a block the full run only windows need not be either.

    At a million records a 10,000-record probe's block of 100 is a block of
    10,000 in the data, which the full run only windows: pairing it in full
    scored a million probe pairs for a few hundred likely matches.
    """
    n = max(len(session.left_raw), len(session.right_raw))
    return int(min(PROBE_MAX_BLOCK, max(PROBE_MIN_BLOCK, scale.MAX_BLOCK * probed / max(n, 1))))


def _none(d: dict) -> dict:
    return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in d.items()}


def _apply_labels(labels: Sequence[Label], edges: pd.DataFrame, left_keys: np.ndarray, right_keys: np.ndarray,
                  offset: int, dedupe_mode: bool) -> pd.DataFrame:
    """An analyst's label beats the model: matches score 1, distinct pairs 0."""
    lpos = {k: i for i, k in enumerate(left_keys)}
    rpos = lpos if dedupe_mode else {k: i + offset for i, k in enumerate(right_keys)}
    forced = {}
    for lab in labels:
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

