"""Keyboard shortcuts for a widget app: ipywidgets has no key events, so a tiny anywidget listens.

The browser side listens on the window (capture phase, so JupyterLab's own
command-mode shortcuts do not take the key first) and sends each chosen key
to Python, where ``on_key`` receives it. Only one app on a page owns the
keyboard: the one rendered last, or the one the user last clicked in; clicking
elsewhere releases it, and keys typed into inputs, cells or editors are never
taken. Held keys do not repeat, so holding "y" cannot label a run of pairs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import anywidget
import traitlets

log = logging.getLogger(__name__)

_ESM = r"""
const EDITABLE = "input, textarea, select, [contenteditable=''], [contenteditable='true'], .cm-editor, .CodeMirror";

function render({ model, el }) {
  const me = {};
  const root = () => {
    const scope = model.get("scope");
    return (scope && el.closest(scope)) || el.parentElement || el;
  };
  el.classList.add("wb-keys");
  const hint = document.createElement("span");
  hint.className = "wb-keys-hint";
  el.appendChild(hint);
  const update = () => {
    const active = globalThis.__wbKeyOwner === me;
    el.classList.toggle("wb-keys-active", active);
    hint.textContent = active ? "\u2328 keys active: " + model.get("legend")
                              : "\u2328 click the app to use keys: " + model.get("legend");
  };
  const claim = () => {
    const previous = globalThis.__wbKeyOwner;
    globalThis.__wbKeyOwner = me;
    if (previous && previous.update) previous.update();
    update();
  };
  me.update = update;
  const onPointer = (ev) => {
    if (root().contains(ev.target)) {
      if (globalThis.__wbKeyOwner !== me) claim();
    } else if (globalThis.__wbKeyOwner === me) {
      globalThis.__wbKeyOwner = null;
      update();
    }
  };
  const onKey = (ev) => {
    if (globalThis.__wbKeyOwner !== me || !el.isConnected) return;
    if (ev.repeat || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const target = ev.target;
    if (target && target.closest && target.closest(EDITABLE)) return;
    const key = ev.key.length === 1 ? ev.key.toLowerCase() : ev.key;
    if (!model.get("shortcuts").includes(key)) return;
    ev.preventDefault();
    ev.stopPropagation();
    model.send({ key: key });
  };
  window.addEventListener("keydown", onKey, true);
  document.addEventListener("pointerdown", onPointer, true);
  model.on("change:legend", update);
  claim();
  return () => {
    window.removeEventListener("keydown", onKey, true);
    document.removeEventListener("pointerdown", onPointer, true);
    if (globalThis.__wbKeyOwner === me) globalThis.__wbKeyOwner = null;
  };
}

export default { render };
"""

_CSS = """
.wb-keys { font-size: 12px; color: #8c959f; padding: 2px 0; }
.wb-keys.wb-keys-active { color: #1a7f37; }
"""


class KeyListener(anywidget.AnyWidget):
    """Sends the chosen keys pressed in the browser to ``on_key(key)`` (e.g. ``"y"``, ``"Backspace"``)."""

    _esm = _ESM
    _css = _CSS
    shortcuts = traitlets.List(traitlets.Unicode()).tag(sync=True)
    legend = traitlets.Unicode("").tag(sync=True)
    scope = traitlets.Unicode("").tag(sync=True)

    def __init__(self, keys: Sequence[str], on_key: Callable[[str], None], *, legend: str = "",
                 scope: str = "", **kwargs):
        super().__init__(shortcuts=list(keys), legend=legend, scope=scope, **kwargs)
        self._on_key = on_key
        self.on_msg(self._on_custom_msg)

    def _on_custom_msg(self, _widget, content, _buffers) -> None:
        key = content.get("key") if isinstance(content, dict) else None
        if key in self.shortcuts:
            self._on_key(key)
        else:
            log.debug("ignored key message %r", content)
