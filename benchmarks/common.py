"""Shared helpers for benchmark scripts: timing, memory, pairwise metrics, scripted labelers."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterable
from itertools import combinations

import pandas as pd


def peak_rss_mb() -> dict[str, float]:
    """Peak resident memory of this process and of its (finished) children, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"self_mb": round(own), "children_mb": round(children)}


class Timer:
    def __init__(self) -> None:
        self.stages: dict[str, float] = {}

    def __call__(self, stage: str):
        timer = self

        class _Ctx:
            def __enter__(self):
                self.t = time.perf_counter()

            def __exit__(self, *exc):
                timer.stages[stage] = round(time.perf_counter() - self.t, 2)

        return _Ctx()


def pairs_of(groups: Iterable[Iterable[str]]) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for g in groups:
        for a, b in combinations(sorted(g), 2):
            out.add((a, b))
    return out


def cluster_metrics(clusters: pd.DataFrame, entity: pd.Series) -> dict[str, float]:
    """Pairwise precision/recall/F1 of clusters (key, cluster_id) against entity ids (indexed by key)."""
    pred = pairs_of(clusters.groupby("cluster_id")["key"].apply(list))
    ent = entity.reindex(clusters["key"])
    true = pairs_of(ent.groupby(ent).apply(lambda g: list(g.index)))
    tp = len(pred & true)
    p = tp / len(pred) if pred else 1.0
    r = tp / len(true) if true else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4),
            "true_pairs": len(true), "predicted_pairs": len(pred), "bcubed_f1": bcubed_f1(clusters, entity)}


def bcubed_f1(clusters: pd.DataFrame, entity: pd.Series) -> float:
    """B-cubed F1: per record, the share of its cluster that is its entity (precision) and of its entity
    that is its cluster (recall), averaged over records.

    Pairwise figures count pairs, so an entity of a thousand records weighs half a million times one
    of two: one record split off it costs a thousand pairs. B-cubed weighs each record once. A record
    without an entity in the truth is an entity of its own.
    """
    keys = clusters["key"].astype(str)
    ent = entity.reindex(keys.to_numpy())
    frame = pd.DataFrame({"c": clusters["cluster_id"].astype(str).to_numpy(),
                          "e": ent.astype(str).where(ent.notna(), "key:" + keys.to_numpy()).to_numpy()})
    both = frame.groupby(["c", "e"])["c"].transform("size")
    in_cluster = frame.groupby("c")["c"].transform("size")
    in_entity = frame.groupby("e")["e"].transform("size")
    p = float((both / in_cluster).mean()) if len(frame) else 1.0
    r = float((both / in_entity).mean()) if len(frame) else 1.0
    return round(2 * p * r / (p + r), 4) if p + r else 0.0


def scripted_labeling(session, same: Callable[[str, str], bool], budget: int) -> list[float]:
    """Answer ``budget`` pairs from ground truth; returns seconds per (mark + next pair)."""
    times = []
    pair = session.next_pair()
    for _ in range(budget):
        if pair is None:
            break
        t = time.perf_counter()
        session.mark(pair, "match" if same(pair.left_id, pair.right_id) else "distinct")
        pair = session.next_pair()
        times.append(time.perf_counter() - t)
    return times


def cluster_from_truth(customers: pd.DataFrame, truth: pd.DataFrame, folder, labels: int):
    """Generated ``customers`` (keyed ``customer_id``) in a new workspace under ``folder``, ``labels`` pairs
    labeled from ``truth`` (customer_id -> entity_id) and clustered once (learning blocking):
    (workspace, deduper, clustering, seconds, entity by key)."""
    from pathlib import Path

    from workbench import Workspace

    path = Path(folder) / "customers.parquet"
    customers.to_parquet(path, index=False)
    entity = truth.set_index("customer_id")["entity_id"]
    ws = Workspace(Path(folder) / "ws", user="bench")
    dd = ws.deduper(ws.load(path, key="customer_id"))
    scripted_labeling(dd, lambda a, b: entity[a] == entity[b], labels)
    t = time.perf_counter()
    first = dd.cluster(progress=False)
    return ws, dd, first, time.perf_counter() - t, entity
