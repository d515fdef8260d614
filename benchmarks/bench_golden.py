"""Benchmark: golden records for generated customers clustered by their true entity.

Prints figures; asserts nothing (tests live in tests/test_golden.py). The
clustering is the ground truth (a perfect deduper), so the figures measure
survivorship alone: default rules from the schema, then CSV and Parquet
export of golden, lineage and crosswalk.

    .venv/bin/python benchmarks/bench_golden.py --rows 1000000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Timer, peak_rss_mb  # noqa: E402

from workbench.golden import SurvivorshipRules, build_golden  # noqa: E402
from workbench.samples import generate_customers_large  # noqa: E402
from workbench.schema import infer_schema  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--export", action=argparse.BooleanOptionalAction, default=True,
                        help="also time CSV + Parquet export")
    args = parser.parse_args()

    timer = Timer()
    with timer("generate"):
        customers, truth = generate_customers_large(args.rows)
    key_col = "customer_id"
    clusters = pd.DataFrame({"key": truth[key_col].astype(str), "cluster_id": truth["entity_id"].astype(str)})
    duplicates = len(clusters) - clusters["cluster_id"].nunique()
    rules = SurvivorshipRules.defaults(infer_schema(customers, key=key_col))
    cpu = time.process_time()
    with timer("build_golden"):
        result = build_golden(customers, clusters, rules, key=key_col, source="source")
    build_cpu = time.process_time() - cpu
    if args.export:
        with tempfile.TemporaryDirectory() as tmp:
            with timer("export_parquet"):
                result.export(Path(tmp) / "parquet", formats=("parquet",))
            with timer("export_csv"):
                result.export(Path(tmp) / "csv", formats=("csv",))
    t = time.perf_counter()
    rules_used = result.lineage["rule"].value_counts()
    timer.stages["lineage_summary"] = round(time.perf_counter() - t, 2)

    print(f"records: {len(customers):,}  duplicates: {duplicates:,} ({duplicates / len(customers):.1%})")
    print(f"golden records: {len(result.golden):,}  multi-member: {result.stats['multi_member_golden']:,}  "
          f"lineage rows: {len(result.lineage):,}")
    for stage, seconds in timer.stages.items():
        print(f"{stage:>16}: {seconds:8.2f} s")
    rate = len(customers) / max(timer.stages["build_golden"], 1e-9)
    print(f"build rate: {rate:,.0f} records/s (build CPU time {build_cpu:.2f} s; wall time grows when "
          f"other processes share the cores, load average {os.getloadavg()[0]:.1f})")
    print("peak memory:", peak_rss_mb())
    print("lineage rules:", ", ".join(f"{k}={v:,}" for k, v in rules_used.items() if v))


if __name__ == "__main__":
    main()
