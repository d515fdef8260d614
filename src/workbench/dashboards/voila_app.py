"""Voilà with jupyter_server's own guards switched on: token, Host check, and an allow-list of pages.

Voilà 0.5 standalone builds its tornado settings with ``allow_remote_access=True``
(no Host check: DNS rebinding) and, without a token, serves anyone. This app
keeps Voilà and changes only that:

- the token is jupyter_server's ``IdentityProvider`` token (``Voila.auto_token``
  with ``$JUPYTER_TOKEN``, set by ``serve.py``: never on the command line, where
  other users of the host could read it); the first ``?token=`` request sets a
  login cookie for the page's websocket. A request without it gets 403, not a
  login form;
- ``allow_remote_access=False`` and ``local_hostnames``: a request whose
  ``Host`` is not this machine (``Host: evil.example``) gets 403; a request
  that rides on the login cookie with an ``Origin`` other than the Host is
  refused (jupyter_server's check, on pages, the API and kernel websockets;
  a request carrying the token itself is trusted, as in jupyter_server);
- ``WorkbenchVoila.pages``: only the listed notebooks render; any other path
  under the folder is 404, whatever is in it;
- ``/voila/query/<kernel id>``, where a preheated kernel waits for its
  request's details (path and query string, token included), answers only a
  client holding the token: Voilà's handler serves anyone who names a kernel
  id. The kernels inherit ``$JUPYTER_TOKEN`` and present it
  (``render.wait_for_viewer``).

Run by ``python -m workbench.dashboards.serve``; not meant to be started by hand.
"""

from __future__ import annotations

import hmac

from tornado import web
from traitlets import List, Unicode
from voila.app import Voila
from voila.request_info_handler import RequestInfoSocketHandler
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.treehandler import TornadoVoilaTreeHandler


class _Guarded:
    """403 for anyone the identity provider does not know (no token, no login cookie)."""

    async def prepare(self):
        # jupyter_server's own check, told to answer 403 instead of redirecting to a login form
        await super().prepare(_redirect_to_login=False)
        if not self.current_user:  # pragma: no cover - the call above already refused
            raise web.HTTPError(403, "a token is needed: open the URL printed when the server started")
        if not self.check_origin():  # a page of another site riding on the login cookie
            raise web.HTTPError(403, "cross-origin request refused")


class QueryHandler(RequestInfoSocketHandler):
    """A preheated kernel's wait for its request: only a client with the server's token may listen."""

    async def get(self, *args, **kwargs):
        expected = getattr(self.settings.get("identity_provider"), "token", "") or ""
        given = self.get_argument("token", "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            raise web.HTTPError(403, "a token is needed")
        return await super().get(*args, **kwargs)


class TreeHandler(_Guarded, TornadoVoilaTreeHandler):
    pass


class PageHandler(_Guarded, TornadoVoilaHandler):
    """Renders a notebook only when it is on the allow-list."""

    pages: frozenset[str] = frozenset()

    async def get(self, path=None):
        if (path or "").strip("/") not in self.pages:
            raise web.HTTPError(404, "not a page of this server")
        return await super().get(path)


class WorkbenchVoila(Voila):
    """Voilà serving only ``pages``, behind a token, to local Host names."""

    name = "voila"
    pages = List(Unicode(), config=True, help="Notebooks (paths relative to the folder) this server renders.")
    local_hostnames = List(Unicode(), default_value=["localhost"], config=True,
                           help="Host names (besides loopback addresses) a request may name in its Host header.")

    def init_settings(self):
        settings = super().init_settings()
        settings["allow_remote_access"] = False
        settings["local_hostnames"] = list(self.local_hostnames)
        return settings

    def init_handlers(self):
        page_handler = type("AllowListedPageHandler", (PageHandler,), {"pages": frozenset(self.pages)})
        swap = {TornadoVoilaHandler: page_handler, TornadoVoilaTreeHandler: TreeHandler,
                RequestInfoSocketHandler: QueryHandler}
        return [(h[0], swap.get(h[1], h[1]), *h[2:]) for h in super().init_handlers()]


main = WorkbenchVoila.launch_instance

if __name__ == "__main__":
    main()
