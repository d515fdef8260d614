"""Survivorship rules: which member of a cluster gives each golden value.

A field, or a *group* of fields that must come from one record (street, city
and postcode of one address), has an ordered chain of rules. The first rule
ranks the members that have a value, the next one breaks its ties, and the
smallest record key breaks whatever tie is left, so a golden record never
depends on row order. Rules are typed data that round-trip through YAML::

    version: 1
    recency: signup_date            # the date most_recent uses when a rule names no 'by:'
    default: [most_frequent, most_complete]
    fields:
      first_name: [most_frequent, longest]
      phone:
        - source_priority: [crm, ecom, pos]
        - most_recent: {by: signup_date}
      tier:
        - custom: mypackage.survivorship.best_tier
    groups:
      address:
        fields: [street, city, postcode, state]
        rules: [most_recent, most_complete]

Errors in a rules file name the file and line.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from workbench.errors import ConfigError
from workbench.schema import Role, Schema
from workbench.yaml_nodes import child as _child
from workbench.yaml_nodes import compose as _compose
from workbench.yaml_nodes import did_you_mean as _hint
from workbench.yaml_nodes import format_version, read_config
from workbench.yaml_nodes import key_node as _key
from workbench.yaml_nodes import line as _line

__all__ = [
    "RULES_FORMAT_VERSION",
    "RULE_KINDS",
    "Group",
    "SurvivorshipStep",
    "SurvivorshipRules",
    "Unit",
    "custom",
    "earliest",
    "load_survivorship_rules",
    "longest",
    "most_complete",
    "most_frequent",
    "most_recent",
    "party_priority",
    "source_priority",
]

RULES_FORMAT_VERSION = 1

#: Every rule kind, as written in YAML.
RULE_KINDS = ("source_priority", "party_priority", "most_recent", "earliest", "most_complete", "most_frequent", "longest",
              "custom")
_TOP_KEYS = ("version", "description", "recency", "default", "fields", "groups")
_GROUP_KEYS = ("fields", "rules")


@dataclass(frozen=True)
class SurvivorshipStep:
    """One ranking step. Build with the functions below (``most_recent(by="signup_date")``).

    ``sources``: the order of ``source_priority``; ``by``: the date column of
    ``most_recent``/``earliest`` (None: the rules' ``recency`` column);
    ``function``: the callable of ``custom`` or its dotted import path.
    """

    kind: str
    sources: tuple[str, ...] = ()
    by: str | None = None
    function: Callable[..., Any] | str | None = None

    def __post_init__(self) -> None:
        if self.kind not in RULE_KINDS:
            raise ConfigError(f"unknown survivorship rule {self.kind!r}{_hint(self.kind, RULE_KINDS)}; "
                              f"rules: {', '.join(RULE_KINDS)}")
        object.__setattr__(self, "sources", tuple(str(s) for s in self.sources))
        if self.kind == "source_priority" and not self.sources:
            raise ConfigError("source_priority needs the sources in order, e.g. source_priority('crm', 'ecom')")
        if self.kind == "custom" and self.function is None:
            raise ConfigError("custom needs a function (a callable, or its dotted import path in YAML)")
        if self.by is not None and self.kind not in ("most_recent", "earliest"):
            raise ConfigError(f"{self.kind} takes no 'by:' column (only most_recent and earliest do)")

    def __str__(self) -> str:
        if self.kind == "source_priority":
            return f"source_priority({', '.join(self.sources)})"
        if self.by:
            return f"{self.kind}(by={self.by})"
        if self.kind == "custom":
            return f"custom({_function_path(self.function, strict=False)})"
        return self.kind

    def resolve(self) -> Callable[..., Any]:
        """The callable of a ``custom`` rule, importing it when given as a dotted path."""
        if callable(self.function):
            return self.function
        return _import_function(str(self.function))

    def to_data(self) -> str | dict[str, Any]:
        """The YAML form: a bare name, or ``{name: parameters}``."""
        if self.kind == "source_priority":
            return {self.kind: list(self.sources)}
        if self.by is not None:
            return {self.kind: _Flow({"by": self.by})}
        if self.kind == "custom":
            return {self.kind: _function_path(self.function, strict=True)}
        return self.kind


def source_priority(*sources: str) -> SurvivorshipStep:
    """The value from the most trusted source system, in the order given; other sources rank last."""
    if len(sources) == 1 and not isinstance(sources[0], str):
        sources = tuple(sources[0])
    return SurvivorshipStep("source_priority", sources=tuple(sources))


def most_recent(by: str | None = None) -> SurvivorshipStep:
    """The value of the record with the latest date in ``by`` (undated records rank last)."""
    return SurvivorshipStep("most_recent", by=by)


def earliest(by: str | None = None) -> SurvivorshipStep:
    """The value of the record with the earliest date in ``by`` (customer-since dates)."""
    return SurvivorshipStep("earliest", by=by)


def party_priority() -> SurvivorshipStep:
    """The value from the most direct party (``workbench.provenance``): what the customer stated
    (zero-party) over what our systems observed (first), a partner's (second), a bought list's (third).

    The party of each record comes from its dataset's provenance (``by_source`` for datasets that mix
    parties); records of unknown party rank last, and without provenance the rule has no opinion.
    """
    return SurvivorshipStep("party_priority")


def most_complete() -> SurvivorshipStep:
    """The value of the record with the most non-empty fields: the most careful capture."""
    return SurvivorshipStep("most_complete")


def most_frequent() -> SurvivorshipStep:
    """The value most members agree on (compared ignoring case and spacing)."""
    return SurvivorshipStep("most_frequent")


def longest() -> SurvivorshipStep:
    """The longest value: 'Robert' over 'Bob', '12 Main St Apt 4' over '12 Main St'."""
    return SurvivorshipStep("longest")


def custom(function: Callable[..., Any] | str) -> SurvivorshipStep:
    """A rule of your own: ``function(candidates) -> scores``, higher is better.

    ``candidates`` is a DataFrame of the members that have a value (all record
    columns plus ``golden_id``), for all clusters with a choice to make at
    once (a cluster where only one member has a value is not asked), so the
    function can be vectorized; it returns one number or boolean per row.
    """
    return SurvivorshipStep("custom", function=function)


_BY_NAME: dict[str, Callable[[], SurvivorshipStep]] = {
    "most_recent": most_recent, "earliest": earliest, "most_complete": most_complete,
    "most_frequent": most_frequent, "longest": longest, "party_priority": party_priority,
}


@dataclass(frozen=True)
class Group:
    """Fields that survive together from one record, so an address stays one address.

    The member ranked first (among those with any of the fields) gives all of
    its non-empty fields; a field it lacks is filled from the next-ranked
    member that has it (lineage rule ``group_fill``), so no golden value is
    empty while some member has one.
    """

    fields: tuple[str, ...]
    rules: tuple[SurvivorshipStep, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", tuple(str(f) for f in self.fields))
        object.__setattr__(self, "rules", _as_rules(self.rules))
        if not self.fields:
            raise ConfigError("a group needs at least one field")


@dataclass(frozen=True)
class Unit:
    """What survivorship runs once: one field, or one group of fields, with its rule chain."""

    name: str
    fields: tuple[str, ...]
    rules: tuple[SurvivorshipStep, ...]
    is_group: bool = False


@dataclass
class SurvivorshipRules:
    """Chains of survivorship steps per field and per group; other fields use ``default``.

    ``recency`` is the date column ``most_recent``/``earliest`` rank by when
    a rule names no ``by:``. The key column never gets a rule; the source
    column only when named in ``fields`` (the golden record lists its
    ``sources`` instead).
    """

    fields: dict[str, tuple[SurvivorshipStep, ...]] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    default: tuple[SurvivorshipStep, ...] = field(default_factory=lambda: (most_frequent(), most_complete()))
    recency: str | None = None
    version: int = RULES_FORMAT_VERSION
    origin: str | None = field(default=None, repr=False, compare=False)
    _lines: dict[tuple[Any, ...], int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.fields = {str(f): _as_rules(r, where=f"field {f!r}") for f, r in self.fields.items()}
        self.groups = {str(g): grp if isinstance(grp, Group) else _group_from(grp, str(g))
                       for g, grp in self.groups.items()}
        self.default = _as_rules(self.default, where="default")
        owner: dict[str, str] = {f: "fields" for f in self.fields}
        for name, group in self.groups.items():
            for f in group.fields:
                if f in owner:
                    other = "'fields:'" if owner[f] == "fields" else f"group {owner[f]!r}"
                    raise self._error(f"field {f!r} of group {name!r} also has rules in {other}; "
                                      "a field survives by one chain only", ("group_field", name, f))
                owner[f] = name

    # -- defaults --------------------------------------------------------------
    @classmethod
    def defaults(cls, schema: Schema) -> SurvivorshipRules:
        """Rules from field roles: what a data steward would pick without thinking hard.

        Names: most frequent, then longest. Email and phone: the most recent
        record (people change them), then most frequent. Address fields as
        one group from the most recent, most complete record. Consent with
        its date as one group from the latest statement. Signup/created
        dates: the earliest; other dates: the latest. Everything else
        (preferences, segments, free fields): the most direct party's value
        (stated beats inferred, when provenance says), then most frequent,
        then most complete.
        """
        recency = _recency_column(schema)
        by_recency = (most_recent(),) if recency else ()
        fields: dict[str, tuple[SurvivorshipStep, ...]] = {}
        groups: dict[str, Group] = {}
        address = [f.name for f in schema if f.role in _ADDRESS_ROLES]
        consent = [f.name for f in schema if f.role == Role.CONSENT]
        consent_dates = [f.name for f in schema if f.role == Role.DATE and "consent" in f.name.lower()]
        if len(address) > 1:
            groups["address"] = Group(tuple(address), (*by_recency, most_complete(), most_frequent()))
        if consent:
            chain = (*[most_recent(by=d) for d in consent_dates[:1]], *by_recency, most_frequent())
            groups["consent"] = Group(tuple(consent + consent_dates), chain)
        grouped = {f for g in groups.values() for f in g.fields}
        for f in schema:
            if f.name == schema.key or f.name in grouped or f.role in (Role.SOURCE,) or f.inferred_by == "key":
                continue
            if f.role in (Role.FIRST_NAME, Role.LAST_NAME, Role.FULL_NAME):
                fields[f.name] = (most_frequent(), longest())
            elif f.role in (Role.EMAIL, Role.PHONE):
                fields[f.name] = (*by_recency, most_frequent(), most_complete())
            elif f.role == Role.DATE:
                first = earliest(by=f.name) if _CREATED.search(f.name.lower()) else most_recent(by=f.name)
                fields[f.name] = (first,)
            elif f.role in _ADDRESS_ROLES:  # a lone address field
                fields[f.name] = (*by_recency, most_complete(), most_frequent())
            else:  # preferences and the like: what the customer stated beats what was inferred
                fields[f.name] = (party_priority(), most_frequent(), most_complete())
        return cls(fields=fields, groups=groups, recency=recency)

    # -- planning -----------------------------------------------------------------
    def check_columns(self, columns: Iterable[str]) -> None:
        """Every field, group member, ``by:`` and ``recency`` column must exist; errors name the line."""
        cols = [str(c) for c in columns]
        have = set(cols)

        def need(col: str | None, what: str, where: tuple[Any, ...]) -> None:
            if col is not None and col not in have:
                raise self._error(f"{what} {col!r} is not a column of the data{_hint(col, cols)}; "
                                  f"columns: {', '.join(cols)}", where)

        need(self.recency, "recency column", ("recency",))
        for f, chain in self.fields.items():
            need(f, "field", ("field", f))
            for i, rule in enumerate(chain):
                need(rule.by, f"'by:' of {rule.kind} on {f!r} names", ("rule", "field", f, i))
        for name, group in self.groups.items():
            for f in group.fields:
                need(f, f"group {name!r} names field", ("group_field", name, f))
            for i, rule in enumerate(group.rules):
                need(rule.by, f"'by:' of {rule.kind} in group {name!r} names", ("rule", "group", name, i))
        for i, rule in enumerate(self.default):
            need(rule.by, f"'by:' of default {rule.kind} names", ("rule", "default", "", i))

    def plan(self, columns: Sequence[str], *, key: str, source: str | None = None) -> list[Unit]:
        """The units survivorship runs, in column order, with every ``by:`` filled in."""
        cols = [str(c) for c in columns]
        self.check_columns(cols)
        units: list[Unit] = []
        group_of = {f: name for name, g in self.groups.items() for f in g.fields}
        done: set[str] = set()
        for col in cols:
            if col == key or col in done or (col == source and col not in self.fields and col not in group_of):
                continue
            if col in group_of:
                name = group_of[col]
                group = self.groups[name]
                units.append(Unit(name, group.fields, self._fill_by(group.rules, ("group", name)), True))
                done.update(group.fields)
            elif col in self.fields:
                units.append(Unit(col, (col,), self._fill_by(self.fields[col], ("field", col))))
                done.add(col)
            else:
                units.append(Unit(col, (col,), self._fill_by(self.default, ("default", ""))))
                done.add(col)
        return units

    def _fill_by(self, chain: tuple[SurvivorshipStep, ...], where: tuple[str, str]) -> tuple[SurvivorshipStep, ...]:
        out = []
        for i, rule in enumerate(chain):
            if rule.kind in ("most_recent", "earliest") and rule.by is None:
                if self.recency is None:
                    what = "default rules" if where[0] == "default" else f"{where[0]} {where[1]!r}"
                    raise self._error(f"{rule.kind} in {what} needs a date column: give it 'by:' or set "
                                      "'recency:' for the whole file", ("rule", *where, i))
                rule = SurvivorshipStep(rule.kind, by=self.recency)
            out.append(rule)
        return tuple(out)

    def _error(self, message: str, where: tuple[Any, ...]) -> ConfigError:
        line = self._lines.get(where)
        if line is None and where and where[0] == "rule":
            line = self._lines.get(("field", where[2]) if where[1] == "field" else ("group", where[2]))
        return ConfigError(message, path=self.origin, line=line)

    # -- (de)serialization --------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain data (lists, dicts, strings); custom rules appear as dotted import paths."""
        d: dict[str, Any] = {"version": self.version}
        if self.recency is not None:
            d["recency"] = self.recency
        d["default"] = [r.to_data() for r in self.default]
        d["fields"] = {f: [r.to_data() for r in chain] for f, chain in self.fields.items()}
        d["groups"] = {name: {"fields": list(g.fields), "rules": [r.to_data() for r in g.rules]}
                       for name, g in self.groups.items()}
        return d

    def to_yaml(self) -> str:
        """YAML a person can edit and load back with ``SurvivorshipRules.from_yaml``."""
        return yaml.dump(self.to_dict(), Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                         default_flow_style=False, width=100)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_yaml(), encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SurvivorshipRules:
        return _build(data, None, None)

    @classmethod
    def from_yaml(cls, path: str | Path, *, columns: Iterable[str] | None = None) -> SurvivorshipRules:
        """Read a rules file; with ``columns``, fields the data lacks are errors now rather than later."""
        return load_survivorship_rules(path, columns=columns)

    @classmethod
    def from_yaml_text(cls, text: str, *, path: str | None = None,
                       columns: Iterable[str] | None = None) -> SurvivorshipRules:
        node, data = _compose(text, path)
        rules = _build(data, node, path)
        if columns is not None:
            rules.check_columns(columns)
        return rules


