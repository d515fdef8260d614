"""Incremental clustering against a full re-run: time, and how many records land in the same cluster.

A generated customer master of ``--rows`` records is labeled by a scripted
analyst (from the generator's truth) and clustered; ``--add`` more records of
the same generation (duplicates of known customers among them) are then
appended and matched with ``dd.update()``. The same pinned model then
clusters everything in full (``cluster_with_model``), and the two are
compared: the update's time as a share of the full run's (target: at most
5%), and the share of records whose cluster holds the same records in both
(target: at least 99.5%). Pairwise F1 against the truth is printed for both.
Dirty pages are written back (``os.sync``) before each timed run, so that
one run's, or a workspace copy's, writing does not land in another's time.
Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_incremental.py --rows 1000000 --add 10000
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from common import cluster_metrics, peak_rss_mb, scripted_labeling  # noqa: E402

from workbench import Workspace  # noqa: E402
from workbench.matching.clustering import cluster_with_model  # noqa: E402
from workbench.matching.trained import MatchModel  # noqa: E402


def same_cluster_share(a: pd.Series, b: pd.Series) -> float:
    """Share of records (index: key, values: cluster id) whose cluster holds the same records in a and b."""
    b = b.reindex(a.index)
    # two clusterings agree on a record when its cluster in a maps one-to-one onto its cluster in b
    pairs = pd.DataFrame({"a": a.to_numpy(), "b": b.to_numpy()})
    size_a = pairs.groupby("a")["b"].transform("size")
    size_b = pairs.groupby("b")["a"].transform("size")
    size_ab = pairs.groupby(["a", "b"])["a"].transform("size")
    return float(((size_a == size_ab) & (size_b == size_ab)).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="records in the clustered master")
    parser.add_argument("--add", type=int, default=10_000, help="records appended, then matched incrementally")
    parser.add_argument("--labels", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="updates timed (on copies), the median reported")
    args = parser.parse_args()
    from workbench.samples import generate_customers_large

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        customers, truth = generate_customers_large(args.rows + args.add)
        rng = np.random.default_rng(args.seed)
        later = np.zeros(len(customers), dtype=bool)
        later[rng.choice(len(customers), args.add, replace=False)] = True
        master, added = Path(tmp) / "master.parquet", Path(tmp) / "added.parquet"
        customers[~later].to_parquet(master, index=False)
        customers[later].to_parquet(added, index=False)
        entity = truth.set_index("customer_id")["entity_id"]
        print(f"generated {len(customers):,} records ({args.add:,} held back) in {time.perf_counter() - t:.1f} s")
        del customers

        ws = Workspace(Path(tmp) / "ws", user="bench")
        ds = ws.load(master, key="customer_id", name="customers")
        dd = ws.deduper(ds)
        scripted_labeling(dd, lambda a, b: entity[a] == entity[b], args.labels)
        t = time.perf_counter()
        first = dd.cluster(progress=False)
        first_s = time.perf_counter() - t
        print(f"first clustering of {args.rows:,}: {first_s:.1f} s ({first.figures['clusters']:,} clusters)")

        t = time.perf_counter()
        ws.load(added, name="customers", mode="append")
        append_s = time.perf_counter() - t
        print(f"appending {args.add:,} records (a new version of the dataset; the update below starts from it): "
              f"{append_s:.1f} s")
        # the update, repeated on copies of the workspace as it stands (median of --repeats)
        ws.close()
        snapshot = Path(tmp) / "before-update"
        shutil.copytree(ws.path, snapshot)
        times = []
        for i in range(args.repeats - 1):
            copy = Path(tmp) / f"copy-{i}"
            shutil.copytree(snapshot, copy)
            other = Workspace(copy, user="bench")
            session = other.deduper(other.dataset("customers"))  # the analyst's session, open before
            os.sync()  # the copy's writing-back is the benchmark's, not the update's
            t = time.perf_counter()
            session.update(progress=False)
            times.append(time.perf_counter() - t)
            other.close()
            shutil.rmtree(copy)
        ws = Workspace(Path(tmp) / "ws", user="bench")
        dd = ws.deduper(ws.dataset("customers"))
        os.sync()
        t = time.perf_counter()
        update = dd.update(progress=False)
        times.append(time.perf_counter() - t)
        update_s = statistics.median(times)
        t = time.perf_counter()
        n_read = len(update.clusters)
        print(f"update times: {', '.join(f'{x:.2f}' for x in times)} s; reading the update's {n_read:,} clusters "
              f"when first asked for (not part of the update): {time.perf_counter() - t:.1f} s")
        f = update.figures
        print(f"update with {args.add:,} new records: {update_s:.1f} s (median of {len(times)}); "
              f"pairs {f['pairs']:,}, "
              f"records clustered again {f['reclustered_records']:,}; ids: "
              + ", ".join(f"{f['ids_' + e]:,} {e}" for e in ("new", "merge", "split", "move", "retire")))
        print("update seconds per stage: " + ", ".join(f"{k} {v}" for k, v in update.seconds.items()))

        os.sync()
        t = time.perf_counter()
        full = cluster_with_model(ws, "customers", MatchModel.load(update.model_path), task=dd.task, progress=False)
        full_s = time.perf_counter() - t
        print(f"full re-run with the same model: {full_s:.1f} s")
        print("full run seconds per stage: " + ", ".join(f"{k} {v}" for k, v in full.seconds.items()))

        a = update.clusters.set_index("key")["cluster_id"]
        b = full.clusters.set_index("key")["cluster_id"]
        m_update, m_full = cluster_metrics(update.clusters, entity), cluster_metrics(full.clusters, entity)
        print("== incremental vs full re-run")
        print(f"records: {len(a):,}; update time / full run time: {update_s / full_s:.1%} (target <= 5%); "
              f"update time / first clustering: {update_s / first_s:.1%}; append + update / full run: "
              f"{(append_s + update_s) / full_s:.1%}")
        print(f"records in the same cluster as the full re-run: {same_cluster_share(a, b):.4%} (target >= 99.5%)")
        print(f"pairwise F1 against the truth: update {m_update['f1']}, full re-run {m_full['f1']}")
        print(f"peak memory: {peak_rss_mb()}")
        ws.close()


if __name__ == "__main__":
    main()
