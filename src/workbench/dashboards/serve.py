"""Serve a folder of Voilà pages behind a token, set up for a first chart within seconds.

    python -m workbench.dashboards.serve notebooks/dashboards --port 8866 --ip 127.0.0.1 [voila options]
    python -m workbench.dashboards.serve notebooks/apps --port 8867 --token-env WORKBENCH_LABEL_TOKEN

``make dashboards``, ``make label``, the browser tests and ``benchmarks/bench_dashboard.py``
all start Voilà through here, so what is measured is what is served. It adds to
plain ``voila DIR``:

- a token (``$WORKBENCH_DASHBOARD_TOKEN``, or the variable ``--token-env``
  names, else a random one) and the URL that carries it, printed as JupyterLab
  does; the Host check and the allow-list of pages (``voila_app``); the token
  reaches Voilà through ``$JUPYTER_TOKEN``, never the command line;
- the folder's ``voila.json`` (first on ``--Voila.config_file_paths``): the
  pages it serves (``WorkbenchVoila.pages``) and one preheated kernel for each
  read-only dashboard. It imports pandas, plotly and the workbench before
  anyone asks; the notebook then waits for the viewer
  (``render.wait_for_viewer``), so the data shown is read at request time;
- ``--template=workbench`` when the folder has it in its Jupyter data
  (``DIR/.jupyter``, put first on ``JUPYTER_PATH``): dashboard outputs written
  straight into the page and drawn by plotly.js's basic bundle (bar, scatter,
  pie; a quarter of the full plotly.js, which alone took seconds to evaluate
  in Chromium here).

Voilà replaces this process (``exec``): stopping it stops Voilà.
"""

from __future__ import annotations

import os
import re
import secrets
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


def voila_environment(folder: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment Voilà runs in: the folder's template first on ``JUPYTER_PATH``."""
    env = dict(os.environ if base is None else base)
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(data_dir(folder)), env.get("JUPYTER_PATH")) if p)
    return env


def has_template(folder: Path) -> bool:
    return (data_dir(folder) / "voila" / "templates" / TEMPLATE).is_dir()


def command(folder: Path, *, port: int, ip: str = "127.0.0.1", extra: list[str] | None = None) -> list[str]:
    """The Voilà command line for ``folder`` (``voila_app``); its ``voila.json`` wins over other config files."""
    from jupyter_core.paths import jupyter_config_path

    configs = [str(folder.resolve()), os.getcwd(), *jupyter_config_path()]
    template = [f"--template={TEMPLATE}"] if has_template(folder) else []
    return [sys.executable, "-m", "workbench.dashboards.voila_app", str(folder), "--no-browser", f"--port={port}",
            f"--Voila.ip={ip}", "--Voila.auto_token=True", *template,
            *(f"--Voila.config_file_paths={c}" for c in configs), *(extra or [])]


#: Where ``make dashboards`` takes its token from (a random one when unset).
TOKEN_ENV = "WORKBENCH_DASHBOARD_TOKEN"


def token(variable: str = TOKEN_ENV, base: dict[str, str] | None = None) -> str:
    """The server's token: ``$variable`` if set, else a new random one."""
    env = os.environ if base is None else base
    return env.get(variable) or secrets.token_urlsafe(32)


def url(ip: str, port: int, secret: str) -> str:
    """The address to open, token included, as JupyterLab prints it."""
    host = "localhost" if ip in ("", "0.0.0.0", "::") else ip
    return f"http://{host}:{port}/?token={secret}"


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--port", type=int, default=8866)
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--token-env", default=TOKEN_ENV, metavar="VAR",
                        help=f"environment variable holding the token (default {TOKEN_ENV}; random when unset)")
    args, extra = parser.parse_known_args(argv)
    if has_template(args.folder):
        check_plotly_bundle(args.folder)
    secret = token(args.token_env)
    env = voila_environment(args.folder)
    env["JUPYTER_TOKEN"] = secret
    print(f"Serving {args.folder} at\n    {url(args.ip, args.port, secret)}", flush=True)
    cmd = command(args.folder, port=args.port, ip=args.ip, extra=extra)
    os.execve(cmd[0], cmd, env)


if __name__ == "__main__":
    main()
