"""Benchmark: the quality dashboard over a 1,000,000-row workspace, measured in a real browser.

Builds a workspace holding a generated customer master, assesses it once
(zero-config rules; timed), then serves ``notebooks/dashboards/quality.ipynb``
with Voilà and measures in headless Chromium the time from ``page.goto`` to
the first visible ``.js-plotly-plot`` (target: within 3 s). It measures

- the set-up ``make dashboards`` serves (``python -m workbench.dashboards.serve``:
  the folder's voila.json with a preheated kernel per dashboard, the workbench
  template drawing charts with plotly.js's basic bundle from the page itself);
- the same without preheated kernels (a kernel started per page view, as when
  the pool is empty because views come faster than it refills);
- plain ``voila DIR`` (lab template, kernel per view: how the page was served
  before) and a one-chart notebook under plain Voilà that imports nothing but
  plotly: the floor of the plain set-up on this machine at this moment.

The load average is printed with each set-up: on a shared machine it moves the
figures by seconds.

Prints figures; asserts nothing (tests live in tests/).

    .venv/bin/python benchmarks/bench_dashboard.py --rows 1000000 --loads 3
    .venv/bin/python benchmarks/bench_dashboard.py --workspace /tmp/bench-ws   # build once, reuse
    .venv/bin/python benchmarks/bench_dashboard.py --workspace DIR --notebook duplicates.ipynb --only-served
      # another dashboard, against a workspace DIR/workspace that holds what it shows (a clustering)
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


#: The served dashboards want a token (``make dashboards`` takes it from the environment).
TOKEN = "bench-" + os.urandom(8).hex()


def start_voila(workspace: Path, log: Path, extra: list[str], folder: Path = DASHBOARDS,
                served: bool = True) -> tuple[subprocess.Popen, str]:
    """Voilà on a free port: as ``make dashboards`` serves (``served``) or plain ``voila DIR``."""
    port = _free_port()
    env = {**os.environ, "WORKBENCH_WORKSPACE": str(workspace), "WORKBENCH_DASHBOARD_TOKEN": TOKEN}
    if served:
        cmd = [sys.executable, "-m", "workbench.dashboards.serve", str(folder), f"--port={port}", *extra]
    else:
        cmd = [str(Path(sys.executable).with_name("voila")), str(folder), "--no-browser", f"--port={port}",
               "--Voila.ip=127.0.0.1", *extra]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/?token={TOKEN}", timeout=2)  # plain voila ignores the token
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
    """Seconds from ``page.goto`` to the first visible chart, one fresh page per load (one browser: cache warm after load 1).

    ``goto`` returns at the first response byte (``wait_until="commit"``), not at
    the load event: a chart can be on screen long before the last bundle of
    Voilà's JavaScript has loaded, and that is what a reader waits for. The load
    event is printed too.
    """
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for i in range(loads):
            if i and pause:
                time.sleep(pause)  # let a preheated kernel pool refill
            page = browser.new_page()
            t = time.perf_counter()
            page.goto(f"{url}/voila/render/{notebook}?token={TOKEN}", timeout=180_000, wait_until="commit")
            page.locator(".js-plotly-plot").first.wait_for(state="visible", timeout=180_000)
            times.append(time.perf_counter() - t)
            page.wait_for_load_state("load", timeout=180_000)
            loaded = time.perf_counter() - t
            charts = page.locator(".js-plotly-plot").count()
            print(f"  load {i + 1}: first chart after {times[-1]:.2f} s, load event after {loaded:.2f} s "
                  f"({charts} charts on the page; load average {os.getloadavg()[0]:.1f})")
            page.close()
        browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--preheat-pause", type=float, default=30.0,
                        help="seconds before and between preheated loads, for the kernel pool to fill")
    parser.add_argument("--notebook", default="quality.ipynb",
                        help="dashboard to measure (notebooks/dashboards/NAME); the 1M workspace is built for quality")
    parser.add_argument("--only-served", action="store_true",
                        help="measure only the set-up make dashboards serves (preheated)")
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
        nb = args.notebook
        setups = [(f"{nb} as make dashboards serves it (preheated kernel, workbench template)",
                   [], args.preheat_pause, DASHBOARDS, nb, True)]
        if not args.only_served:
            setups += [
                (f"{nb}, workbench template, no preheated kernel (kernel started per page view)",
                 ["--VoilaConfiguration.preheat_kernel=False"], 0.0, DASHBOARDS, nb, True),
                (f"{nb}, plain `voila DIR` (lab template, kernel per page view: the set-up before)",
                 [], 0.0, DASHBOARDS, nb, False),
                ("baseline: one plotly chart under plain Voila, nothing else imported",
                 [], 0.0, baseline, "baseline.ipynb", False),
            ]
        for label, extra, pause, served_dir, notebook, served in setups:
            print(f"voila, {label}:")
            proc, url = start_voila(workspace, Path(tmp) / "voila.log", extra, served_dir, served)
            try:
                if pause:
                    time.sleep(pause)  # the first preheated kernel runs the notebook before any request
                print(f"  load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
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
