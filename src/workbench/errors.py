"""Exception types shared by the whole package.

Every exception here describes a problem the *user* can fix (a bad file, a
wrong option, a broken config), so its message says where the problem is
(file, line, column) and what is wrong. Bugs in workbench raise ordinary
Python exceptions instead.
"""

from __future__ import annotations

import errno
import sys

__all__ = ["WorkbenchError", "LoadError", "ConfigError", "explain"]


class WorkbenchError(Exception):
    """Base: a problem the user can fix; message names file, line, column, rule where known.

    ``str(err)`` reads like ``"customers.csv, line 12, column 3: message"``;
    the parts that are unknown are left out.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        self.column = column

    def __str__(self) -> str:
        where = [p for p in (self.path,) if p]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else self.message

    def __reduce__(self):  # keep path/line/column when pickled (multiprocessing, caches)
        return (self.__class__, (self.message,), self.__dict__)


class LoadError(WorkbenchError):
    """A data source cannot be loaded (missing file, unreadable, bad header, ...)."""


class ConfigError(WorkbenchError):
    """A YAML/JSON config or rules file is invalid."""


# Python modules of database drivers -> the package that provides them.
_DRIVERS = {"psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary", "MySQLdb": "mysqlclient",
            "pymysql": "pymysql", "pyodbc": "pyodbc", "oracledb": "oracledb", "cx_Oracle": "cx_Oracle",
            "pymssql": "pymssql", "asyncpg": "asyncpg", "pg8000": "pg8000"}
_DISK_FULL = ("No space left on device", "database or disk is full", "Disk quota exceeded")
_DAMAGED = ("file is not a database", "database disk image is malformed")


def explain(exc: BaseException) -> str | None:
    """One line for a failure the user can act on, or None when it is a bug in workbench.

    Besides :class:`WorkbenchError`, the environment fails in a few known ways
    that are not bugs: a full disk, a damaged or unreadable database, a
    database driver that is not installed, a file that cannot be read or
    written. The command line shows these as one line instead of a traceback.
    """
    if isinstance(exc, WorkbenchError):
        return str(exc)
    text = _first_line(exc)
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT) \
            or any(s in text for s in _DISK_FULL):
        filename = getattr(exc, "filename", None)
        where = f" while writing {filename}" if filename else ""
        return f"the disk is full{where}; free some space and run the command again"
    if isinstance(exc, ImportError):
        module = (exc.name or "").split(".")[0]
        if module == "workbench":
            return None  # a broken import inside workbench is a bug
        if module in _DRIVERS:
            return (f"the database driver {module!r} is not installed; install it "
                    f"(pip install {_DRIVERS[module]}) or name an installed driver in the URL")
        if module:
            return f"a required package is not installed: no module named {module!r}"
        return None
    if _is_sqlalchemy(exc, "NoSuchModuleError"):
        return f"no database driver for this URL ({text}); check the URL's scheme"
    if _is_database_error(exc):
        if any(s in text for s in _DAMAGED):
            return f"the database file is damaged or is not a database ({text})"
        return f"database error: {text}"
    if isinstance(exc, OSError) and exc.errno is not None:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or text}"
    return None


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)  # SQLAlchemy wraps the driver's error
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _is_sqlalchemy(exc: BaseException, name: str) -> bool:
    sa_exc = sys.modules.get("sqlalchemy.exc")
    return sa_exc is not None and isinstance(exc, getattr(sa_exc, name))


_ENVIRONMENT_DB_ERRORS = ("DatabaseError", "OperationalError", "InterfaceError")


def _is_database_error(exc: BaseException) -> bool:
    """A database that cannot be opened, reached or written (SQLAlchemy's or the driver's own error).

    Only the DB-API classes for the environment: OperationalError (locked, no
    connection, disk), InterfaceError, and a plain DatabaseError (a damaged
    file). IntegrityError or ProgrammingError mean our SQL is wrong: a bug.
    """
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is not None and isinstance(exc, sa_exc.DBAPIError):
        exc = exc.orig if isinstance(exc.orig, Exception) else exc
    name, module = type(exc).__name__, type(exc).__module__.split(".")[0]
    return name in _ENVIRONMENT_DB_ERRORS and module in ("sqlite3", "psycopg", "psycopg2", "MySQLdb",
                                                          "pymysql", "sqlalchemy")
