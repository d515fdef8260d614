"""Rules files: a versioned YAML list of rules plus purposes, with errors that point at lines.

::

    version: 1
    default_region: US        # phone numbers without +country code (optional)
    rules:
      - check: valid_email
        column: email
        mostly: 0.98
    purposes:
      email_marketing: [valid_email, consent_present]

A purpose lists rule names or check kinds (meaning every rule of that kind);
a row is fit for a purpose when all of its rules pass on that row.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from workbench.checks import validators as v
from workbench.checks.library import Rule, RuleError, checked_region
from workbench.errors import ConfigError
from workbench.yaml_nodes import child as _child
from workbench.yaml_nodes import compose as _compose
from workbench.yaml_nodes import error_at as _error
from workbench.yaml_nodes import format_version, read_config

__all__ = ["RULES_FORMAT_VERSION", "RuleSet", "dump_rules", "load_rules", "resolve_members", "to_yaml"]

RULES_FORMAT_VERSION = 1
_TOP_KEYS = ("version", "description", "default_region", "rules", "purposes")


@dataclass
class RuleSet:
    """Rules and named purposes; round-trips through ``to_yaml``/``from_yaml``."""

    rules: list[Rule] = field(default_factory=list)
    purposes: dict[str, list[str]] = field(default_factory=dict)
    version: int = RULES_FORMAT_VERSION
    #: Region (ISO code) for phone numbers without +country code, where a rule names none.
    default_region: str | None = None

    def __post_init__(self) -> None:
        self.rules = list(self.rules)
        self.purposes = {p: list(m) for p, m in self.purposes.items()}
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ConfigError(f"two rules are named {rule.name!r}; give one of them a 'name:'")
            seen.add(rule.name)
        for purpose, members in self.purposes.items():
            resolve_members(members, self.rules, purpose=purpose)
        if self.default_region is not None:
            self.default_region = checked_region(self.default_region)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def __getitem__(self, name: str) -> Rule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(f"no rule named {name!r}; rules: {', '.join(self.names)}")

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.rules]

    def purpose_rules(self, purpose: str) -> list[Rule]:
        """The rules a purpose stands for."""
        return resolve_members(self.purposes[purpose], self.rules, purpose=purpose)

    # -- checking against data ------------------------------------------------
    def validate_against(self, frame: pd.DataFrame) -> list[str]:
        """Problems running these rules on ``frame`` would hit, one message per problem, naming the rule.

        Missing columns, numeric/date checks on columns whose values mostly do
        not read as numbers/dates, text checks on non-text columns, and
        postcode checks for countries without a known pattern.
        """
        problems: list[str] = []
        for rule in self.rules:
            missing = [c for c in rule.columns if c not in frame.columns]
            if missing:
                problems.append(f"rule {rule.name!r}: column {missing[0]!r} is not in the data; "
                                f"columns: {', '.join(map(str, frame.columns))}")
                continue
            problem = _type_problem(rule, frame)
            if problem:
                problems.append(f"rule {rule.name!r}: {problem}")
        return problems

    # -- (de)serialization ------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"version": self.version}
        if self.default_region is not None:
            d["default_region"] = self.default_region
        d["rules"] = [r.to_dict() for r in self.rules]
        if self.purposes:
            d["purposes"] = {p: list(m) for p, m in self.purposes.items()}
        return d

    def _yaml_data(self) -> dict[str, Any]:
        d = self.to_dict()
        if "purposes" in d:
            d["purposes"] = {p: _Block(m) for p, m in d["purposes"].items()}
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RuleSet:
        return _build(d, None, None, None)

    def to_yaml(self) -> str:
        return to_yaml(self._yaml_data())

    @classmethod
    def from_yaml(cls, text: str, *, path: str | None = None, columns: Iterable[str] | None = None) -> RuleSet:
        """Parse a rules file's text; errors are ``ConfigError`` with ``path`` and the line."""
        node, data = _compose(text, path)
        return _build(data, node, path, None if columns is None else [str(c) for c in columns])


