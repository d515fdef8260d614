"""What a check is: ``Rule`` data, the registry of check kinds, sentence-like constructors.

A ``Rule`` is plain, serializable data (``valid_phone("phone", region="US")``).
Each check kind, registered here by name, compiles a rule into a pandera
``Check`` plus the columns it reads and how to prepare their values; running
it is ``workbench.checks.runner``'s job (pandera's api/backends split).

Every kind answers per row: pass, fail, or not tested. Pandera's own null
handling provides "not tested": a prepared value that is NA is dropped by the
check (``ignore_na=True``), so validity checks never judge a missing value,
while completeness checks (``ignore_na=False``) see every row. Checks whose
answer depends only on the row's own values say so with pandera's
``determined_by_unique=True``; the runner then evaluates each distinct value
(or combination of values) once.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from workbench.checks import validators as v
from workbench.errors import ConfigError
from workbench.yaml_nodes import did_you_mean as _did_you_mean

__all__ = [
    "DIMENSIONS",
    "SEVERITIES",
    "CheckKind",
    "Compiled",
    "Context",
    "Param",
    "Rule",
    "RuleError",
    "age_between",
    "any_valid",
    "check_kinds",
    "consent_consistent",
    "consent_present",
    "consistent_mapping",
    "date_parseable",
    "dates_ordered",
    "expression",
    "freshness",
    "get_kind",
    "in_range",
    "in_set",
    "length",
    "list_checks",
    "matches",
    "not_in_future",
    "not_null",
    "referential",
    "register_check",
    "unique",
    "valid_email",
    "valid_phone",
    "valid_postcode",
]

SEVERITIES = ("warning", "error", "critical")
#: Region for phone numbers without +country code when neither the rule nor the run names one.
FALLBACK_REGION = "US"
DIMENSIONS = ("completeness", "validity", "uniqueness", "consistency", "timeliness", "integrity")
#: Keys of a rule mapping that are not check parameters.
RULE_KEYS = ("check", "column", "severity", "mostly", "dimension", "name", "params")


class RuleError(ConfigError):
    """A rule is invalid; ``field`` names the offending key so a rules file can point at its line."""

    def __init__(self, message: str, *, field: str | None = None, **where: Any) -> None:
        super().__init__(message, **where)
        self.field = field


# --------------------------------------------------------------------------
# kinds and parameters


@dataclass(frozen=True)
class Param:
    """One parameter of a check kind, for validation, YAML and widgets."""

    name: str
    type: str  # text | regex | number | bound | integer | boolean | list | column | rules | values
    required: bool = False
    default: Any = None
    doc: str = ""


@dataclass(frozen=True)
class Context:
    """What compiling a rule may need besides the rule itself.

    ``references`` resolves ``referential(..., source="name")``: a mapping of
    name -> values, or a callable name -> values. ``column_type`` tells an
    expression how to read a column ("number", "date" or "text").
    """

    as_of: pd.Timestamp
    references: Mapping[str, Any] | Callable[[str], Any] | None = None
    column_type: Callable[[str], str] = lambda _name: "text"
    memo: dict[Any, Any] = field(default_factory=dict)  # per-run: parsed dates shared by date rules
    #: Region for phone numbers without +country code when a rule names none
    #: (``run_checks(default_region=...)`` or a rules file's ``default_region:``).
    default_region: str | None = None


def _identity(obj: Any) -> Any:
    return obj


@dataclass(frozen=True)
class Compiled:
    """A rule made runnable: the pandera check, the columns it reads, how to prepare them.

    ``prepare`` receives the column (a Series) or the columns (a DataFrame) --
    the distinct values/rows when ``check.determined_by_unique``, else every
    row -- and returns the object the check runs on. Rows it drops, and NA
    values when ``check.ignore_na``, are "not tested". ``frame=True`` asks
    for a DataFrame even when only one column is read.
    """

    check: pa.Check
    columns: tuple[str, ...]
    prepare: Callable[[Any], Any] = _identity
    frame: bool = False


@dataclass(frozen=True)
class CheckKind:
    """A registered kind of check: its name, parameters, default dimension and compiler."""

    name: str
    description: str
    dimension: str
    compile: Callable[[Rule, Context], Compiled] | None
    params: tuple[Param, ...] = ()
    needs_column: bool = True
    tests_missing: bool = False
    validate: Callable[[Mapping[str, Any]], None] | None = None
    column_params: tuple[str, ...] = ()
    #: For a check not determined by unique: a row's answer depends only on the rows sharing its first
    #: prepared value (the value for ``unique``, the normalized key for ``consistent_mapping``), and a
    #: row whose first prepared value is missing is not tested. An engine may then run the check group
    #: by group (``workbench.spark.assess``).
    grouped: bool = False

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)


_REGISTRY: dict[str, CheckKind] = {}


def register_check(kind: CheckKind) -> CheckKind:
    """Add (or replace) a check kind, so rules, YAML files and widgets can use it by name."""
    if kind.dimension not in DIMENSIONS:
        raise ValueError(f"dimension must be one of {DIMENSIONS}, got {kind.dimension!r}")
    _REGISTRY[kind.name] = kind
    return kind


def check_kinds() -> dict[str, CheckKind]:
    """The registered check kinds by name."""
    return dict(_REGISTRY)


def get_kind(name: str) -> CheckKind:
    """The kind registered as ``name``; RuleError listing the known ones (and a close match) if none."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise RuleError(f"unknown check {name!r}{_did_you_mean(name, _REGISTRY)}; known checks: "
                        f"{', '.join(sorted(_REGISTRY))}", field="check") from None