def load_survivorship_rules(path: str | Path, *, columns: Iterable[str] | None = None) -> SurvivorshipRules:
    """Read survivorship rules from a YAML file; errors name the file and line."""
    text = read_config(path, "survivorship rules file")
    return SurvivorshipRules.from_yaml_text(text, path=str(path), columns=columns)


# --------------------------------------------------------------------------
# defaults helpers

_ADDRESS_ROLES = (Role.STREET, Role.CITY, Role.POSTCODE, Role.STATE, Role.COUNTRY)
_CREATED = re.compile(r"signup|sign_up|created|registered|since|joined|first")
_UPDATED = re.compile(r"updated|modified|changed|last|seen|verified")


def _recency_column(schema: Schema) -> str | None:
    """The date that says how current a record is: last updated, else signup, else any date."""
    dates = [f.name for f in schema if f.role == Role.DATE
             and not re.search(r"consent|birth|dob", f.name.lower())]
    for pattern in (_UPDATED, _CREATED):
        for name in dates:
            if pattern.search(name.lower()):
                return name
    return dates[0] if dates else None


# --------------------------------------------------------------------------
# custom functions by import path


def _import_function(dotted: str) -> Callable[..., Any]:
    """``pkg.module.func`` or ``pkg.module:func`` -> the function."""
    if ":" in dotted:
        module_name, _, attr_path = dotted.partition(":")
        candidates = [(module_name, attr_path.split("."))]
    else:
        parts = dotted.split(".")
        candidates = [(".".join(parts[:i]), parts[i:]) for i in range(len(parts) - 1, 0, -1)]
    last: Exception | None = None
    for module_name, attrs in candidates:
        try:
            obj: Any = importlib.import_module(module_name)
        except ImportError as exc:
            last = exc
            continue
        try:
            for attr in attrs:
                obj = getattr(obj, attr)
        except AttributeError:
            raise ConfigError(f"custom rule {dotted!r}: module {module_name!r} has no {'.'.join(attrs)!r}") from None
        if not callable(obj):
            raise ConfigError(f"custom rule {dotted!r} is not a function")
        return obj
    raise ConfigError(f"custom rule {dotted!r} cannot be imported ({last}); give a dotted path to a "
                      "module-level function, e.g. mypackage.survivorship.best_tier")


