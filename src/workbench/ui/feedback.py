"""How the apps report a failed action: one guard for every callback, one line of text per error.

A widget callback that raises is otherwise only logged by ipywidgets, where
no analyst looks. Apps decorate their callbacks with ``guarded``; an error
is logged and handed to the app's ``_fail(exc)``, which shows it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from workbench.errors import WorkbenchError

log = logging.getLogger("workbench.ui")


def error_text(exc: BaseException) -> str:
    """One line for the analyst: a WorkbenchError's own message, else the exception's type and message."""
    return str(exc) if isinstance(exc, WorkbenchError) else f"{type(exc).__name__}: {exc}"


def log_error(where: str, exc: BaseException) -> None:
    """A WorkbenchError as its message; anything else with its traceback."""
    if isinstance(exc, WorkbenchError):
        log.error("%s: %s", where, exc)
    else:
        log.error("%s: action failed", where, exc_info=exc)


def guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate an app's callback: an error is logged and shown by the app's ``_fail``, never lost."""
    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:  # shown to the analyst, never swallowed silently
            log_error(type(self).__name__, exc)
            self._fail(exc)
            return None
    return run