def list_checks() -> pd.DataFrame:
    """One row per check kind: name, dimension, parameters and what it checks (for pickers and docs)."""
    rows = [
        {
            "check": k.name,
            "dimension": k.dimension,
            "params": ", ".join(p.name + ("" if p.required else "?") for p in k.params),
            "description": k.description,
        }
        for k in sorted(_REGISTRY.values(), key=lambda k: k.name)
    ]
    return pd.DataFrame(rows, columns=["check", "dimension", "params", "description"])


# --------------------------------------------------------------------------
# Rule


@dataclass(frozen=True, eq=True)
class Rule:
    """One declarative check on a column (or on rows, for frame-level kinds).

    ``dimension`` defaults to the kind's, ``name`` to ``"{check}:{column}"``.
    ``mostly`` lets a rule pass when at least that share of tested rows pass.
    Invalid rules raise ``RuleError`` (a ``ConfigError``) on construction.
    """

    check: str
    column: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    severity: str = "error"
    mostly: float | None = None
    dimension: str | None = None
    #: None at construction means the default name (``default_name``): once built, every rule has a name.
    name: str = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        kind = get_kind(self.check)
        if kind.needs_column and (not isinstance(self.column, str) or not self.column):
            raise RuleError(f"check {self.check!r} needs a column", field="column")
        if not kind.needs_column and self.column is not None:
            raise RuleError(f"check {self.check!r} reads several columns; give them as parameters, not 'column'",
                            field="column")
        object.__setattr__(self, "params", _checked_params(kind, self.params))
        if self.severity not in SEVERITIES:
            raise RuleError(f"severity must be one of {', '.join(SEVERITIES)}, got {self.severity!r}", field="severity")
        if self.mostly is not None:
            if isinstance(self.mostly, bool) or not isinstance(self.mostly, (int, float)) or not 0 <= self.mostly <= 1:
                raise RuleError(f"mostly must be a share between 0 and 1, got {self.mostly!r}", field="mostly")
            object.__setattr__(self, "mostly", float(self.mostly))
        if self.dimension is None:
            object.__setattr__(self, "dimension", kind.dimension)
        elif self.dimension not in DIMENSIONS:
            raise RuleError(f"dimension must be one of {', '.join(DIMENSIONS)}, got {self.dimension!r}",
                            field="dimension")
        if self.name is None:
            object.__setattr__(self, "name", self.default_name)
        elif not isinstance(self.name, str) or not self.name.strip():
            raise RuleError(f"rule name must be non-empty text, got {self.name!r}", field="name")

    def __hash__(self) -> int:
        return hash((self.check, self.column, self.name))

    @property
    def kind(self) -> CheckKind:
        return get_kind(self.check)

    @property
    def default_name(self) -> str:
        if self.column is not None:
            return f"{self.check}:{self.column}"
        if self.check == "expression":
            return f"expression:{self.params['expr']}"
        if self.check == "any_valid":
            return "any_valid:" + "|".join(r.name for r in self.params["rules"])
        return self.check

    @property
    def columns(self) -> list[str]:
        """Every column the rule reads: its own, column parameters, expression names, sub-rules."""
        cols: list[str] = [self.column] if self.column else []
        kind = self.kind
        for p in kind.column_params:  # a column parameter names one column or a list of them
            value = self.params.get(p)
            cols += [value] if isinstance(value, str) else list(value or ())
        if self.check == "expression":
            cols += expression_names(self.params["expr"])
        for sub in self.params.get("rules", ()) if self.check == "any_valid" else ():
            cols += sub.columns
        return list(dict.fromkeys(cols))

    def to_dict(self) -> dict[str, Any]:
        """Plain data for YAML/JSON; defaults (dimension, name) are left out."""
        d: dict[str, Any] = {"check": self.check}
        if self.column is not None:
            d["column"] = self.column
        for key, value in self.params.items():
            d[key] = _plain_param(key, value)
        d["severity"] = self.severity
        if self.mostly is not None:
            d["mostly"] = self.mostly
        if self.dimension != self.kind.dimension:
            d["dimension"] = self.dimension
        if self.name != self.default_name:
            d["name"] = self.name
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Rule:
        """Inverse of ``to_dict``; parameters may sit inline or under ``params:``."""
        if not isinstance(d, Mapping):
            raise RuleError(f"a rule must be a mapping with a 'check:' key, got {d!r}")
        if "check" not in d:
            raise RuleError("rule has no 'check:' key", field=None)
        params = {k: val for k, val in d.items() if k not in RULE_KEYS}
        nested = d.get("params") or {}
        if not isinstance(nested, Mapping):
            raise RuleError("'params:' must be a mapping", field="params")
        params.update(nested)
        return cls(
            check=d["check"],
            column=d.get("column"),
            params=params,
            severity=d.get("severity", "error"),
            mostly=d.get("mostly"),
            dimension=d.get("dimension"),
            name=d.get("name"),
        )


def _plain_param(key: str, value: Any) -> Any:
    if callable(value):
        raise ConfigError(f"parameter {key!r} holds a callable, which cannot be written to a file; "
                          "use referential(..., source='name') and pass references= when running")
    if key == "rules":  # alternatives of any_valid: their severity means nothing, leave the default out
        return [{k: x for k, x in r.to_dict().items() if (k, x) != ("severity", "error")} for r in value]
    if isinstance(value, (pd.Series, pd.Index, np.ndarray, set, frozenset, tuple)):
        return [x.item() if isinstance(x, np.generic) else x for x in value]
    return value


def _checked_params(kind: CheckKind, params: Mapping[str, Any] | None) -> dict[str, Any]:
    params = dict(params or {})
    known = {p.name for p in kind.params}
    for key in params:
        if key not in known:
            accepted = ", ".join(sorted(known)) or "none"
            raise RuleError(f"check {kind.name!r} has no parameter {key!r}{_did_you_mean(key, known)}; "
                            f"parameters: {accepted}", field=key)
    for p in kind.params:
        if params.get(p.name) is None:
            if p.required:
                raise RuleError(f"check {kind.name!r} needs parameter {p.name!r} ({p.doc})", field=p.name)
            params.pop(p.name, None)
            continue
        params[p.name] = _coerce(kind.name, p, params[p.name])
    if kind.validate is not None:
        kind.validate(params)
    return params


