"""Benchmark: the Spark engine against the single-machine engine, one model, on generated customers.

Prints figures; asserts nothing (parity is tested in tests/test_spark_engine.py).
Generates ``--rows`` customers, labels ``--labels`` pairs from ground truth, and
clusters once on this machine to learn the blocking rules; then that run's
saved model clusters the data headless on both engines (``--repeats`` times
each, medians): seconds, the ratio spark / local (the issue's target: at most
2), whether the partitions agree, and the peak memory of the whole process
tree (psutil, sampled): the driver's Python, and on Spark the JVM and Spark's
Python workers too. Each engine runs in a fresh Python process of its own
(``--engine``), so neither peak holds the generated data, the first clustering
or the other engine's leftovers; each reports its process' memory before the
run (imports, workspace) and the breakdown per process at the peak.
Several sizes in one go (``--rows 30000,100000,1000000``) end with the scaling
curve: per size and engine, seconds, candidate pairs and peak memory.
Past a few million records the first clustering (labeling, learning blocking
on every record) outlasts the runs measured: ``--learn-rows`` learns the model
on a random sample instead, and ``--engines spark`` runs one engine only.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_spark_match.py --rows 100000
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import cluster_from_truth, cluster_metrics  # noqa: E402

from workbench import Workspace, artifacts  # noqa: E402

#: The processes of the tree, by kind: this Python (the driver), Spark's JVM, Spark's Python workers.
KINDS = ("driver", "jvm", "workers")


def _kind(process: psutil.Process, me: psutil.Process) -> str:
    if process.pid == me.pid:
        return "driver"
    return "jvm" if process.name().startswith("java") else "workers"


class TreePeak:
    """Peak resident memory of this process and all its descendants, summed, sampled every ``interval`` s;
    the sum per kind of process (:data:`KINDS`) at that peak, and each kind's own peak."""

    def __init__(self, interval: float = 0.2):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self.at_peak = dict.fromkeys(KINDS, 0)
        self.kind_peaks = dict.fromkeys(KINDS, 0)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> dict[str, int]:
        me = psutil.Process()
        by_kind = dict.fromkeys(KINDS, 0)
        for p in [me, *me.children(recursive=True)]:
            try:
                by_kind[_kind(p, me)] += p.memory_info().rss
            except psutil.Error:
                pass
        return by_kind

    def _take(self) -> None:
        by_kind = self._sample()
        for kind, rss in by_kind.items():
            self.kind_peaks[kind] = max(self.kind_peaks[kind], rss)
        if sum(by_kind.values()) > self.peak:
            self.peak, self.at_peak = sum(by_kind.values()), by_kind

    def _run(self) -> None:
        while not self._stop.is_set():
            self._take()
            self._stop.wait(self.interval)

    def __enter__(self) -> TreePeak:
        self._take()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._take()

    @property
    def mb(self) -> int:
        return round(self.peak / 2**20)

    def breakdown(self) -> dict[str, dict[str, int]]:
        """MB per kind of process: at the tree's peak, and each kind's own peak (not simultaneous)."""
        return {"at_peak": {k: round(v / 2**20) for k, v in self.at_peak.items()},
                "own_peak": {k: round(v / 2**20) for k, v in self.kind_peaks.items()}}


def partition(folder: Path) -> set[frozenset]:
    clusters = pd.read_parquet(folder / artifacts.CLUSTERS_MODEL)
    multi = clusters[clusters["cluster_size"] > 1]
    return {frozenset(k) for k in multi.groupby("cluster_id")["key"].apply(list)}