def load_rules(path: str | Path, columns: Iterable[str] | None = None) -> RuleSet:
    """Read a rules YAML file; with ``columns``, rules naming other columns are errors too."""
    text = read_config(path, "rules file")
    return RuleSet.from_yaml(text, path=str(path), columns=columns)


def dump_rules(rules: RuleSet | Iterable[Rule], path: str | Path) -> Path:
    """Write rules as YAML (creating folders); returns the path."""
    ruleset = rules if isinstance(rules, RuleSet) else RuleSet(list(rules))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ruleset.to_yaml(), encoding="utf-8")
    return path


def resolve_members(members: Sequence[str], rules: Sequence[Rule], *, purpose: str = "purpose") -> list[Rule]:
    """Rules named by a purpose's members: a rule name, or a check kind meaning all its rules."""
    if isinstance(members, str) or not isinstance(members, Sequence):
        raise ConfigError(f"purpose {purpose!r} must list rule names or checks, got {members!r}")
    by_name = {r.name: r for r in rules}
    out: list[Rule] = []
    for member in members:
        if member in by_name:
            found = [by_name[member]]
        else:
            found = [r for r in rules if r.check == member]
        if not found:
            close = difflib.get_close_matches(str(member), list(by_name), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"purpose {purpose!r} names {member!r}, which is neither a rule name nor a check "
                              f"used by the rules{hint}; rules: {', '.join(by_name) or 'none'}")
        taken = {r.name for r in out}
        out += [r for r in found if r.name not in taken]
    return out


# --------------------------------------------------------------------------
# YAML out: block mappings (one key per line), short lists of scalars inline


class _Dumper(yaml.SafeDumper):
    pass


def _represent_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    flat = all(not isinstance(x, (dict, list)) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


class _Block(list):
    """A list always written one item per line (purpose members)."""


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(
    _Block, lambda d, data: d.represent_sequence("tag:yaml.org,2002:seq", list(data), flow_style=False))


def to_yaml(data: Any, *, block_lists: bool = False) -> str:
    """YAML text as a person would write a rules file (``block_lists``: one list item per line)."""
    if block_lists and isinstance(data, list):
        data = _Block(data)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False,
                     width=100)


# --------------------------------------------------------------------------
# YAML with line numbers