def _coerce(check: str, p: Param, value: Any) -> Any:
    def bad(expected: str) -> RuleError:
        return RuleError(f"parameter {p.name!r} of {check!r} must be {expected}, got {value!r}", field=p.name)

    if p.type in ("text", "column"):
        if not isinstance(value, str) or not value.strip():
            raise bad("non-empty text")
        return value
    if p.type == "regex":
        if not isinstance(value, str):
            raise bad("a regular expression")
        try:
            re.compile(value)
        except re.error as exc:
            raise RuleError(f"parameter {p.name!r} of {check!r} is not a valid regular expression: {exc}",
                            field=p.name) from None
        return value
    if p.type == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a number")
        return value
    if p.type == "bound":  # a number, or a date for date columns
        if isinstance(value, bool) or not isinstance(value, (int, float, str, pd.Timestamp)) and not hasattr(value, "year"):
            raise bad("a number or a date")
        if isinstance(value, str) and pd.isna(pd.to_datetime(value, errors="coerce")):
            raise bad("a number or a date")
        return value
    if p.type == "integer":
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise bad("a whole number >= 0")
        return int(value)
    if p.type == "boolean":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if p.type == "list":
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
            raise bad("a list of values")
        values = list(value)
        if not values:
            raise bad("a non-empty list")
        return values
    if p.type == "values":  # list-like or a callable resolved at run time
        if callable(value) or isinstance(value, (pd.Series, pd.Index, np.ndarray)):
            return value
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
            raise bad("a list of values or a callable returning them")
        return list(value)
    if p.type == "rules":
        if isinstance(value, (str, Mapping)) or not isinstance(value, Iterable):
            raise bad("a list of rules")
        rules = [r if isinstance(r, Rule) else Rule.from_dict(r) for r in value]
        if not rules:
            raise bad("a non-empty list of rules")
        return rules
    raise AssertionError(f"unknown parameter type {p.type!r}")


def _one_of(*names: str, exactly: bool = True) -> Callable[[Mapping[str, Any]], None]:
    def validate(params: Mapping[str, Any]) -> None:
        given = [n for n in names if params.get(n) is not None]
        if (exactly and len(given) != 1) or not given:
            what = "exactly one" if exactly else "at least one"
            raise RuleError(f"give {what} of {', '.join(names)}", field=given[-1] if given else None)
    return validate


# --------------------------------------------------------------------------
# check functions (module level so pandera can show them and keep their kwargs)


def _texts(values: pd.Series, lower: bool = False) -> pd.Series:
    out = values.map(v.as_text, na_action="ignore").astype(object)
    return out.str.lower() if lower else out


def _text_of(values: Iterable[Any], lower: bool = False) -> list[str]:
    out = [v.as_text(x) for x in values]
    return [x.lower() for x in out] if lower else out


def present(data: pd.Series) -> pd.Series:
    """A value is present: not NA and not blank text."""
    return ~v.is_missing(data)


def no_duplicates(data: pd.Series) -> pd.Series:
    """No other row holds the same value."""
    return ~data.duplicated(keep=False)


def parsed_date(data: pd.Series) -> pd.Series:
    """The value is a parsed date (not NaT)."""
    return data.notna()


def emails_valid(data: pd.Series) -> pd.Series:
    """The value reads as an email address (the standardize layer's reading, no DNS)."""
    return v.validate_emails(data).valid.fillna(True).astype(bool)


def phones_valid(data: pd.Series | pd.DataFrame, region: str = FALLBACK_REGION, strict: bool = True,
                 local: bool = True) -> pd.Series:
    """The phone number is valid for its country; for a frame, column 1 holds each row's region.

    ``region`` applies to numbers without a +country code; a local number
    without area code passes as valid-local when ``local``.
    """
    if isinstance(data, pd.DataFrame):
        values, regions = data.iloc[:, 0], data.iloc[:, 1].reset_index(drop=True)
        return v.validate_phones(values, regions, strict=strict, local=local).valid.fillna(True).astype(bool)
    return v.validate_phones(data, region, strict=strict, local=local).valid.fillna(True).astype(bool)


def mapping_consistent(data: pd.DataFrame) -> pd.Series:
    """The row agrees with the most common value of each other column among rows sharing its key.

    Column 0 is the normalized key, the rest the normalized dependent values
    (NA: not compared). A key whose most common value is tied fails every row
    that holds one of the tied values: nobody can say which one is right.
    """
    key = data.columns[0]
    ok = pd.Series(True, index=data.index)
    for col in data.columns[1:]:
        pair = data[[key, col]].dropna()
        if pair.empty:
            continue
        counts = pair.groupby([key, col], sort=False).size().rename("n").reset_index()
        top = counts.groupby(key, sort=False)["n"].transform("max")
        winners = counts[counts["n"] == top]
        unique_winner = winners.groupby(key, sort=False)[col].transform("size") == 1
        good = set(map(tuple, winners.loc[unique_winner, [key, col]].itertuples(index=False, name=None)))
        agrees = pd.Series([t in good for t in pair.itertuples(index=False, name=None)], index=pair.index)
        ok.loc[pair.index] &= agrees
    return ok


def in_order(data: pd.DataFrame, strict: bool = False) -> pd.Series:
    """The first date is before (or, unless ``strict``, on) the second."""
    first, second = data.iloc[:, 0], data.iloc[:, 1]
    return first < second if strict else first <= second


