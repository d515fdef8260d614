"""Who may do what in a workspace: users, their roles, and the rule for revealing personal data.

Roles, weakest first: ``viewer`` (reads masked dashboards), ``analyst``
(labels, reviews, runs), ``steward`` (also reveals personal data and settles
conflicts), ``admin`` (also grants roles). A name the users table does not
know is a viewer. The first user to open a new workspace becomes its admin.

Identity is not taken from a free flag:

- on the command line it is the OS login (``getpass``); ``--user NAME`` is
  accepted only from an admin, who then acts for NAME (the audit log records
  the admin's ``act_as`` first);
- in a Voilà dashboard kernel it is ``DASHBOARD_USER``: the page's viewer,
  whatever token they came in with, is a viewer unless an admin granted that
  name more (``workbench users grant dashboard steward``) -- and even then a
  read-only workspace cannot audit a reveal, so dashboards never unmask;
- in Python (a notebook, a script, an app served to the analyst who started
  it) it is ``Workspace(path, user=...)``, else ``$WORKBENCH_USER``, else the OS
  login: whoever runs Python there can write the store's file anyway. A name
  is a claim, so every audit entry written under a name other than the
  authenticated login (:func:`login`: the database's session user on a
  PostgreSQL store, which the server authenticated, else the OS login)
  carries that login too.
"""

from __future__ import annotations

import getpass
from typing import Any

import pandas as pd
import sqlalchemy as sa

from workbench import store
from workbench.errors import WorkbenchError

#: Roles, weakest first; each may do what the ones before it may.
ROLES = ("viewer", "analyst", "steward", "admin")
DEFAULT_ROLE = "viewer"
#: Who a dashboard kernel acts as (a viewer unless granted more).
DASHBOARD_USER = "dashboard"
_REVEAL = frozenset({"steward", "admin"})


class AccessDenied(WorkbenchError):
    """The acting user's role does not allow this."""


def os_user() -> str:
    """The OS login name: the command line's identity."""
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def login(engine: sa.engine.Engine) -> str:
    """Who is authenticated behind a workspace: the session user of a PostgreSQL store, else the OS login."""
    if engine.dialect.name == "postgresql":
        try:
            with engine.connect() as conn:
                return str(conn.execute(sa.text("SELECT session_user")).scalar())
        except sa.exc.DBAPIError:
            pass
    return os_user()


def check_role(role: str) -> str:
    """``role`` if it is one of ``ROLES``; otherwise a one-line error naming the roles."""
    if role not in ROLES:
        raise WorkbenchError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    return role


def at_least(role: str, needed: str) -> bool:
    """Whether ``role`` may do what ``needed`` may."""
    return ROLES.index(check_role(role)) >= ROLES.index(check_role(needed))


def can_reveal(role: str) -> bool:
    """Only stewards and admins may see personal data unmasked."""
    return role in _REVEAL


def role_of(ws: Any, name: str) -> str:
    """The role of ``name`` in ``ws`` (``DEFAULT_ROLE`` if unknown, or if the store has no users table yet)."""
    t = store.users_table
    try:
        with ws.engine.connect() as conn:
            row = conn.execute(sa.select(t.c.role).where(t.c.name == name)).first()
    except sa.exc.DBAPIError:  # an older store a read-only opener may not migrate
        return DEFAULT_ROLE
    return row[0] if row and row[0] in ROLES else DEFAULT_ROLE


def session_role(ws: Any) -> str:
    """The role of the workspace's user; in a writable workspace without users, that user becomes admin.

    One ``INSERT ... WHERE NOT EXISTS`` statement, so two processes creating
    the workspace at once make one admin, not two.
    """
    t = store.users_table
    if not getattr(ws, "read_only", False) and not _has_users(ws):  # a read first: no write lock per open
        first = sa.select(sa.literal(ws.user), sa.literal("admin"), sa.literal(ws.user),
                          sa.literal(store.now(), sa.DateTime(timezone=True)))
        first = first.where(~sa.exists(sa.select(t.c.name)))
        with store.write_transaction(ws.engine, lock="workbench-users") as conn:  # atomic on PostgreSQL too
            made = conn.execute(t.insert().from_select(["name", "role", "granted_by", "granted_at"], first)).rowcount
        if made:
            ws.record("grant", ws.user, role="admin", reason="first user of the workspace")
    return role_of(ws, ws.user)


def _has_users(ws: Any) -> bool:
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(store.users_table.c.name).limit(1)).first() is not None


def require(ws: Any, needed: str, what: str) -> None:
    """Refuse ``what`` unless the workspace's user has at least role ``needed``."""
    if not at_least(ws.role, needed):
        raise AccessDenied(f"{what} needs the {needed} role; {ws.user!r} is a {ws.role} in this workspace "
                           f"(an admin grants roles: workbench users grant NAME ROLE)")


def grant(ws: Any, name: str, role: str) -> None:
    """Give ``name`` the role ``role`` (admins only; audited)."""
    check_role(role)
    name = str(name).strip()
    if not name:
        raise WorkbenchError("a user name is needed")
    require(ws, "admin", "granting roles")
    t = store.users_table
    before = role_of(ws, name)
    with ws.engine.begin() as conn:
        known = conn.execute(sa.select(t.c.name).where(t.c.name == name)).first()
        values = dict(role=role, granted_by=ws.user, granted_at=store.now())
        if known:
            conn.execute(t.update().where(t.c.name == name).values(**values))
        else:
            conn.execute(t.insert().values(name=name, **values))
    ws.record("grant", name, role=role, before=before)
    if name == ws.user:
        ws.role = role


def users(ws: Any) -> pd.DataFrame:
    """Every user with a role: name, role, granted_by, granted_at."""
    t = store.users_table
    with ws.engine.connect() as conn:
        return pd.read_sql(sa.select(t).order_by(t.c.name), conn)


def act_as(ws: Any, name: str) -> None:
    """Let an admin act for ``name`` (the command line's ``--user``); recorded before anything else."""
    if name == ws.user:
        return
    if ws.role != "admin":
        raise AccessDenied(f"--user {name}: identity comes from your OS login ({ws.user!r}, a {ws.role} here); "
                           "only an admin may act for another user")
    ws.record("act_as", name, admin=ws.user)
    ws.user = name
    ws.role = role_of(ws, name)


def authorize_reveal(ws: Any, what: str) -> None:
    """Check that the workspace's user may see ``what`` unmasked, and audit it; raise otherwise.

    The one gate for every unmasked view (widgets, dashboards, reports): the
    kernel-side code calls it, whatever a widget allowed. A read-only
    workspace cannot record the reveal, so it never reveals.
    """
    if not can_reveal(ws.role):
        raise AccessDenied(f"revealing personal data needs the steward or admin role; {ws.user!r} is a "
                           f"{ws.role} here, so personal data stays masked")
    if getattr(ws, "read_only", False):
        raise AccessDenied("personal data is not revealed in a read-only workspace (a dashboard): "
                           "a reveal must be audited")
    ws.record("reveal", what, role=ws.role)
