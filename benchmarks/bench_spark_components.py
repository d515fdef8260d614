"""Benchmark: connected components on Spark, large-star/small-star rounds against the issue's bound.

Prints figures; asserts nothing (tests live in tests/test_spark_components.py).
Graphs: a chain of ``--nodes`` nodes with ids in order along it, the same chain
with shuffled ids, and a random graph (as many random edges as nodes). For
each: the distributed path's rounds (large-star + small-star alternations, and
star steps, each checked against 2·log2(n)+2), its median seconds, the
collected path's, and whether both equal scipy's components. ``--bound-edges``
times both paths on larger random graphs (what COLLECT_MAX_EDGES rests on).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_spark_components.py --nodes 100000
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as scipy_components

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import peak_rss_mb  # noqa: E402

from workbench.spark import local_session  # noqa: E402
from workbench.spark.components import COLLECT_MAX_EDGES, connected_components  # noqa: E402


def graphs(n: int, seed: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ordered = np.arange(n)
    shuffled = rng.permutation(n)
    return {
        "chain, ids in order": pd.DataFrame({"l": ordered[:-1], "r": ordered[1:]}),
        "chain, ids shuffled": pd.DataFrame({"l": shuffled[:-1], "r": shuffled[1:]}),
        "random graph, m = n": pd.DataFrame({"l": rng.integers(0, n, n), "r": rng.integers(0, n, n)}),
    }


def scipy_labels(edges: pd.DataFrame) -> pd.Series:
    """Each node's component as its smallest node, by scipy (the reference)."""
    nodes, inv = np.unique(np.concatenate([edges["l"].to_numpy(), edges["r"].to_numpy()]), return_inverse=True)
    m = len(edges)
    _, labels = scipy_components(coo_matrix((np.ones(m), (inv[:m], inv[m:])), shape=(len(nodes),) * 2),
                                 directed=False)
    first = np.unique(labels, return_index=True)[1]
    return pd.Series(nodes[first][labels], index=nodes)


def yes(flag: bool) -> str:
    return "yes" if flag else "NO"


def run(frame, distributed: bool) -> tuple[float, int, pd.Series]:
    t = time.perf_counter()
    found = connected_components(frame, distributed=distributed)
    found.frame.count()  # the collected path's frame is lazy; the distributed one is checkpointed already
    seconds = time.perf_counter() - t
    local = found.frame.toPandas()
    return seconds, found.rounds, pd.Series(local["component"].to_numpy(), index=local["node"].to_numpy())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3, help="runs per graph and path (median reported)")
    parser.add_argument("--bound-edges", default="1000000,5000000",
                        help="comma-separated edge counts of random graphs timed on both paths ('' for none)")
    parser.add_argument("--bound-repeats", type=int, default=1, help="runs per path on those graphs")
    parser.add_argument("--no-rounds", action="store_true", help="skip the chains and the random graph of n nodes")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        spark = local_session(args.master, app_name="bench-components", checkpoint_dir=tmp, driver_memory="2g")
        bound = 2 * math.log2(args.nodes) + 2
        print(f"Spark {spark.version} on {args.master}; n = {args.nodes:,} nodes; bound 2*log2(n)+2 = {bound:.1f}; "
              f"median of {args.repeats} runs; collected path up to {COLLECT_MAX_EDGES:,} edges by default")
        print(f"{'graph':<22} {'edges':>9} {'rounds':>6} {'<= bound':>8} {'star steps':>10} {'<= bound':>8} "
              f"{'distributed s':>13} {'collected s':>11} {'equal scipy':>11}")
        for name, edges in ({} if args.no_rounds else graphs(args.nodes, args.seed)).items():
            frame = spark.createDataFrame(edges).persist()
            frame.count()
            want = scipy_labels(edges)
            dist = [run(frame, True) for _ in range(args.repeats)]
            coll = [run(frame, False) for _ in range(args.repeats)]
            rounds = {r for _, r, _ in dist}
            equal = all(got.sort_index().equals(want) for _, _, got in dist + coll)
            r = max(rounds)
            print(f"{name:<22} {len(edges):>9,} {r:>6} {yes(r <= bound):>8} {2 * r:>10} {yes(2 * r <= bound):>8} "
                  f"{statistics.median(s for s, _, _ in dist):>13.1f} {statistics.median(s for s, _, _ in coll):>11.1f} "
                  f"{yes(equal):>11}")
            frame.unpersist()
        sizes = [int(x) for x in args.bound_edges.split(",") if x]
        rng = np.random.default_rng(args.seed + 1)
        for m in sizes:
            n = m  # as many nodes as edges: components of every size
            edges = pd.DataFrame({"l": rng.integers(0, n, m), "r": rng.integers(0, n, m)})
            frame = spark.createDataFrame(edges).persist()
            frame.count()
            del edges
            collected = [run(frame, False)[0] for _ in range(args.bound_repeats)]
            rss = peak_rss_mb()["self_mb"]
            distributed = [run(frame, True)[:2] for _ in range(args.bound_repeats)]
            print(f"random graph of {m:,} edges: collected {statistics.median(collected):.1f} s, distributed "
                  f"{statistics.median(s for s, _ in distributed):.1f} s in {distributed[0][1]} rounds "
                  f"(median of {args.bound_repeats}); driver Python peak RSS after the collected path {rss:,} MB")
            frame.unpersist()
        spark.stop()


if __name__ == "__main__":
    main()
