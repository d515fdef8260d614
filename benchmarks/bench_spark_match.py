"""Benchmark: the Spark engine against the single-machine engine, one model, on generated customers.

Prints figures; asserts nothing (parity is tested in tests/test_spark_engine.py).
Generates ``--rows`` customers, labels ``--labels`` pairs from ground truth, and
clusters once on this machine to learn the blocking rules; then that run's
saved model clusters the data headless on both engines (``--repeats`` times
each, medians): seconds, the ratio spark / local (the issue's target: at most
2), whether the partitions agree, and the peak memory of the whole process
tree (this Python, the JVM and Spark's Python workers; psutil, sampled).
Several sizes in one go (``--rows 30000,100000,1000000``) end with the scaling
curve: per size and engine, seconds, candidate pairs and peak memory.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_spark_match.py --rows 100000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import cluster_from_truth, cluster_metrics  # noqa: E402

from workbench import artifacts  # noqa: E402
from workbench.matching.clustering import cluster_with_model  # noqa: E402
from workbench.matching.trained import MatchModel  # noqa: E402
from workbench.samples import generate_customers_large  # noqa: E402
from workbench.spark import local_session  # noqa: E402


class TreePeak:
    """Peak resident memory of this process and all its descendants, summed, sampled every ``interval`` s."""

    def __init__(self, interval: float = 0.2):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        me = psutil.Process()
        total = 0
        for p in [me, *me.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> TreePeak:
        self.peak = self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def mb(self) -> int:
        return round(self.peak / 2**20)


def partition(folder: Path) -> set[frozenset]:
    clusters = pd.read_parquet(folder / artifacts.CLUSTERS_MODEL)
    multi = clusters[clusters["cluster_size"] > 1]
    return {frozenset(k) for k in multi.groupby("cluster_id")["key"].apply(list)}


def timed(ws, ds, model_path: Path, **engine) -> tuple[float, int, object]:
    with TreePeak() as peak:
        t = time.perf_counter()
        clustering = cluster_with_model(ws, ds, MatchModel.load(model_path), progress=False, **engine)
        seconds = time.perf_counter() - t
    return seconds, peak.mb, clustering


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000", help="size, or sizes comma-separated (a scaling curve)")
    parser.add_argument("--labels", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=1, help="runs per engine (median reported)")
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    sizes = [int(n) for n in args.rows.replace("_", "").split(",")]
    curve = [one_size(n, args) for n in sizes]
    if len(curve) > 1:
        print("scaling curve (seconds, candidate pairs, peak memory of the process tree):")
        print(f"{'rows':>10} {'pairs':>12} {'local s':>8} {'local MB':>8} {'spark s':>8} {'spark MB':>8} {'ratio':>6}")
        for row in curve:
            print(f"{row['rows']:>10,} {row['pairs']:>12,} {row['local_s']:>8.1f} {row['local_mb']:>8,} "
                  f"{row['spark_s']:>8.1f} {row['spark_mb']:>8,} {row['spark_s'] / row['local_s']:>6.2f}")


def one_size(rows: int, args) -> dict:
    """Both engines on ``rows`` generated customers; prints the figures and returns the curve's row."""
    with tempfile.TemporaryDirectory() as tmp:
        customers, truth = generate_customers_large(rows)
        ws, dd, first, seconds, entity = cluster_from_truth(customers, truth, tmp, args.labels)
        ds = dd.left_ds
        print(f"{rows:,} generated customers, {dd.labels.counts()} labels; first clustering (learns "
              f"blocking) {seconds:.1f} s: {first.figures['blocking']}")
        model_path = first.model_path

        local = [timed(ws, ds, model_path) for _ in range(args.repeats)]
        spark = local_session(args.master, app_name="bench-spark-match", checkpoint_dir=str(Path(tmp) / "ckpt"),
                              driver_memory="4g")
        on_spark = [timed(ws, ds, model_path, engine="spark", spark=spark) for _ in range(args.repeats)]
        spark.stop()

        lt, st = statistics.median(s for s, _, _ in local), statistics.median(s for s, _, _ in on_spark)
        lm, sm = max(m for _, m, _ in local), max(m for _, m, _ in on_spark)
        lc, sc = local[-1][2], on_spark[-1][2]
        same = partition(lc.folder) == partition(sc.folder)
        print(f"local: {lt:.1f} s (median of {args.repeats}), peak memory of the process tree "
              f"{lm:,} MB; stages {lc.seconds}")
        print(f"spark ({args.master}): {st:.1f} s (median of {args.repeats}), peak memory of the process tree "
              f"(driver, JVM, Python workers) {sm:,} MB; stages {sc.seconds}")
        print(f"ratio spark / local: {st / lt:.2f} (issue target: at most 2)")
        print(f"partitions agree: {'yes' if same else 'NO'}; candidate pairs {lc.figures['pairs']:,} local, "
              f"{sc.figures['pairs']:,} spark; kept {lc.figures['kept']:,} / {sc.figures['kept']:,}; "
              f"windowed blocks {lc.figures['windowed_blocks']} / {sc.figures['windowed_blocks']}")
        print("accuracy against the truth: local " + ", ".join(f"{k} {v}" for k, v in
                                                                cluster_metrics(lc.clusters, entity).items())
              + "; spark " + ", ".join(f"{k} {v}" for k, v in cluster_metrics(sc.clusters, entity).items()))
        return {"rows": rows, "pairs": int(lc.figures["pairs"]), "local_s": lt, "local_mb": lm, "spark_s": st,
                "spark_mb": sm}


if __name__ == "__main__":
    main()