def postcodes_valid(data: pd.Series | pd.DataFrame, country: str | None = None) -> pd.Series:
    """The postcode has its country's shape; for a frame, column 0 is the postcode, column 1 the country."""
    if isinstance(data, pd.DataFrame):
        return v.valid_postcodes(data.iloc[:, 0], data.iloc[:, 1]).fillna(True).astype(bool)
    return v.valid_postcodes(data, country or "").fillna(True).astype(bool)


def consent_recorded(data: pd.Series) -> pd.Series:
    """The value is a consent flag (a value of the consent vocabulary: Y/N, yes please, opt-in, unsubscribed...; workbench.consent)."""
    return v.consent_flags(data).notna()


def consent_dated(data: pd.DataFrame) -> pd.Series:
    """Given consent has a consent date that is not before signup (columns: consent_date, signup)."""
    ok = data["consent_date"].notna()
    if "signup" in data:
        ok &= data["signup"].isna() | (data["consent_date"] >= data["signup"])
    return ok


def expression_holds(data: pd.DataFrame, expr: str, today: pd.Timestamp) -> pd.Series:
    """The expression, evaluated by ``DataFrame.eval`` over the parsed columns, is true."""
    out = data.eval(expr, resolvers=({"today": today},), engine="python")
    if not isinstance(out, pd.Series) or out.dtype != bool:
        raise ConfigError(f"expression {expr!r} must give true/false per row (a comparison), "
                          f"it gave {getattr(out, 'dtype', type(out).__name__)}")
    return out


# --------------------------------------------------------------------------
# compilers: Rule -> Compiled


def _name(rule: Rule) -> dict[str, Any]:
    return {"name": rule.name}


def _custom(rule: Rule, fn: Callable[..., Any], *, error: str, row_local: bool = True,
            ignore_na: bool = True, **kwargs: Any) -> pa.Check:
    return pa.Check(fn, name=rule.name, error=error, determined_by_unique=row_local, ignore_na=ignore_na, **kwargs)


def _c_not_null(rule: Rule, ctx: Context) -> Compiled:
    return Compiled(_custom(rule, present, error="value is present", ignore_na=False), (rule.column,))


def _c_unique(rule: Rule, ctx: Context) -> Compiled:
    return Compiled(_custom(rule, no_duplicates, error="value is unique", row_local=False), (rule.column,))


def _c_matches(rule: Rule, ctx: Context) -> Compiled:
    return Compiled(pa.Check.str_matches(rule.params["pattern"], **_name(rule)), (rule.column,), _texts)


def _c_in_set(rule: Rule, ctx: Context) -> Compiled:
    lower = not rule.params.get("case_sensitive", True)
    allowed = _text_of(rule.params["values"], lower)
    return Compiled(pa.Check.isin(allowed, **_name(rule)), (rule.column,), lambda s: _texts(s, lower))


def _c_in_range(rule: Rule, ctx: Context) -> Compiled:
    lo, hi = rule.params.get("min"), rule.params.get("max")
    dates = isinstance(lo, str) or isinstance(hi, str) or hasattr(lo, "year") or hasattr(hi, "year")
    if dates:
        lo, hi = (None if b is None else pd.Timestamp(b) for b in (lo, hi))
        prepare = v.parse_dates
    else:
        def prepare(s: pd.Series) -> pd.Series:
            return pd.to_numeric(s, errors="coerce")
    # ignore_na=False: the runner never passes missing values, so NA here means
    # "present but not a number/date", which is out of range, not "not tested".
    kw = {**_name(rule), "ignore_na": False}
    if lo is not None and hi is not None:
        check = pa.Check.in_range(lo, hi, **kw)
    elif lo is not None:
        check = pa.Check.ge(lo, **kw)
    else:
        check = pa.Check.le(hi, **kw)
    return Compiled(check, (rule.column,), prepare)


def _c_length(rule: Rule, ctx: Context) -> Compiled:
    check = pa.Check.str_length(rule.params.get("min"), rule.params.get("max"), **_name(rule))
    return Compiled(check, (rule.column,), _texts)


def _c_date_parseable(rule: Rule, ctx: Context) -> Compiled:
    # Runs on the parsed values (shared with the other date rules); NaT there means
    # "present but unparseable" -- the runner never passes missing values -- so ignore_na=False.
    check = _custom(rule, parsed_date, error="value parses as a date", ignore_na=False)
    return Compiled(check, (rule.column,), _dates(rule, ctx))


def _dates(rule: Rule, ctx: Context) -> Callable[[pd.Series], pd.Series]:
    """Parse a column's values once per run, however many date rules read it."""
    formats, dayfirst = rule.params.get("formats"), rule.params.get("dayfirst", False)
    past = rule.params.get("past", False)
    key = ("dates", rule.column, None if formats is None else tuple(formats), dayfirst, past)

    def parse(s: pd.Series) -> pd.Series:
        hit = ctx.memo.get(key)
        if hit is not None and hit[0] is s:
            return hit[1]
        parsed = v.parse_dates(s, formats, dayfirst=dayfirst, past=past)
        ctx.memo[key] = (s, parsed)
        return parsed
    return parse


def _c_not_in_future(rule: Rule, ctx: Context) -> Compiled:
    return Compiled(pa.Check.le(ctx.as_of, **_name(rule)), (rule.column,), _dates(rule, ctx))


def _c_age_between(rule: Rule, ctx: Context) -> Compiled:
    lo, hi = rule.params.get("min", 0), rule.params.get("max", 120)
    parse = _dates(rule, ctx)
    return Compiled(pa.Check.in_range(lo, hi, **_name(rule)), (rule.column,),
                    lambda s: v.age_years(parse(s), ctx.as_of))


