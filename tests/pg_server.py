"""A throw-away PostgreSQL server for tests, started as an unprivileged user.

Use the fixtures by binding them in a test module::

    import pg_server as pg
    pg_server, pg_database = pg.pg_server, pg.pg_database

``pg_server`` (session) starts Debian's PostgreSQL on a free port of
127.0.0.1 with trust authentication, in a folder of its own, and stops it at
the end; ``pg_database`` (function) gives each test a fresh, empty database as
a SQLAlchemy URL. The server refuses to run as root, so as root it runs as the
``postgres`` user (``runuser``). Tests are skipped when no server binaries or
no ``psycopg`` driver are installed.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER = "wb"


@dataclass
class PgServer:
    host: str
    port: int
    folder: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(host=self.host, port=self.port, user=SUPERUSER, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _bin_dir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(argv: list[str]) -> list[str]:
    """Run as ``postgres`` when we are root (the server refuses root), else as ourselves."""
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


def start(folder: Path) -> PgServer:
    """initdb + pg_ctl start in ``folder`` (which the server user must own)."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL server binaries (initdb) installed")
    port = _free_port()
    data = folder / "data"

    def run(*argv: str) -> None:
        subprocess.run(_as_server_user([str(bin_dir / argv[0]), *argv[1:]]), check=True,
                       capture_output=True, text=True, timeout=120)

    run("initdb", "-D", str(data), "-A", "trust", "-U", SUPERUSER, "--no-sync")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
    run("pg_ctl", "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "-t", "60", "start")
    return PgServer("127.0.0.1", port, folder)


def stop(server: PgServer) -> None:
    bin_dir = _bin_dir()
    subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(server.folder / "data"), "-m", "fast",
                                    "-w", "stop"]), capture_output=True, timeout=120)


def _server_folder() -> Path:
    # not under pytest's tmp folders: those are private to root, and the server user must reach it
    folder = Path(tempfile.mkdtemp(prefix="workbench-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
    return folder


def _missing(reason: str) -> None:
    """In CI a missing piece fails the run (never a silent skip); elsewhere the tests skip."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} in CI")
    pytest.skip(reason)


def _install_server() -> None:
    """As root in CI, installing Debian's server is part of the set-up."""
    if os.environ.get("CI") == "true" and os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "-q", "postgresql"], env=env, capture_output=True, timeout=900)


@pytest.fixture(scope="session")
def pg_server():
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _missing("the PostgreSQL store needs the psycopg driver (pip install -e '.[dev]')")
    if _bin_dir() is None:
        _install_server()
    if _bin_dir() is None:
        _missing("no PostgreSQL server binaries installed (apt-get install -y postgresql)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            _missing("running as root and there is no postgres user to run the server as")
    folder = _server_folder()
    server = start(folder)
    try:
        yield server
    finally:
        stop(server)
        shutil.rmtree(folder, ignore_errors=True)


_numbers = itertools.count(1)


@pytest.fixture
def pg_database(pg_server) -> str:
    """A fresh database on the test server, as a SQLAlchemy URL."""
    return pg_server.create_database(f"test_{os.getpid()}_{next(_numbers)}")
