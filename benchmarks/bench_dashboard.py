"""Benchmark: the quality dashboard over a 1,000,000-row workspace, measured in a real browser.

Builds a workspace holding a generated customer master, assesses it once
(zero-config rules; timed), then serves ``notebooks/dashboards/quality.ipynb``
with Voilà and measures in headless Chromium the time from ``page.goto`` to
the first visible ``.js-plotly-plot`` (target: within 3 s). It measures
Voilà's default set-up (a kernel started per page view, as ``make
dashboards`` runs it) and, for comparison, preheated kernels
(``--preheat_kernel=True``: the notebook runs before the request arrives)
and a one-chart notebook that imports nothing but plotly: the floor Voilà
and the browser set on this machine at this moment.

Prints figures; asserts nothing (tests live in tests/).

    .venv/bin/python benchmarks/bench_dashboard.py --rows 1000000 --loads 3
    .venv/bin/python benchmarks/bench_dashboard.py --workspace /tmp/bench-ws   # build once, reuse
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DASHBOARDS = ROOT / "notebooks" / "dashboards"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def build_workspace(folder: Path, rows: int) -> Path:
    from workbench import Workspace
    from workbench.assess import assess
    from workbench.samples import generate_customers_large

    t = time.perf_counter()
    customers, _ = generate_customers_large(rows)
    src = folder / "customers.parquet"
    customers.to_parquet(src, index=False)
    print(f"generated {len(customers):,} rows x {customers.shape[1]} columns: {time.perf_counter() - t:.1f} s")

    ws = Workspace(folder / "workspace", user="bench")
    t = time.perf_counter()
    ds = ws.load(src, key="customer_id", name="customers")
    print(f"loaded into the workspace: {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    a = assess(ws, ds)
    took = time.perf_counter() - t
    r = a.result
    print(f"assessment (zero-config, {len(r['checks'])} rules, all failures to Parquet): {took:.1f} s "
          f"(checks, scorecard, failures and examples: {r['seconds']:.1f} s)")
    print(f"  health {r['health']:.1f}; {r['failures']:,} failures stored, "
          f"{a.failures_path.stat().st_size / 1e6:.1f} MB Parquet; result JSON {len(a.to_json()) / 1e3:.1f} kB")
    ws.close()
    return folder / "workspace"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_baseline(folder: Path) -> Path:
    """A one-cell notebook showing one plotly chart: Voilà's own time to a first chart."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    folder.mkdir(parents=True, exist_ok=True)
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
                      cells=[new_code_cell("import plotly.graph_objects as go\n"
                                           "go.Figure(go.Bar(x=[1, 2], y=[3, 4])).show()")])
    nbformat.write(nb, folder / "baseline.ipynb")
    return folder


def start_voila(workspace: Path, log: Path, extra: list[str], folder: Path = DASHBOARDS) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    voila = Path(sys.executable).with_name("voila")
    env = {**os.environ, "WORKBENCH_WORKSPACE": str(workspace)}
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(voila), str(folder), "--no-browser", f"--port={port}",
                                 "--Voila.ip=127.0.0.1", *extra], env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"voila exited: {log.read_text()}") from None
            time.sleep(0.5)
    proc.terminate()
    raise RuntimeError(f"voila did not answer on {url}: {log.read_text()}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def measure(url: str, loads: int, pause: float, notebook: str = "quality.ipynb") -> list[float]:
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for i in range(loads):
            if i and pause:
                time.sleep(pause)  # let a preheated kernel pool refill
            page = browser.new_page()
            t = time.perf_counter()
            page.goto(f"{url}/voila/render/{notebook}", timeout=180_000)
            page.locator(".js-plotly-plot").first.wait_for(state="visible", timeout=180_000)
            times.append(time.perf_counter() - t)
            charts = page.locator(".js-plotly-plot").count()
            print(f"  load {i + 1}: first chart after {times[-1]:.2f} s ({charts} charts on the page)")
            page.close()
        browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--preheat-pause", type=float, default=30.0,
                        help="seconds between preheated loads, for the kernel pool to refill")
    parser.add_argument("--skip-preheat", action="store_true")
    parser.add_argument("--workspace", type=Path,
                        help="keep the generated workspace here and reuse it when it already has an assessment")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        folder = args.workspace or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        if (folder / "workspace" / "workbench.db").exists() and _has_assessment(folder / "workspace"):
            workspace = folder / "workspace"
            print(f"reusing {workspace}")
        else:
            workspace = build_workspace(folder, args.rows)
        baseline = write_baseline(Path(tmp) / "baseline")
        setups = [("quality.ipynb, default (kernel started per page view)", [], 0.0, DASHBOARDS, "quality.ipynb")]
        if not args.skip_preheat:
            setups.append(("quality.ipynb, preheated kernel pool (--preheat_kernel=True --pool_size=1)",
                           ["--preheat_kernel=True", "--pool_size=1"], args.preheat_pause, DASHBOARDS,
                           "quality.ipynb"))
        setups.append(("baseline: one plotly chart, nothing else imported", [], 0.0, baseline, "baseline.ipynb"))
        for label, extra, pause, served, notebook in setups:
            print(f"voila, {label}:")
            proc, url = start_voila(workspace, Path(tmp) / "voila.log", extra, served)
            try:
                if pause:
                    time.sleep(pause)  # the first preheated kernel runs the notebook before any request
                times = measure(url, args.loads, pause, notebook)
            finally:
                stop(proc)
            print(f"  median time to first chart: {statistics.median(times):.2f} s  (target: within 3 s)")
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


def _has_assessment(workspace: Path) -> bool:
    from workbench import Workspace

    return not Workspace(workspace).runs("assess").empty


if __name__ == "__main__":
    main()
