"""Serve a dashboards folder with Voilà, set up for a first chart within seconds.

    python -m workbench.dashboards.serve notebooks/dashboards --port 8866 --ip 127.0.0.1 [voila options]

``make dashboards``, the browser tests and ``benchmarks/bench_dashboard.py`` all
start Voilà through here, so what is measured is what is served. It adds to
plain ``voila DIR``:

- the folder's ``voila.json`` (first on ``--Voila.config_file_paths``): one
  preheated kernel for each read-only dashboard (other notebooks, such as
  analysts' widget pages, get none). It imports pandas, plotly and the
  workbench before anyone asks; the notebook then waits for the viewer
  (``render.wait_for_viewer``), so the data shown is read at request time;
- ``--template=workbench``, found in the folder's Jupyter data (``DIR/.jupyter``,
  put first on ``JUPYTER_PATH``): dashboard outputs written straight into the
  page and drawn by plotly.js's basic bundle (bar, scatter, pie; a quarter of
  the full plotly.js, which alone took seconds to evaluate in Chromium here).

Voilà replaces this process (``exec``): stopping it stops Voilà.
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from pathlib import Path

TEMPLATE = "workbench"
PLOTLY_BUNDLE = "plotly-basic.min.js"


def data_dir(folder: Path) -> Path:
    """The folder's Jupyter data directory (``voila/templates/workbench`` inside)."""
    return folder.resolve() / ".jupyter"


def check_plotly_bundle(folder: Path) -> None:
    """Warn when the template's plotly.js is not the version the installed plotly writes figures for."""
    from plotly.offline import get_plotlyjs_version

    bundle = data_dir(folder) / "voila" / "templates" / TEMPLATE / "static" / PLOTLY_BUNDLE
    head = bundle.read_text(encoding="utf-8", errors="replace")[:200] if bundle.exists() else ""
    found = re.search(r"v(\d+\.\d+\.\d+)", head)
    wanted = get_plotlyjs_version()
    if found is None or found.group(1) != wanted:
        warnings.warn(f"{bundle} is plotly.js {found.group(1) if found else '(missing)'} but plotly "
                      f"{wanted} is installed: replace it with plotly.js-basic-dist-min@{wanted}", stacklevel=2)


def environment(folder: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment Voilà runs in: the folder's template first on ``JUPYTER_PATH``."""
    env = dict(os.environ if base is None else base)
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(data_dir(folder)), env.get("JUPYTER_PATH")) if p)
    return env


def command(folder: Path, *, port: int, ip: str = "127.0.0.1", extra: list[str] | None = None) -> list[str]:
    """The ``voila`` command line for ``folder``; its ``voila.json`` wins over other config files."""
    from jupyter_core.paths import jupyter_config_path

    voila = Path(sys.executable).with_name("voila")
    configs = [str(folder.resolve()), os.getcwd(), *jupyter_config_path()]
    return [str(voila), str(folder), "--no-browser", f"--port={port}", f"--Voila.ip={ip}",
            f"--template={TEMPLATE}", *(f"--Voila.config_file_paths={c}" for c in configs), *(extra or [])]


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--port", type=int, default=8866)
    parser.add_argument("--ip", default="127.0.0.1")
    args, extra = parser.parse_known_args(argv)
    check_plotly_bundle(args.folder)
    cmd = command(args.folder, port=args.port, ip=args.ip, extra=extra)
    os.execve(cmd[0], cmd, environment(args.folder))


if __name__ == "__main__":
    main()
