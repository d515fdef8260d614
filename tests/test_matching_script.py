"""Matching from a plain script: no ``if __name__ == "__main__":`` guard needed."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from conftest import SAMPLES


def test_cluster_runs_from_a_script_without_a_main_guard(tmp_path):
    # Several scoring chunks and two workers, so the worker pool really starts; a
    # script without a guard used to be re-run in every worker and crash.
    script = tmp_path / "plain.py"
    script.write_text(textwrap.dedent(f"""
        from workbench import Workspace
        from workbench.matching import scale
        from workbench.oracle import TruthLabeler
        scale.CHUNK = 2_000
        ws = Workspace({str(tmp_path / "ws")!r}, user="script")
        ds = ws.load({str(SAMPLES / "customers.csv")!r}, key="customer_id")
        dd = ws.deduper(ds)
        TruthLabeler.for_samples({str(SAMPLES)!r}).label(dd, budget=12)
        clusters = dd.cluster(progress=False, workers=2).clusters
        print("RESULT", len(clusters), dd.last_run["figures"]["scored"] > scale.CHUNK)
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "RESULT 5000 True" in done.stdout