def engine_run(spec: dict) -> dict:
    """One engine's runs (in this process, started for them alone): seconds, peak MB and breakdown per run,
    this process' memory before the first run, and the last run's clustering (folder, figures, seconds)."""
    from workbench.matching.clustering import cluster_with_model
    from workbench.matching.trained import MatchModel

    ws = Workspace(spec["workspace"], user="bench")
    ds = ws.dataset(spec["dataset"])
    engine: dict = {}
    spark = None
    if spec["engine"] == "spark":
        from workbench.spark import local_session

        spark = local_session(spec["master"], app_name="bench-spark-match", checkpoint_dir=spec["checkpoint"],
                              driver_memory=spec["driver_memory"])
        engine = {"engine": "spark", "spark": spark}
    before = TreePeak()._sample()
    runs = []
    for _ in range(spec["repeats"]):
        with TreePeak() as peak:
            t = time.perf_counter()
            clustering = cluster_with_model(ws, ds, MatchModel.load(Path(spec["model"])), progress=False, **engine)
            seconds = time.perf_counter() - t
        runs.append({"seconds": seconds, "mb": peak.mb, **peak.breakdown()})
    if spark is not None:
        spark.stop()
    return {"runs": runs, "before": {k: round(v / 2**20) for k, v in before.items()},
            "folder": str(clustering.folder), "figures": clustering.figures, "stages": clustering.seconds}


def in_own_process(spec: dict) -> dict:
    """:func:`engine_run` in a fresh Python process: its peak is its own, not the parent's data and leftovers."""
    out = subprocess.run([sys.executable, __file__, "--engine-run", json.dumps(spec)], check=True,
                         stdout=subprocess.PIPE, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000", help="size, or sizes comma-separated (a scaling curve)")
    parser.add_argument("--labels", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=1, help="runs per engine (median reported)")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default=None,
                        help="spark.driver.memory, the JVM's heap on a local master (default: Spark's, 1g, as "
                             "local_session leaves it)")
    parser.add_argument("--learn-rows", type=int, default=None,
                        help="learn the model (labels, blocking) on this many of the records, drawn at random, "
                             "then run it on all of them (large sizes: the first clustering is not the subject)")
    parser.add_argument("--engines", default="local,spark", help="engines run: local,spark (default), or one")
    parser.add_argument("--engine-run", help=argparse.SUPPRESS)  # one engine's runs, in a process of its own
    args = parser.parse_args()
    if args.engine_run:
        print(json.dumps(engine_run(json.loads(args.engine_run))))
        return
    sizes = [int(n) for n in args.rows.replace("_", "").split(",")]
    curve = [one_size(n, args) for n in sizes]
    if len(curve) > 1:
        print("scaling curve (seconds, candidate pairs, peak memory of each engine's process tree):")
        print(f"{'rows':>10} {'pairs':>12} {'local s':>8} {'local MB':>8} {'spark s':>8} {'spark MB':>8} {'ratio':>6}")
        for row in curve:
            ratio = row["spark_s"] / row["local_s"] if row["spark_s"] and row["local_s"] else None
            print(f"{row['rows']:>10,} {row['pairs']:>12,} {_fig(row['local_s'], '.1f'):>8} "
                  f"{_fig(row['local_mb'], ','):>8} {_fig(row['spark_s'], '.1f'):>8} {_fig(row['spark_mb'], ','):>8} "
                  f"{_fig(ratio, '.2f'):>6}")


def _fig(value, spec: str) -> str:
    """A curve figure, or "-" for an engine not run."""
    return "-" if value is None else format(value, spec)


def _memory(result: dict) -> str:
    """The peak run's memory: the tree's peak, its parts at that moment, each part's own peak, the start."""
    run = max(result["runs"], key=lambda r: r["mb"])
    parts = [k for k in KINDS if run["own_peak"][k]]
    at, own = run["at_peak"], run["own_peak"]
    return (f"peak {run['mb']:,} MB = " + " + ".join(f"{k} {at[k]:,}" for k in parts)
            + "; own peaks " + ", ".join(f"{k} {own[k]:,}" for k in parts)
            + "; before the run " + ", ".join(f"{k} {result['before'][k]:,}" for k in parts if result["before"][k]))