def _function_path(function: Any, *, strict: bool) -> str:
    if isinstance(function, str):
        return function
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", "")
    if module and qualname and "<" not in qualname and module != "__main__":
        return f"{module}.{qualname}"
    if strict:
        raise ConfigError(f"custom rule {function!r} cannot be written to YAML: only module-level functions "
                          "can be named by an import path")
    return repr(function)


# --------------------------------------------------------------------------
# building from data (with YAML nodes for line numbers)


def _as_rules(chain: Any, where: str = "rules") -> tuple[SurvivorshipStep, ...]:
    if isinstance(chain, SurvivorshipStep | str):
        chain = [chain]
    out = []
    for r in chain:
        if isinstance(r, SurvivorshipStep):
            out.append(r)
        elif isinstance(r, str) and r in _BY_NAME:
            out.append(_BY_NAME[r]())
        else:
            raise ConfigError(f"{where}: {r!r} is not a rule; rules: {', '.join(RULE_KINDS)}")
    if not out:
        raise ConfigError(f"{where}: give at least one rule")
    return tuple(out)


def _group_from(spec: Any, name: str) -> Group:
    if isinstance(spec, Mapping):
        return Group(tuple(spec["fields"]), _as_rules(spec["rules"], where=f"group {name!r}"))
    raise ConfigError(f"group {name!r} must be a Group or a mapping with fields and rules")