def _c_freshness(rule: Rule, ctx: Context) -> Compiled:
    days, years = rule.params.get("max_age_days"), rule.params.get("max_age_years")
    if years is not None:
        age = pd.DateOffset(years=int(years)) if float(years).is_integer() else pd.Timedelta(days=365.2425 * years)
    else:
        age = pd.Timedelta(days=days)
    oldest = ctx.as_of - age
    return Compiled(pa.Check.ge(oldest, **_name(rule)), (rule.column,), _dates(rule, ctx))


def _c_valid_email(rule: Rule, ctx: Context) -> Compiled:
    return Compiled(_custom(rule, emails_valid, error="valid email address"), (rule.column,))


def _c_valid_phone(rule: Rule, ctx: Context) -> Compiled:
    region = (rule.params.get("region") or ctx.default_region or FALLBACK_REGION).upper()
    opts = {"strict": rule.params.get("strict", True), "local": rule.params.get("local", True)}
    country_col = rule.params.get("country_column")
    if country_col is None:
        check = _custom(rule, phones_valid, error=f"valid phone number (default region {region})",
                        region=region, **opts)
        return Compiled(check, (rule.column,))

    def prepare_rows(df: pd.DataFrame) -> pd.DataFrame:
        from workbench.standardize import region_for_country

        keep = df[rule.column].notna()
        return pd.DataFrame({"phone": df[rule.column][keep],
                             "region": region_for_country(df[country_col][keep], region)})
    check = _custom(rule, phones_valid, error=f"valid phone number for the country in {country_col} "
                    f"(else {region})", **opts)
    return Compiled(check, (rule.column, country_col), prepare_rows, frame=True)


def _c_consistent_mapping(rule: Rule, ctx: Context) -> Compiled:
    from workbench.standardize import clean_text, standardize_postcode

    others = tuple(rule.params["columns"])

    def prepare(df: pd.DataFrame) -> pd.DataFrame:
        key = df[rule.column]
        # postcodes compare in their standard form (ZIP+4 -> ZIP), the rest as cleaned text
        norm_key = standardize_postcode(key) if rule.params.get("key_is_postcode", True) else clean_text(key)
        out = pd.DataFrame({"__key": norm_key.to_numpy()}, index=df.index)
        for col in others:
            out[col] = clean_text(df[col]).to_numpy()
        out = out[out["__key"].notna() & out[list(others)].notna().any(axis=1)]
        return out.astype(object).where(out.notna(), None)
    check = _custom(rule, mapping_consistent, error=f"{rule.column} maps to one {'/'.join(others)}",
                    row_local=False, ignore_na=False)
    return Compiled(check, (rule.column, *others), prepare, frame=True)


def _c_dates_ordered(rule: Rule, ctx: Context) -> Compiled:
    later = rule.params["later"]

    def prepare(df: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame({"first": v.parse_dates(df[rule.column]), "second": v.parse_dates(df[later])},
                           index=df.index)
        return out[out.notna().all(axis=1)]  # a missing or unreadable date: not tested
    check = _custom(rule, in_order, error=f"{rule.column} is not after {later}",
                    strict=rule.params.get("strict", False))
    return Compiled(check, (rule.column, later), prepare, frame=True)


def _c_valid_postcode(rule: Rule, ctx: Context) -> Compiled:
    country_col = rule.params.get("country_column")
    if country_col is None:
        code = v.postal_country(rule.params["country"])
        known = code in v.POSTCODE_PATTERNS

        def prepare(s: pd.Series) -> pd.Series:
            return s if known else pd.Series(np.nan, index=s.index, dtype=object)  # no pattern: not tested
        check = _custom(rule, postcodes_valid, error=f"postcode shape of {code}", country=code)
        return Compiled(check, (rule.column,), prepare)

    def prepare_rows(df: pd.DataFrame) -> pd.DataFrame:
        codes = df[country_col].map(v.postal_country, na_action="ignore")
        keep = df[rule.column].notna() & codes.isin(list(v.POSTCODE_PATTERNS))
        return pd.DataFrame({"postcode": df[rule.column][keep], "country": codes[keep]})
    check = _custom(rule, postcodes_valid, error=f"postcode shape of the country in {country_col}")
    return Compiled(check, (rule.column, country_col), prepare_rows, frame=True)


def _c_consent_present(rule: Rule, ctx: Context) -> Compiled:
    return Compiled(_custom(rule, consent_recorded, error="consent flag recorded", ignore_na=False),
                    (rule.column,))


def _c_consent_consistent(rule: Rule, ctx: Context) -> Compiled:
    date_col, signup_col = rule.params["date_column"], rule.params.get("signup_column")
    cols = (rule.column, date_col) + ((signup_col,) if signup_col else ())

    def prepare(df: pd.DataFrame) -> pd.DataFrame:
        given = df[v.consent_flags(df[rule.column]).fillna(False).astype(bool)]
        out = pd.DataFrame({"consent_date": v.parse_dates(given[date_col])}, index=given.index)
        if signup_col:
            out["signup"] = v.parse_dates(given[signup_col])
        return out
    check = _custom(rule, consent_dated, error="given consent is dated, not before signup")
    return Compiled(check, cols, prepare, frame=True)


def _c_expression(rule: Rule, ctx: Context) -> Compiled:
    expr = rule.params["expr"]
    names = expression_names(expr)

    def prepare(df: pd.DataFrame) -> pd.DataFrame:
        parsed = {}
        types = _expression_types(expr, {name: ctx.column_type(name) for name in names})
        for name in names:
            kind = types[name]
            col = df[name]
            parsed[name] = (pd.to_numeric(col, errors="coerce") if kind == "number"
                            else v.parse_dates(col) if kind == "date" else col)
        out = pd.DataFrame(parsed, index=df.index)
        return out[out.notna().all(axis=1)]  # a row missing any involved value is not tested
    check = _custom(rule, expression_holds, error=f"expression holds: {expr}", expr=expr, today=ctx.as_of)
    return Compiled(check, tuple(names), prepare, frame=True)


def _c_referential(rule: Rule, ctx: Context) -> Compiled:
    values = rule.params.get("values")
    if values is None:
        source = rule.params["source"]
        refs = ctx.references
        if callable(refs):
            values = refs(source)
        elif refs is not None and source in refs:
            values = refs[source]
        else:
            known = ", ".join(sorted(refs)) if isinstance(refs, Mapping) else "none given"
            raise ConfigError(f"rule {rule.name!r}: no reference values for source {source!r} "
                              f"(pass references={{{source!r}: values}}); references: {known}")
    elif callable(values):
        values = values()
    other = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    allowed = set(_text_of(pd.unique(other.dropna())))
    return Compiled(pa.Check.isin(allowed, **_name(rule)), (rule.column,), _texts)


# --------------------------------------------------------------------------
# expressions: parsed with ast to allow only comparisons, arithmetic and logic

_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.UnaryOp, ast.Compare, ast.Name, ast.Load,
    ast.Constant, ast.List, ast.Tuple, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Mod, ast.BitAnd, ast.BitOr,
    ast.Not, ast.USub, ast.UAdd, ast.Invert, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In,
    ast.NotIn,
)


