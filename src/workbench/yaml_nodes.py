"""YAML read as nodes as well as data, so config errors can name the line they are about.

Rules files (checks), survivorship rules (golden records) and consent
mappings all report "file, line: what is wrong"; all read YAML through here,
with one rule for a node's error, a "did you mean" hint and a format version.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
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


def error_at(message: str, path: str | None, node: yaml.Node | None) -> ConfigError:
    """A ConfigError at ``node``'s line and column (the file alone when there is no node)."""
    if node is None:
        return ConfigError(message, path=path)
    return ConfigError(message, path=path, line=line(node), column=node.start_mark.column + 1)


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or an empty string."""
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def format_version(value: Any, current: int, what: str, path: str | None, node: yaml.Node | None) -> int:
    """A file's ``version:``: a whole number no newer than ``current``, else a ConfigError at ``node``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise error_at(f"version must be a whole number, got {value!r}", path, node)
    if value > current:
        raise error_at(f"{what} version {value} is newer than this workbench understands ({current})", path, node)
    return value