class _At:
    """Raises ConfigError at a node's line."""

    def __init__(self, path: str | None) -> None:
        self.path = path

    def __call__(self, message: str, node: yaml.Node | None) -> ConfigError:
        return ConfigError(message, path=self.path, line=_line(node))


def _build(data: Any, root: yaml.Node | None, path: str | None) -> SurvivorshipRules:
    err = _At(path)
    lines: dict[tuple[Any, ...], int] = {}
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise err("a survivorship rules file is a mapping with 'version:', 'fields:' and 'groups:'", root)
    for k in data:
        if k not in _TOP_KEYS:
            raise err(f"unknown section {k!r}{_hint(str(k), _TOP_KEYS)}; sections: {', '.join(_TOP_KEYS)}",
                      _key(root, str(k)))
    version = format_version(data.get("version", RULES_FORMAT_VERSION), RULES_FORMAT_VERSION, "survivorship rules",
                             path, _child(root, "version"))
    recency = data.get("recency")
    if recency is not None and not isinstance(recency, str):
        raise err(f"recency must name a date column, got {recency!r}", _child(root, "recency"))
    if recency is not None:
        lines[("recency",)] = _line(_child(root, "recency")) or 0

    default: tuple[SurvivorshipStep, ...] = (most_frequent(), most_complete())
    if "default" in data:
        default = _chain(data["default"], _child(root, "default"), "default", err, lines, ("default", ""))

    fields: dict[str, tuple[SurvivorshipStep, ...]] = {}
    fields_data = data.get("fields") or {}
    fields_node = _child(root, "fields")
    if not isinstance(fields_data, Mapping):
        raise err("'fields:' must map a column to its rules", fields_node)
    for name, chain in fields_data.items():
        name = str(name)
        lines[("field", name)] = _line(_key(fields_node, name)) or 0
        fields[name] = _chain(chain, _child(fields_node, name), f"field {name!r}", err, lines, ("field", name))

    groups: dict[str, Group] = {}
    groups_data = data.get("groups") or {}
    groups_node = _child(root, "groups")
    if not isinstance(groups_data, Mapping):
        raise err("'groups:' must map a group name to 'fields:' and 'rules:'", groups_node)
    for name, spec in groups_data.items():
        name = str(name)
        gnode = _child(groups_node, name)
        lines[("group", name)] = _line(_key(groups_node, name)) or 0
        if not isinstance(spec, Mapping) or "fields" not in spec or "rules" not in spec:
            raise err(f"group {name!r} needs 'fields:' (a list of columns) and 'rules:'", gnode or groups_node)
        for k in spec:
            if k not in _GROUP_KEYS:
                raise err(f"unknown key {k!r} in group {name!r}; a group has: fields, rules", _key(gnode, str(k)))
        members = spec["fields"]
        fnode = _child(gnode, "fields")
        if isinstance(members, str):
            members = [members]
        if not isinstance(members, list) or not members:
            raise err(f"'fields:' of group {name!r} must list columns", fnode)
        for j, member in enumerate(members):
            lines[("group_field", name, str(member))] = _line(_child(fnode, j) or fnode) or 0
        chain = _chain(spec["rules"], _child(gnode, "rules"), f"group {name!r}", err, lines, ("group", name))
        groups[name] = Group(tuple(str(m) for m in members), chain)

    return SurvivorshipRules(fields=fields, groups=groups, default=default, recency=recency, version=version,
                             origin=path, _lines=lines)