def expression_names(expr: str) -> list[str]:
    """Column names an expression reads (``today`` excluded); RuleError if it is not a safe expression.

    Allowed: column names, ``today``, literals, comparisons, arithmetic and
    ``and/or/not/&/|/~``. Calls, attributes and subscripts are refused, so
    nothing but values of the row is ever evaluated.
    """
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        raise RuleError(f"expression {expr!r} is not valid: {exc.msg}", field="expr") from None
    names: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise RuleError(f"expression {expr!r} may only compare columns, literals and 'today'; "
                            f"{type(node).__name__.lower()} is not allowed", field="expr")
        if isinstance(node, ast.Name) and node.id != "today" and node.id not in ("True", "False"):
            names.append(node.id)
    if not names:
        raise RuleError(f"expression {expr!r} reads no column", field="expr")
    return list(dict.fromkeys(names))


def _expression_types(expr: str, types: dict[str, str]) -> dict[str, str]:
    """How to read each column: what it is compared with wins over what most of its values look like.

    In ``signup_date <= today`` the column is read as dates even if most of its
    values are junk; in ``age >= 18`` as numbers. Values that then do not
    parse are NA, so those rows are not tested rather than crashing the rule.
    """
    out = dict(types)
    for node in ast.walk(ast.parse(expr, mode="eval")):
        if not isinstance(node, ast.Compare):
            continue
        members = [n for side in (node.left, *node.comparators) for n in ast.walk(side)]
        cols = [n.id for n in members if isinstance(n, ast.Name) and n.id in types]
        if any(isinstance(n, ast.Name) and n.id == "today" for n in members) or any(
                types[c] == "date" for c in cols):
            forced = "date"
        elif any(isinstance(n, ast.Constant) and isinstance(n.value, (int, float)) and not isinstance(n.value, bool)
                 for n in members) or any(types[c] == "number" for c in cols):
            forced = "number"
        else:
            continue
        out.update({c: forced for c in cols})
    return out


def _validate_expression(params: Mapping[str, Any]) -> None:
    expression_names(params["expr"])


def checked_region(region: object, what: str = "default_region") -> str:
    """``region`` as an upper-case phone region; ConfigError naming the bad value otherwise."""
    import phonenumbers

    if not isinstance(region, str) or region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(f"{what} {region!r} is not a phone region (ISO country code such as US, GB, DE)")
    return region.upper()


def _validate_region(params: Mapping[str, Any]) -> None:
    import phonenumbers

    region = params.get("region")
    if region is not None and region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise RuleError(f"region {region!r} is not a phone region (ISO country code such as US, GB, DE)",
                        field="region")


def _validate_columns_list(params: Mapping[str, Any]) -> None:
    bad = [c for c in params["columns"] if not isinstance(c, str) or not c.strip()]
    if bad:
        raise RuleError(f"parameter 'columns' must list column names, got {bad[0]!r}", field="columns")


def _validate_bounds(params: Mapping[str, Any]) -> None:
    _one_of("min", "max", exactly=False)(params)
    lo, hi = params.get("min"), params.get("max")
    if lo is not None and hi is not None:
        try:
            inverted = (pd.Timestamp(lo) > pd.Timestamp(hi)) if isinstance(lo, str) or isinstance(hi, str) else lo > hi
        except (TypeError, ValueError):
            raise RuleError("min and max must both be numbers or both dates", field="max") from None
        if inverted:
            raise RuleError(f"min ({lo}) is greater than max ({hi})", field="max")


# --------------------------------------------------------------------------
# registry entries

_DATE_PARAMS = (
    Param("past", "boolean", default=False, doc="a two-digit year is never in the future (birth dates)"),
    Param("formats", "list", doc="strftime formats to accept instead of the defaults"),
    Param("dayfirst", "boolean", default=False, doc="read 01/02/2020 as 1 February"),
)

