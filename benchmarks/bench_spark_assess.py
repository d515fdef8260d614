"""Benchmark: the same rules through ``run_checks`` (pandas) and ``run_checks_spark`` (Spark ``local[2]``).

Prints figures; asserts nothing (tests live in tests/). The rows are
``bench_rules.build``'s generated customers, written to Parquet, which Spark
reads as it would a dataset past pandas; pandas gets the same rows in memory.
The Spark figures exclude the session start and one warm-up run (Python
workers importing the rule engine), which are printed apart. Counts per rule
from both engines are compared.

    .venv/bin/python benchmarks/bench_spark_assess.py --rows 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_rules import AS_OF, RULES, build  # noqa: E402
from common import peak_rss_mb  # noqa: E402

from workbench.checks import consistent_mapping, run_checks  # noqa: E402
from workbench.spark import local_session  # noqa: E402
from workbench.spark.assess import run_checks_spark  # noqa: E402

#: bench_rules' 20 rules plus a second grouped rule (rows sharing a postcode agree on the state).
BENCH_RULES = [*RULES, consistent_mapping("postcode", ["state"], severity="warning")]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--master", default="local[2]")
    args = ap.parse_args(argv)

    t = time.perf_counter()
    df = build(args.rows)
    print(f"data: {len(df):,} rows x {df.shape[1]} columns built in {time.perf_counter() - t:.1f} s; "
          f"{len(BENCH_RULES)} rules")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "customers.parquet"
        df.to_parquet(path, index=False, row_group_size=100_000)
        t = time.perf_counter()
        spark = local_session(args.master, driver_memory="2g")
        started = time.perf_counter() - t
        sdf = spark.read.parquet(str(path))
        t = time.perf_counter()
        run_checks_spark(sdf, BENCH_RULES, key="customer_id", as_of=AS_OF)
        warm = time.perf_counter() - t
        pandas_times, spark_times = [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            on_pandas = run_checks(df, BENCH_RULES, key="customer_id", as_of=AS_OF)
            on_pandas.failures  # noqa: B018 -- what the Spark side's examples stand for
            pandas_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            on_spark = run_checks_spark(sdf, BENCH_RULES, key="customer_id", as_of=AS_OF)
            spark_times.append(time.perf_counter() - t)
        spark.stop()
    pd_med, sp_med = statistics.median(pandas_times), statistics.median(spark_times)
    runs = ", ".join
    print(f"Spark session start {started:.1f} s; first (warm-up) run {warm:.1f} s")
    print(f"{args.repeat} runs each (median seconds)")
    print(f"  pandas run_checks + failures : {pd_med:7.2f} s   runs: {runs(f'{x:.2f}' for x in pandas_times)}")
    print(f"  Spark {args.master} run_checks_spark: {sp_med:7.2f} s   runs: {runs(f'{x:.2f}' for x in spark_times)}")
    print(f"  ratio Spark / pandas         : {sp_med / pd_med:7.2f} x")
    same = (on_spark.counts() == on_pandas.counts()) & (on_spark.summary["tested"].to_numpy()
                                                       == on_pandas.summary["tested"].to_numpy())
    differ = [f"{n}: {on_spark.counts()[n]} vs {on_pandas.counts()[n]}" for n in same.index[~same]]
    print(f"  rules agreeing on (tested, failed): {int(same.sum())}/{len(BENCH_RULES)}"
          + (f"; differ: {'; '.join(differ)}" if differ else ""))
    mem = peak_rss_mb()
    print(f"peak RSS: driver {mem['self_mb']:,} MB (JVM and Python workers are other processes); "
          f"load average during run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
