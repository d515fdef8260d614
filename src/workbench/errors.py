"""Exception types shared by the whole package.

Every exception here describes a problem the *user* can fix (a bad file, a
wrong option, a broken config), so its message says where the problem is
(file, line, column) and what is wrong. Bugs in workbench raise ordinary
Python exceptions instead.
"""

from __future__ import annotations

__all__ = ["WorkbenchError", "LoadError", "ConfigError"]


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