def _build(data: Any, root: yaml.Node | None, path: str | None, columns: list[str] | None) -> RuleSet:
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise _error("a rules file must be a mapping with 'version:' and 'rules:'", path, root)
    for key in data:
        if key not in _TOP_KEYS:
            raise _error(f"unknown section {key!r}; a rules file has: {', '.join(_TOP_KEYS)}", path,
                         _key_node(root, key))
    version = format_version(data.get("version", RULES_FORMAT_VERSION), RULES_FORMAT_VERSION, "rules format", path,
                             _child(root, "version"))
    items = data.get("rules") or []
    rules_node = _child(root, "rules")
    if not isinstance(items, list):
        raise _error("'rules:' must be a list of rules", path, rules_node)
    rules: list[Rule] = []
    names: dict[str, int] = {}
    for i, item in enumerate(items):
        node = _child(rules_node, i)
        rule = _build_rule(item, node, path)
        if columns is not None:
            for col in rule.columns:
                if col not in columns:
                    close = difflib.get_close_matches(col, columns, n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    raise _error(f"rule {rule.name!r} names column {col!r}, which the data does not have{hint}; "
                                 f"columns: {', '.join(columns)}", path, _column_node(node, col))
        if rule.name in names:
            raise _error(f"two rules are named {rule.name!r} (the other is rule {names[rule.name] + 1}); "
                         "give one of them a 'name:'", path, node)
        names[rule.name] = i
        rules.append(rule)
    purposes = data.get("purposes") or {}
    purposes_node = _child(root, "purposes")
    if not isinstance(purposes, Mapping):
        raise _error("'purposes:' must map a purpose name to a list of rule names or checks", path, purposes_node)
    for purpose, members in purposes.items():
        pnode = _child(purposes_node, str(purpose))
        if isinstance(members, str):
            members = [members]
        if not isinstance(members, list):
            raise _error(f"purpose {purpose!r} must list rule names or checks", path, pnode)
        for j, member in enumerate(members):
            try:
                resolve_members([member], rules, purpose=str(purpose))
            except ConfigError as exc:
                raise _error(exc.message, path, _child(pnode, j) or pnode) from None
    region = data.get("default_region")
    if region is not None:
        try:
            RuleSet([], default_region=region)
        except ConfigError as exc:
            raise _error(exc.message, path, _child(root, "default_region")) from None
    return RuleSet(rules, {str(p): [m] if isinstance(m, str) else list(m) for p, m in purposes.items()}, version,
                   default_region=region)


def _build_rule(item: Any, node: yaml.Node | None, path: str | None) -> Rule:
    if isinstance(item, Mapping):
        _refuse_yaml_booleans(item, node, path)
    try:
        return Rule.from_dict(item)
    except RuleError as exc:
        target = _child(node, exc.field) if exc.field else None
        if target is None and exc.field:
            target = _child(_child(node, "params"), exc.field)
        raise _error(exc.message, path, target or node) from None


def _refuse_yaml_booleans(item: Mapping[str, Any], node: yaml.Node | None, path: str | None) -> None:
    """YAML 1.1 reads yes/no/on/off as booleans; in a list of values that is almost never meant."""
    values_node = _child(node, "values")
    if not isinstance(values_node, yaml.SequenceNode):
        return
    for child in values_node.value:
        if (isinstance(child, yaml.ScalarNode) and child.tag.endswith(":bool") and child.style is None
                and child.value.lower() not in ("true", "false")):
            raise _error(f"YAML reads {child.value!r} as a boolean; quote it ('{child.value}') to mean the text",
                         path, child)


def _key_node(root: yaml.Node | None, key: Any) -> yaml.Node | None:
    if isinstance(root, yaml.MappingNode):
        for k, _ in root.value:
            if isinstance(k, yaml.ScalarNode) and k.value == str(key):
                return k
    return root


def _column_node(node: yaml.Node | None, column: str) -> yaml.Node | None:
    """The node that names ``column`` inside a rule (its column, a column parameter, an expression)."""
    if isinstance(node, yaml.MappingNode):
        for key, val in node.value:
            if key.value != "check" and isinstance(val, yaml.ScalarNode) and val.value == column:
                return val
        expr = _child(node, "expr")
        if expr is not None:
            return expr
    return node


# --------------------------------------------------------------------------
# column-type problems

_NUMERIC_CHECKS = ("in_range",)
_DATE_CHECKS = ("not_in_future", "age_between", "freshness", "dates_ordered")


def _type_problem(rule: Rule, frame: pd.DataFrame) -> str | None:
    col = frame[rule.column] if rule.column else None
    if col is None:
        return None
    _, uniques = v.distinct(col)
    sample = uniques.head(2000)
    if not len(sample):
        return None
    if rule.check in _NUMERIC_CHECKS and not pd.api.types.is_numeric_dtype(col):
        dated = isinstance(rule.params.get("min"), str) or isinstance(rule.params.get("max"), str)
        share = (v.parse_dates(sample).notna() if dated else pd.to_numeric(sample, errors="coerce").notna()).mean()
        if share < 0.9:
            what = "dates" if dated else "numbers"
            return (f"{rule.check} on column {rule.column!r}, whose values are text that mostly does not read "
                    f"as {what} ({share:.0%} of distinct values do)")
    if rule.check in _DATE_CHECKS and not pd.api.types.is_datetime64_any_dtype(col):
        share = v.parse_dates(sample).notna().mean()
        if share < 0.5:
            return (f"{rule.check} on column {rule.column!r}, whose values mostly do not read as dates "
                    f"({share:.0%} of distinct values do)")
    if rule.check in ("length", "matches", "valid_email") and (
        pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col)
    ):
        return f"{rule.check} is a text check but column {rule.column!r} holds {col.dtype}"
    if rule.check == "valid_postcode" and rule.params.get("country") is not None:
        code = v.postal_country(rule.params["country"])
        if code not in v.POSTCODE_PATTERNS:
            return (f"no postcode pattern for country {rule.params['country']!r}, so no row will be tested; "
                    f"known: {', '.join(sorted(v.POSTCODE_PATTERNS))}")
    return None