def one_size(rows: int, args) -> dict:
    """The engines on ``rows`` generated customers, each in a fresh process; prints the figures and
    returns the curve's row (None for an engine not run)."""
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        customers, truth = generate_customers(rows)
        learn = args.learn_rows is not None and args.learn_rows < rows
        sample = customers.sample(args.learn_rows, random_state=0) if learn else customers
        folder = Path(tmp) / "learn" if learn else Path(tmp)
        folder.mkdir(exist_ok=True)
        ws, dd, first, seconds, entity = cluster_from_truth(sample, truth, folder, args.labels)
        print(f"{rows:,} generated customers; model learned on {len(sample):,} of them: {dd.labels.counts()} labels, "
              f"first clustering (learns blocking) {seconds:.1f} s: {first.figures['blocking']}")
        dataset = dd.left_ds.name
        if learn:  # the model runs on every record, in a workspace of their own
            path = Path(tmp) / "customers.parquet"
            customers.to_parquet(path, index=False)
            ws.close()
            ws = Workspace(Path(tmp) / "ws", user="bench")
            dataset = ws.load(path, key="customer_id").name
            ws.close()
        del customers, sample
        spec = {"workspace": str(ws.path), "dataset": dataset, "model": str(first.model_path),
                "repeats": args.repeats, "master": args.master, "driver_memory": args.driver_memory,
                "checkpoint": str(Path(tmp) / "ckpt")}
        runs = {engine: in_own_process({**spec, "engine": engine}) for engine in engines}
        print("each engine in a fresh Python process; memory: resident, summed over its process tree, sampled "
              "every 0.2 s, in MB")
        secs = {e: statistics.median(r["seconds"] for r in result["runs"]) for e, result in runs.items()}
        mbs = {e: max(r["mb"] for r in result["runs"]) for e, result in runs.items()}
        if "local" in runs:
            print(f"local: {secs['local']:.1f} s (median of {args.repeats}), {_memory(runs['local'])}; "
                  f"stages {runs['local']['stages']}")
        if "spark" in runs:
            print(f"spark ({args.master}, driver memory {args.driver_memory or 'default (1g)'}): {secs['spark']:.1f} s "
                  f"(median of {args.repeats}), {_memory(runs['spark'])} (driver: this Python; jvm: Spark's; "
                  f"workers: Spark's Python workers); stages {runs['spark']['stages']}")
        figures = {e: result["figures"] for e, result in runs.items()}
        if len(runs) == 2:
            local, spark = runs["local"], runs["spark"]
            lf, sf = figures["local"], figures["spark"]
            same = partition(Path(local["folder"])) == partition(Path(spark["folder"]))
            print(f"ratio spark / local: {secs['spark'] / secs['local']:.2f} (issue target: at most 2)")
            print(f"partitions agree: {'yes' if same else 'NO'}; candidate pairs {lf['pairs']:,} local, "
                  f"{sf['pairs']:,} spark; kept {lf['kept']:,} / {sf['kept']:,}; "
                  f"windowed blocks {lf['windowed_blocks']} / {sf['windowed_blocks']}")
        else:
            f = next(iter(figures.values()))
            print(f"candidate pairs {f['pairs']:,}; kept {f['kept']:,}; windowed blocks {f['windowed_blocks']}")
        print("accuracy against the truth: " + "; ".join(
            name + " " + ", ".join(f"{k} {v}" for k, v in
                                   cluster_metrics(pd.read_parquet(Path(e["folder"]) / artifacts.CLUSTERS),
                                                   entity).items())
            for name, e in runs.items()))
        return {"rows": rows, "pairs": int(next(iter(figures.values()))["pairs"]),
                "local_s": secs.get("local"), "local_mb": mbs.get("local"),
                "spark_s": secs.get("spark"), "spark_mb": mbs.get("spark")}


def generate_customers(rows: int):
    from workbench.samples import generate_customers_large

    return generate_customers_large(rows)


if __name__ == "__main__":
    main()
