"""Read-only dashboard pages for Voilà: each reads stored results, never recomputes.

A dashboard notebook is a few cells calling one ``show_*`` function here, on a
workspace opened with ``open_workspace``: read-only (no migration, no writes)
and as ``access.DASHBOARD_USER``, a viewer. Personal data is masked; asking a
page for unmasked data goes through ``access.authorize_reveal``, which a
read-only workspace always refuses. IPython is imported lazily, so
``import workbench`` stays free of it.
"""

from __future__ import annotations

from pathlib import Path


def open_workspace(path: str | Path | None = None):
    """The workspace as a dashboard kernel sees it: read-only, acting as the dashboard viewer."""
    from workbench.access import DASHBOARD_USER
    from workbench.workspace import Workspace

    return Workspace(path, read_only=True, user=DASHBOARD_USER)


def reveal_allowed(ws, page: str, masked: bool) -> None:
    """Refuse (and audit, where allowed) an unmasked page: the check runs in the kernel, not in a widget."""
    if not masked:
        from workbench.access import authorize_reveal

        authorize_reveal(ws, f"{page} dashboard")