def _chain(items: Any, node: yaml.Node | None, where: str, err: _At, lines: dict[tuple[Any, ...], int],
           line_key: tuple[str, str]) -> tuple[SurvivorshipStep, ...]:
    if isinstance(items, str | Mapping):
        items, nodes = [items], [node]
    elif isinstance(items, list):
        nodes = [_child(node, i) for i in range(len(items))]
    else:
        raise err(f"rules of {where} must be a list such as [most_frequent, longest]", node)
    if not items:
        raise err(f"{where} needs at least one rule", node)
    out = []
    for i, (item, inode) in enumerate(zip(items, nodes, strict=True)):
        lines[("rule", *line_key, i)] = _line(inode or node) or 0
        out.append(_rule(item, inode or node, where, err))
    return tuple(out)


def _rule(item: Any, node: yaml.Node | None, where: str, err: _At) -> SurvivorshipStep:
    if isinstance(item, str):
        kind, params, pnode = item, None, node
    elif isinstance(item, Mapping) and len(item) == 1:
        kind, params = next(iter(item.items()))
        pnode = _child(node, str(kind))
    else:
        raise err(f"a rule of {where} is a name (most_frequent) or one 'name: parameters' pair, got {item!r}",
                  node)
    kind = str(kind)
    knode = _key(node, kind) or node
    if kind not in RULE_KINDS:
        raise err(f"unknown rule {kind!r} for {where}{_hint(kind, RULE_KINDS)}; rules: {', '.join(RULE_KINDS)}",
                  knode)
    try:
        if kind == "source_priority":
            sources = params.get("sources") if isinstance(params, Mapping) else params
            if isinstance(sources, str):
                sources = [sources]
            if not isinstance(sources, list) or not sources:
                raise err(f"source_priority of {where} needs the sources in order, e.g. "
                          "source_priority: [crm, ecom, pos]", pnode)
            return source_priority(*[str(s) for s in sources])
        if kind in ("most_recent", "earliest"):
            by = params.get("by") if isinstance(params, Mapping) else params
            if isinstance(params, Mapping) and set(params) - {"by"}:
                extra = sorted(set(map(str, params)) - {"by"})[0]
                raise err(f"{kind} takes only 'by:', not {extra!r}", _key(pnode, extra) or pnode)
            if by is not None and not isinstance(by, str):
                raise err(f"'by:' of {kind} must name a date column, got {by!r}", pnode)
            return SurvivorshipStep(kind, by=by)
        if kind == "custom":
            function = params.get("function") if isinstance(params, Mapping) else params
            if not isinstance(function, str) or not function:
                raise err(f"custom rule of {where} needs a dotted import path, e.g. "
                          "custom: mypackage.survivorship.best_tier", pnode)
            _import_function(function)  # fail now, at this line, rather than mid-run
            return custom(function)
        if params not in (None, {}):
            raise err(f"{kind} takes no parameters, got {params!r}", pnode)
        return _BY_NAME[kind]()
    except ConfigError as exc:
        if exc.line is not None:
            raise
        raise err(exc.message, pnode or knode) from None


# --------------------------------------------------------------------------
# YAML out: block mappings, short lists and rule parameters inline


class _Flow(dict):
    """A mapping written inline: ``most_recent: {by: signup_date}``."""


class _Dumper(yaml.SafeDumper):
    pass


def _represent_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    flat = all(not isinstance(x, dict | list) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(_Flow, lambda d, data: d.represent_mapping("tag:yaml.org,2002:map", dict(data),
                                                                  flow_style=True))