for _kind in (
    CheckKind("not_null", "the value is present (not empty or blank)", "completeness", _c_not_null,
              tests_missing=True),
    CheckKind("unique", "no two rows share the value", "uniqueness", _c_unique, grouped=True),
    CheckKind("matches", "the text matches a regular expression (at its start; anchor with $)", "validity",
              _c_matches, (Param("pattern", "regex", True, doc="regular expression"),)),
    CheckKind("in_set", "the value is one of a list (compared as text)", "validity", _c_in_set,
              (Param("values", "list", True, doc="allowed values"),
               Param("case_sensitive", "boolean", default=True, doc="compare case-sensitively"))),
    CheckKind("in_range", "the number (or date) lies between min and max, inclusive", "validity", _c_in_range,
              (Param("min", "bound", doc="lowest allowed"), Param("max", "bound", doc="highest allowed")),
              validate=_validate_bounds),
    CheckKind("length", "the text length lies between min and max characters", "validity", _c_length,
              (Param("min", "integer", doc="fewest characters"), Param("max", "integer", doc="most characters")),
              validate=_validate_bounds),
    CheckKind("date_parseable", "the value reads as a date (ISO, m/d/Y, d Mon Y, Y/m/d, ...)", "validity",
              _c_date_parseable, _DATE_PARAMS),
    CheckKind("not_in_future", "the date is not after the run's reference date", "validity", _c_not_in_future,
              _DATE_PARAMS),
    CheckKind("age_between", "the age from a date of birth lies between min and max years", "validity",
              _c_age_between, (Param("min", "number", default=0, doc="youngest age"),
                               Param("max", "number", default=120, doc="oldest age"), *_DATE_PARAMS)),
    CheckKind("freshness", "the date is at most max_age_days/max_age_years old (not stale)", "timeliness", _c_freshness,
              (Param("max_age_days", "number", doc="oldest allowed, in days"),
               Param("max_age_years", "number", doc="oldest allowed, in years"), *_DATE_PARAMS),
              validate=_one_of("max_age_days", "max_age_years")),
    CheckKind("valid_email", "the email address is syntactically valid", "validity", _c_valid_email),
    CheckKind("valid_phone", "the phone number is valid for its country (a local number without area "
              "code counts as valid-local)", "validity", _c_valid_phone,
              (Param("region", "text", doc="country assumed when a number has no +code and the row's country "
                     "is unknown (default: the run's default_region, else US)"),
               Param("country_column", "column", doc="column holding each row's country"),
               Param("strict", "boolean", default=True, doc="real number ranges, not just plausible length"),
               Param("local", "boolean", default=True, doc="accept local numbers without area code")),
              validate=_validate_region, column_params=("country_column",)),
    CheckKind("consistent_mapping", "records sharing the value agree on the other columns (a postcode "
              "has one city and state)", "consistency", _c_consistent_mapping,
              (Param("columns", "list", True, doc="columns the value determines, e.g. [city, state]"),
               Param("key_is_postcode", "boolean", default=True,
                     doc="compare the value as a postcode (ZIP+4 = ZIP); false: as text")),
              validate=_validate_columns_list, column_params=("columns",), grouped=True),
    CheckKind("dates_ordered", "the date is not after the date in another column (signup before update, "
              "birth before signup)", "consistency", _c_dates_ordered,
              (Param("later", "column", True, doc="column whose date must not come first"),
               Param("strict", "boolean", default=False, doc="the same day is out of order too")),
              column_params=("later",)),
    CheckKind("valid_postcode", "the postcode has its country's shape (unknown country: not tested)",
              "validity", _c_valid_postcode,
              (Param("country", "text", doc="country of every row (ISO code or name)"),
               Param("country_column", "column", doc="column holding each row's country")),
              validate=_one_of("country", "country_column"), column_params=("country_column",)),
    CheckKind("consent_present", "a consent flag is recorded (a value of the consent vocabulary, workbench.consent)", "completeness",
              _c_consent_present, tests_missing=True),
    CheckKind("consent_consistent", "given consent has a consent date, not before signup", "consistency",
              _c_consent_consistent,
              (Param("date_column", "column", True, doc="column with the consent date"),
               Param("signup_column", "column", doc="column with the signup date")),
              column_params=("date_column", "signup_column")),
    CheckKind("expression", "a comparison across columns holds, e.g. 'signup_date <= today'", "consistency",
              _c_expression, (Param("expr", "text", True, doc="expression over column names and today"),),
              needs_column=False, validate=_validate_expression),
    CheckKind("referential", "the value exists in another dataset's column", "integrity", _c_referential,
              (Param("values", "values", doc="the other column's values, or a callable returning them"),
               Param("source", "text", doc="name resolved by run_checks(references=...)")),
              validate=_one_of("values", "source")),
    CheckKind("any_valid", "at least one of several rules passes (e.g. valid email or valid phone)", "validity",
              None, (Param("rules", "rules", True, doc="the alternative rules"),), needs_column=False),
):
    register_check(_kind)


# --------------------------------------------------------------------------
# sentence-like constructors


def _rule(check: str, column: str | None, params: Mapping[str, Any], opts: Mapping[str, Any]) -> Rule:
    return Rule(check, column, {k: val for k, val in params.items() if val is not None}, **opts)


def not_null(column: str, **opts: Any) -> Rule:
    """``not_null("email")``: every row has a value (blank text counts as missing)."""
    return _rule("not_null", column, {}, opts)


def unique(column: str, **opts: Any) -> Rule:
    """``unique("customer_id")``: no value appears in two rows (missing values not tested)."""
    return _rule("unique", column, {}, opts)


def matches(column: str, pattern: str, **opts: Any) -> Rule:
    """``matches("postcode", r"^\\d{5}$")``: the text matches ``pattern`` (pandera's str_matches)."""
    return _rule("matches", column, {"pattern": pattern}, opts)


def in_set(column: str, values: Iterable[Any], *, case_sensitive: bool = True, **opts: Any) -> Rule:
    """``in_set("consent_email", ["Y", "N"])``: the value is one of ``values``, compared as text."""
    return _rule("in_set", column, {"values": list(values), "case_sensitive": None if case_sensitive else False}, opts)


