"""Profiling a million customer rows: our compact summary and the ydata-profiling report.

Prints wall time, peak memory and the stored summary's size. The ydata report
profiles a random sample above ``profiling.SAMPLE_ROWS`` rows (said in its
title) in minimal mode with interactions off, which is what makes it fit.

    python benchmarks/bench_profile.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import peak_rss_mb  # noqa: E402

from workbench import profiling  # noqa: E402
from workbench.samples import generate_customers_large  # noqa: E402
from workbench.summary import summarize  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    t = time.perf_counter()
    frame, _ = generate_customers_large(args.rows)
    print(f"generated {len(frame):,} rows x {frame.shape[1]} columns in {time.perf_counter() - t:.1f} s; "
          f"memory so far {peak_rss_mb()}")

    t = time.perf_counter()
    summary = summarize(frame)
    size = len(json.dumps(summary))
    print(f"compact summary: {time.perf_counter() - t:.1f} s, {size / 1024:.1f} kB as JSON (target < 1 MB)")

    t = time.perf_counter()
    html = profiling.profile_html(frame, title="Customers")
    wall = time.perf_counter() - t
    print(f"ydata-profiling report (sample of {min(len(frame), profiling.SAMPLE_ROWS):,} rows, minimal): "
          f"{wall:.1f} s, {len(html) / 1e6:.1f} MB of HTML")
    print(f"peak memory: {peak_rss_mb()} (target: 60 s wall and 2 GB for the profile)")


if __name__ == "__main__":
    main()
