"""YAML read as nodes as well as data, so config errors can name the line they are about.

Rules files (checks) and survivorship rules (golden records) both report
"file, line: what is wrong"; both read YAML through here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from workbench.errors import ConfigError


def read_config(path: str | Path, what: str) -> str:
    """The text of a config file; a missing or unreadable one is a ConfigError naming it and ``what`` it is."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no such {what}", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what}: {exc}", path=str(path)) from None


def compose(text: str, path: str | None) -> tuple[yaml.Node | None, Any]:
    """(root node, data) of a YAML document; bad YAML is a ConfigError at its line and column."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"invalid YAML: {problem}", path=path,
                          line=None if mark is None else mark.line + 1,
                          column=None if mark is None else mark.column + 1) from None
    finally:
        loader.dispose()
    return node, data


def child(node: yaml.Node | None, key: str | int) -> yaml.Node | None:
    """The value node under ``key`` (mapping) or at ``key`` (sequence), or None."""
    if isinstance(node, yaml.MappingNode) and isinstance(key, str):
        for k, val in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return val
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        return node.value[key]
    return None


def key_node(node: yaml.Node | None, key: str) -> yaml.Node | None:
    """The node of the key ``key`` itself in a mapping (where an unknown key is reported), or None."""
    if isinstance(node, yaml.MappingNode):
        for k, _ in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return k
    return None


def line(node: yaml.Node | None) -> int | None:
    """1-based line of a node, or None."""
    return None if node is None else node.start_mark.line + 1