def in_range(column: str, min: Any = None, max: Any = None, **opts: Any) -> Rule:  # noqa: A002
    """``in_range("age", 0, 120)``: numbers (or dates) between min and max; non-numbers fail."""
    return _rule("in_range", column, {"min": min, "max": max}, opts)


def length(column: str, min: int | None = None, max: int | None = None, **opts: Any) -> Rule:  # noqa: A002
    """``length("state", 2, 2)``: the text has between min and max characters."""
    return _rule("length", column, {"min": min, "max": max}, opts)


def date_parseable(column: str, *, formats: Iterable[str] | None = None, dayfirst: bool = False,
                   past: bool = False, **opts: Any) -> Rule:
    """``date_parseable("signup_date")``: the value reads as a date (``past``: birth dates, see parse_dates)."""
    return _rule("date_parseable", column, {"formats": None if formats is None else list(formats),
                                            "dayfirst": dayfirst or None, "past": past or None}, opts)


def not_in_future(column: str, *, past: bool = False, **opts: Any) -> Rule:
    """``not_in_future("signup_date")``: the date is not after the run's ``as_of`` (unparseable: not tested)."""
    return _rule("not_in_future", column, {"past": past or None}, opts)


def age_between(column: str, min: float = 0, max: float = 120, *, past: bool = False,  # noqa: A002
                **opts: Any) -> Rule:
    """``age_between("date_of_birth", 0, 120)``: the age on ``as_of`` is plausible.

    ``past=True`` reads "01/02/30" as 1930, as standardization reads birth dates.
    """
    return _rule("age_between", column, {"min": min, "max": max, "past": past or None}, opts)


def freshness(column: str, *, max_age_days: float | None = None, max_age_years: float | None = None,
              **opts: Any) -> Rule:
    """``freshness("signup_date", max_age_years=5)``: the date is recent enough."""
    return _rule("freshness", column, {"max_age_days": max_age_days, "max_age_years": max_age_years}, opts)


def valid_email(column: str, **opts: Any) -> Rule:
    """``valid_email("email")``: syntactically valid per email-validator."""
    return _rule("valid_email", column, {}, opts)


def valid_phone(column: str, region: str | None = None, *, country_column: str | None = None,
                strict: bool = True, local: bool = True, **opts: Any) -> Rule:
    """``valid_phone("phone", region="US")``: a valid number for its country.

    The country is the row's ``country_column`` when given and known, else
    ``region``, else the run's default region (``run_checks(default_region=)``
    or the rules file's ``default_region:``), else US. A local number without
    area code (7 digits in the US) passes as valid-local unless ``local=False``.
    """
    return _rule("valid_phone", column, {"region": region, "country_column": country_column,
                                         "strict": None if strict else False, "local": None if local else False},
                 opts)


def consistent_mapping(column: str, columns: Iterable[str], *, key_is_postcode: bool = True, **opts: Any) -> Rule:
    """``consistent_mapping("zip", ["city", "state"])``: records sharing a postcode agree on city and state.

    Values compare cleaned (case, accents and punctuation ignored; ZIP+4 as
    ZIP). A row fails when it disagrees with the most common value among the
    records sharing its key (all rows of a tie fail); rows without the key or
    without any of ``columns`` are not tested.
    """
    columns = [columns] if isinstance(columns, str) else list(columns)
    return _rule("consistent_mapping", column, {"columns": columns,
                                                "key_is_postcode": None if key_is_postcode else False}, opts)


def dates_ordered(column: str, later: str, *, strict: bool = False, **opts: Any) -> Rule:
    """``dates_ordered("signup_date", "updated_at")``: the first date is not after the second.

    Rows where either date is missing or unreadable are not tested.
    """
    return _rule("dates_ordered", column, {"later": later, "strict": strict or None}, opts)


def valid_postcode(column: str, country: str | None = None, *, country_column: str | None = None,
                   **opts: Any) -> Rule:
    """``valid_postcode("postcode", country="US")`` or ``country_column="country"``."""
    return _rule("valid_postcode", column, {"country": country, "country_column": country_column}, opts)


def consent_present(column: str, **opts: Any) -> Rule:
    """``consent_present("consent_email")``: a recognizable consent flag is recorded in every row."""
    return _rule("consent_present", column, {}, opts)


def consent_consistent(column: str, *, date_column: str, signup_column: str | None = None, **opts: Any) -> Rule:
    """``consent_consistent("consent_email", date_column="consent_date", signup_column="signup_date")``.

    Tested only where consent is given: it needs a consent date, not before signup.
    """
    return _rule("consent_consistent", column, {"date_column": date_column, "signup_column": signup_column}, opts)


def expression(expr: str, **opts: Any) -> Rule:
    """``expression("signup_date <= today", name="signup_not_future")``: a cross-field comparison.

    Evaluated with ``DataFrame.eval`` over parsed columns (numbers, dates or
    text); rows missing any involved value are not tested. Column names must
    be Python identifiers; only comparisons, arithmetic and logic are allowed.
    """
    return _rule("expression", None, {"expr": expr}, opts)


def referential(column: str, values: Any = None, *, source: str | None = None, **opts: Any) -> Rule:
    """``referential("customer_id", master["customer_id"])``: values exist in another dataset.

    ``values`` is the other column's values or a zero-argument callable
    returning them (called when the rule runs). For a rules file use
    ``source="master.customer_id"`` and give ``run_checks(references={...})``.
    Compared as text.
    """
    return _rule("referential", column, {"values": values, "source": source}, opts)


def any_valid(*rules: Rule, **opts: Any) -> Rule:
    """``any_valid(valid_email("email"), valid_phone("phone"), name="email_or_phone")``.

    Passes where any alternative passes, fails where none passes but one was
    tested, and is not tested where none was.
    """
    return _rule("any_valid", None, {"rules": list(rules)}, opts)
