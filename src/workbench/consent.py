"""Consent: one vocabulary for messy values, statements per channel and purpose, golden-record consent.

Customer data records consent in many shapes: ``consent_email: Y``,
``sms_opt_in: yes please``, ``newsletter: 1``, ``unsubscribed: TRUE`` (which
means *no*), ``gdpr_post: ?``. This module reads all of them into one
vocabulary, **granted**, **denied** or **unknown**, and into one long table of
*statements*: which record said what, for which channel (email, phone, SMS,
post) and purpose, when, from which source, on what evidence and from which
party (zero, first, second or third).

Reading values. :data:`DEFAULT_VALUES` maps values case-, space- and
punctuation-insensitively ("Opt-In!" is "opt in"); numbers 1/0 and booleans
count; a value that reads as a date means "yes, on that date". A value the
vocabulary does not know is *unknown* and flagged in :func:`mapping_table`;
nothing is guessed. Most words answer the column's question (``Y``, ``no``,
``1``) and flip in an *inverted* column (``unsubscribed``, ``opt_out``,
``do_not_call``: a ``Y`` there is denied). Some words say what they mean
whatever the column (``opted out``, ``unsubscribed``, ``stop``): they are
*absolute* and never flip.

Reading columns. Consent columns are the schema's ``Role.CONSENT`` columns;
channel, purpose and whether the column is inverted come from its name in any
common form (``EmailOptIn``, ``sms-opt-in``, ``gdpr_post``, ``newsletter``
meaning the email channel and purpose "newsletter"); the date of a statement
comes from a paired date column (``consent_email`` + ``consent_date``,
``sms_opt_in`` + ``sms_opt_in_at``). A consent column whose channel the name
does not tell (``marketing_ok``, ``opt_in``, ``mail_ok``: email or post?) is
reported in the plan and left out, never guessed. A YAML document overrides
all of it::

    consent:
      values:                     # raw value -> granted | denied | unknown (on top of the defaults)
        ja: granted
        nein: denied
        abgemeldet: {status: denied, absolute: true}   # means denied even in an inverted column
      default_channel: email      # for consent columns whose name names no channel (optional)
      columns:
        marketing_ok: {channel: email, purpose: marketing, date: marketing_ok_date}
        unsubscribed: {channel: email, inverted: true}
        gdpr_post: {channel: post, date: null}          # no date column
        cc_fund: {ignore: true}                         # not a consent column after all

Golden consent (:func:`golden_consent`) follows its own survivorship rules,
per golden record, channel and purpose:

1. Only *explicit* statements decide: granted or denied. Unknown values do not.
2. Consent is never inferred from third-party data: a third-party *grant* is
   ignored (it is kept in the statements, and named by the rule
   ``third_party_grant_ignored`` when nothing else was said). A third-party
   *opt-out* is honoured: when in doubt, do not contact. Second-party
   statements count as stated (a partner collected them).
3. The latest explicit statement wins, compared by calendar date (``latest``).
4. When the dates cannot tell an opt-in from a later opt-out, the opt-out
   wins: on the same date (``opt_out_same_date``), and when a date is
   missing on either side (``opt_out_undated``: an undated opt-out may be
   the latest; an undated opt-in is never shown to be later than anything).
5. When the members' explicit statements disagree the row is flagged
   ``conflict``, whichever rule decided it.

Ties left after these rules are broken by the record key, so the result does
not depend on the order of the input rows. :func:`merge_effect` compares
consent per record (the same rules, one record at a time) with consent per
golden record: who was reachable before merging, who is after, and which
records lost or gained consent by being merged.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from workbench import artifacts, dataset_rows
from workbench.checks.validators import as_text, distinct, parse_dates
from workbench.errors import ConfigError, WorkbenchError
from workbench.schema import Role, Schema, infer_schema, normalize_column_name
from workbench.yaml_nodes import (
    child,
    compose,
    did_you_mean,
    error_at,
    format_version,
    key_node,
    line,
    read_config,
)

__all__ = [
    "CHANGE_COLUMNS", "CHANNELS", "CONFIG_FORMAT_VERSION", "DEFAULT_PURPOSE", "DEFAULT_VALUES", "DENIED",
    "GOLDEN_COLUMNS", "GRANTED", "MAPPING_COLUMNS", "NOT_IN_DATASET", "PARTIES", "PLAN_COLUMNS", "RULES",
    "STATEMENT_COLUMNS", "STATUSES", "SUMMARY_COLUMNS", "UNKNOWN",
    "ColumnSpec", "ConsentConfig", "MergeEffect", "NameReading", "Statements", "Vocabulary", "Word",
    "column_plan", "default_words", "golden_consent", "inverted_name", "load_config", "mapping_table",
    "merge_effect", "normalize_value", "of_dataset", "consent_plan_frame", "read_column_name", "read_status", "statements",
]

GRANTED, DENIED, UNKNOWN = "granted", "denied", "unknown"
STATUSES = (GRANTED, DENIED, UNKNOWN)
CHANNELS = ("email", "phone", "sms", "post")
DEFAULT_PURPOSE = "marketing"
#: Party types, as ``workbench.provenance`` names them (None: not known).
PARTIES = ("zero", "first", "second", "third")
CONFIG_FORMAT_VERSION = 1

#: The long table of statements, one row per record, consent column and channel.
STATEMENT_COLUMNS = ["record_key", "channel", "purpose", "status", "at", "source", "evidence", "party",
                     "column", "value", "date_column"]
#: Golden consent, one row per golden record, channel and purpose that has any statement.
GOLDEN_COLUMNS = ["golden_id", "channel", "purpose", "status", "at", "record_key", "source", "party", "evidence",
                  "rule", "conflict", "explicit_statements"]
#: What the ``rule`` column of golden consent can say, and what it means.
RULES = {
    "only_statement": "one explicit statement",
    "agreed": "every explicit statement says the same",
    "latest": "the statements disagree; the latest explicit statement wins",
    "opt_out_same_date": "an opt-out and an opt-in of the same date: the opt-out wins",
    "opt_out_undated": "a missing date hides whether the opt-in or the opt-out is later: the opt-out wins",
    "no_explicit_statement": "no granted or denied statement: unknown",
    "third_party_grant_ignored": "only third-party grants, which never give consent: unknown",
}


# --------------------------------------------------------------------------
# the vocabulary


@dataclass(frozen=True)
class Word:
    """What one (normalized) value means.

    ``absolute``: the word says its own direction ("opted out") and is read
    the same in an inverted column; other words answer the column's question.
    """

    status: str
    absolute: bool = False
    origin: str = "default"  # default | yaml


def _words(status: str, absolute: bool, text: str) -> dict[str, Word]:
    return {w.strip(): Word(status, absolute) for w in text.split(",") if w.strip()}


#: Values (normalized by :func:`normalize_value`) and what they mean; YAML adds to or replaces them.
DEFAULT_VALUES: dict[str, Word] = {
    **_words(GRANTED, False, "y, yes, yes please, yeah, yep, yup, sure, true, t, 1, on, ok, okay, agree, agreed, "
                             "accept, accepted, checked, ticked, ✓, ja, j, oui, si, sí"),
    **_words(DENIED, False, "n, no, no thanks, no thank you, nope, nah, false, f, 0, off, disagree, unchecked, "
                            "unticked, ✗, nein, non"),
    **_words(GRANTED, True, "opt in, opted in, optin, optedin, opt in confirmed, double opt in, doi, subscribed, "
                            "subscribe, consent, consented, consent given, given, granted, allowed, permitted, "
                            "permission given"),
    **_words(DENIED, True, "opt out, opted out, optout, optedout, unsubscribed, unsubscribe, unsub, stop, stopped, "
                           "withdrawn, withdraw, revoked, denied, refused, declined, objected, no consent, "
                           "not consented, do not contact, do not email, do not call, do not mail, do not text, "
                           "dnc, no contact, blocked, suppressed"),
    **_words(UNKNOWN, True, "?, -, unknown, unk, n a, na, not asked, not known, not set, pending, maybe, tbc, "
                            "tbd, none, null, no answer, no response, undecided, unsure"),
}

_WHOLE_NUMBER = re.compile(r"[+-]?\d+(?:\.0*)?")
_NON_WORD = re.compile(r"[\W_]+")


def normalize_value(value: Any) -> str | None:
    """The form a value is looked up in: lower case, punctuation and spaces folded; None when missing.

    ``" Opt-In! "`` -> ``"opt in"``, ``1.0`` and ``"1.0"`` -> ``"1"``, ``True`` -> ``"true"``,
    ``"??"`` -> ``"?"``, ``"--"`` -> ``"-"``, ``"✔"`` -> ``"✓"``.
    """
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    text = as_text(value).lower()
    if not text or text in ("nan", "<na>", "nat"):
        return None
    if _WHOLE_NUMBER.fullmatch(text):
        return str(int(float(text)))
    words = _NON_WORD.sub(" ", text).strip()
    if words:
        return words
    if any(c in text for c in "✓✔☑"):
        return "✓"
    if any(c in text for c in "✗✘☒"):
        return "✗"
    return "?" if "?" in text else "-"


class Vocabulary:
    """Normalized value -> :class:`Word`; the default one is :data:`DEFAULT_VALUES`."""

    def __init__(self, words: Mapping[str, Word] | None = None) -> None:
        self.words: dict[str, Word] = dict(DEFAULT_VALUES if words is None else words)

    def __repr__(self) -> str:
        return f"Vocabulary({len(self.words)} values)"

    def with_values(self, values: Mapping[Any, str | Word], *, origin: str = "yaml") -> Vocabulary:
        """A copy with ``values`` (raw value -> status or :class:`Word`) added or replaced."""
        words = dict(self.words)
        for raw, meaning in values.items():
            norm = normalize_value(raw)
            if norm is None:
                raise ConfigError(f"consent value {raw!r} is empty: an empty value is missing, not a statement")
            if isinstance(meaning, Word):
                words[norm] = Word(_status(meaning.status), meaning.absolute, origin)
            else:
                status = _status(meaning)
                previous = words.get(norm)
                # a word redefined keeps whether it is absolute; a new one answers the column's question
                words[norm] = Word(status, previous.absolute if previous else status == UNKNOWN, origin)
        return Vocabulary(words)

    def words_for(self, status: str) -> frozenset[str]:
        """Every normalized value meaning ``status``."""
        return frozenset(w for w, word in self.words.items() if word.status == status)

    def read_distinct(self, uniques: pd.Series, *, inverted: bool = False) -> pd.DataFrame:
        """Per distinct value: ``normalized``, ``status`` (after inversion), ``at`` (a date value), ``how``."""
        rows = [self._read_one(v, inverted) for v in uniques]
        frame = pd.DataFrame(rows, columns=["normalized", "status", "how", "date_like"])
        at = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
        todo = frame.index[frame["date_like"].to_numpy(dtype=bool)]
        if len(todo):
            parsed = parse_dates(pd.Series([as_text(uniques.iloc[i]) for i in todo], dtype=object))
            hit = parsed.notna().to_numpy()
            at.iloc[todo[hit]] = parsed.to_numpy()[hit]
            answer = DENIED if inverted else GRANTED
            for i, ok in zip(todo, hit, strict=True):
                if ok:
                    frame.loc[i, "status"] = answer
                    frame.loc[i, "how"] = ("a date: consent given on that date" if answer == GRANTED else
                                           "a date in an inverted column: withdrawn on that date")
        frame["at"] = at
        return frame.drop(columns="date_like")

    def _read_one(self, value: Any, inverted: bool) -> tuple[str | None, str, str, bool]:
        norm = normalize_value(value)
        word = self.words.get(norm) if norm is not None else None
        if word is None:
            text = as_text(value)
            date_like = len(text) >= 6 and any(c.isdigit() for c in text)
            return norm, UNKNOWN, "not in the vocabulary: add it under consent: values:", date_like
        where = "your consent YAML" if word.origin == "yaml" else "the default vocabulary"
        how = f"{norm!r} means {word.status} in {where}"
        status = word.status
        if inverted and not word.absolute and status != UNKNOWN:
            status = DENIED if status == GRANTED else GRANTED
            how += f"; read as {status}: the column is inverted"
        return norm, status, how, False


def _status(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in STATUSES:
        close = difflib.get_close_matches(text, STATUSES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{value!r} is not a consent status{hint}; use granted, denied or unknown")
    return text


def read_status(values: pd.Series, *, inverted: bool = False, vocabulary: Vocabulary | None = None) -> pd.Series:
    """Each value as granted / denied / unknown (None where the value is missing).

    ``inverted``: the column asks the opposite question (``unsubscribed``), so
    answers flip; absolute words ("opted out") do not.
    """
    vocab = vocabulary or _DEFAULT_VOCABULARY
    codes, uniques = distinct(values)
    read = vocab.read_distinct(uniques, inverted=inverted)["status"].to_numpy(dtype=object)
    out = np.full(len(values), None, dtype=object)
    present = codes >= 0
    out[present] = read[codes[present]]
    return pd.Series(out, index=values.index, name=values.name, dtype=object)


_DEFAULT_VOCABULARY = Vocabulary()


def default_words(status: str) -> frozenset[str]:
    """The default vocabulary's normalized values meaning ``status`` (``validators.CONSENT_TRUE`` is granted)."""
    return _DEFAULT_VOCABULARY.words_for(_status(status))


# --------------------------------------------------------------------------
# column names: channel, purpose, inverted


@dataclass(frozen=True)
class NameReading:
    """What a column name says: channels, purpose, whether it is inverted, and what it leaves open."""

    channels: tuple[str, ...]
    purpose: str | None
    inverted: bool
    ambiguous: str | None = None  # a word that could mean two channels ("mail": email or post?)


_CHANNEL_TOKENS = {
    "email": "email", "emails": "email", "newsletter": "email", "newsletters": "email", "enews": "email",
    "edm": "email",
    "phone": "phone", "telephone": "phone", "tel": "phone", "call": "phone", "calls": "phone", "calling": "phone",
    "telemarketing": "phone", "voice": "phone", "landline": "phone", "tps": "phone",
    "sms": "sms", "text": "sms", "texts": "sms", "txt": "sms", "mms": "sms",
    "post": "post", "postal": "post", "letter": "post", "letters": "post", "catalog": "post",
    "catalogue": "post", "mps": "post",
}
#: Stems found inside run-together names ("emailoptin", "smsconsent").
_CHANNEL_STEMS = {"email": "email", "newsletter": "email", "sms": "sms", "telephone": "phone", "phone": "phone",
                  "telemarketing": "phone", "postal": "post", "directmail": "post", "textmessage": "sms"}
_AMBIGUOUS = {"mail": "email or post", "mailing": "email or post", "mailings": "email or post",
              "mobile": "phone or SMS", "dm": "direct mail or direct message", "contact": "any channel"}
_PURPOSES = (
    ("newsletter", ("newsletter", "newsletters", "enews")),
    ("research", ("survey", "surveys", "research", "feedback")),
    ("profiling", ("profiling", "analytics", "personalisation", "personalization", "tracking")),
    ("third_party_sharing", ("partner", "partners", "thirdparty", "3rdparty", "sharing", "share")),
    ("service", ("service", "transactional", "account", "billing")),
    ("marketing", ("marketing", "promo", "promos", "promotional", "promotions", "offers", "advertising",
                   "ads", "werbung", "commercial")),
)
_INVERTED_STEMS = ("unsubscri", "optout", "optedout", "donot", "dontcontact", "suppress", "robinson", "withdraw",
                   "revoke", "blacklist", "objection")
_INVERTED_TOKENS = {"stop", "dnc", "block", "blocked", "tps", "mps", "unsub", "objected", "refused", "declined"}
_CONSENT_STEMS = ("consent", "optin", "optout", "opted", "permission", "subscri", "gdpr", "newsletter", "preference", "marketing",
                  "unsub", "dnc", "agree", "contact")
_DATE_SUFFIXES = {"date", "at", "on", "ts", "timestamp", "time", "datetime", "dt", "updated", "changed",
                  "given", "since", "when", "date_time", "updated_at", "changed_at"}


def _tokens(name: str) -> tuple[str, list[str], str]:
    norm = normalize_column_name(name).replace("e_mail", "email")
    return norm, [t for t in norm.split("_") if t], norm.replace("_", "")


def read_column_name(name: str) -> NameReading:
    """Channels, purpose and inversion a consent column's name tells, in any common form.

    ``EmailOptIn`` -> email; ``sms-opt-in`` -> sms; ``gdpr_post`` -> post;
    ``newsletter`` -> email, purpose newsletter; ``unsubscribed`` -> inverted,
    no channel; ``mail_ok`` -> ambiguous ("mail": email or post).
    """
    norm, tokens, joined = _tokens(name)
    found = [_CHANNEL_TOKENS[t] for t in tokens if t in _CHANNEL_TOKENS]
    found += [ch for stem, ch in _CHANNEL_STEMS.items() if stem in joined]
    channels = tuple(c for c in CHANNELS if c in found)
    ambiguous = None
    if not channels:
        ambiguous = next((f"{t!r} could mean {_AMBIGUOUS[t]}" for t in tokens if t in _AMBIGUOUS), None)
    purpose = next((p for p, words in _PURPOSES
                    if any(w in tokens or (len(w) > 6 and w in joined) for w in words)), None)
    inverted = (any(s in joined for s in _INVERTED_STEMS) or any(t in _INVERTED_TOKENS for t in tokens)
                or (len(tokens) > 1 and tokens[0] in ("no", "dont", "not")))
    return NameReading(channels, purpose, inverted, ambiguous)


def inverted_name(name: Any) -> bool:
    """Whether a column named ``name`` asks the opposite question (``unsubscribed``, ``opt_out``, ``no_sms``)."""
    return name is not None and read_column_name(str(name)).inverted


# --------------------------------------------------------------------------
# the YAML override


class _Unset:
    def __repr__(self) -> str:
        return "unset"


_UNSET: Any = _Unset()  # a YAML key not given (``date: null`` is given: no date column)


@dataclass(frozen=True)
class ColumnOverride:
    """What the YAML says about one column; unset fields are read from its name."""

    channels: tuple[str, ...] | None = None
    purpose: str | None = None
    inverted: bool | None = None
    date: Any = _UNSET  # a column name, None for "no date", _UNSET to pair one from the names
    ignore: bool = False


@dataclass(frozen=True)
class ConsentConfig:
    """The ``consent:`` YAML: value mapping, per-column channel/purpose/inverted/date, a default channel."""

    values: Mapping[str, Word] = field(default_factory=dict)
    columns: Mapping[str, ColumnOverride] = field(default_factory=dict)
    default_channel: str | None = None
    path: str | None = None

    @property
    def vocabulary(self) -> Vocabulary:
        return Vocabulary({**DEFAULT_VALUES, **self.values})

    @classmethod
    def coerce(cls, config: ConsentConfig | Mapping[str, Any] | str | Path | None,
               columns: Iterable[str] | None = None) -> ConsentConfig:
        """A config from itself, a YAML path, a dict (as YAML would give it) or None (defaults only)."""
        if config is None:
            return cls()
        if isinstance(config, ConsentConfig):
            return config
        if isinstance(config, str | Path):
            return load_config(config, columns=columns)
        if isinstance(config, Mapping):
            return _build_config(config, None, None, None if columns is None else [str(c) for c in columns])
        raise WorkbenchError(f"consent config must be a YAML path or a mapping, got {type(config).__name__}")

    @classmethod
    def from_yaml(cls, text: str, *, path: str | None = None, columns: Iterable[str] | None = None) -> ConsentConfig:
        """Parse a consent YAML document; errors are ``ConfigError`` with the path and line."""
        node, data = compose(text, path)
        return _build_config(data, node, path, None if columns is None else [str(c) for c in columns])


def load_config(path: str | Path, columns: Iterable[str] | None = None) -> ConsentConfig:
    """Read a consent YAML file; with ``columns`` (the data's), naming another column is an error too."""
    return ConsentConfig.from_yaml(read_config(path, "consent file"), path=str(path), columns=columns)


_TOP_KEYS = ("version", "description", "values", "default_channel", "columns")
_COLUMN_KEYS = ("channel", "purpose", "inverted", "date", "ignore")
_CHANNEL_WORDS = {"email": "email", "e mail": "email", "phone": "phone", "telephone": "phone", "tel": "phone",
                  "call": "phone", "sms": "sms", "text": "sms", "post": "post", "postal": "post",
                  "letter": "post", "direct mail": "post"}




def _channel(value: Any, path: str | None, node: yaml.Node | None, where: str) -> str:
    text = normalize_value(value) or ""
    if text not in _CHANNEL_WORDS:
        raise error_at(f"{where}: {value!r} is not a channel{did_you_mean(text, CHANNELS)}; "
                     f"channels: {', '.join(CHANNELS)}", path, node)
    return _CHANNEL_WORDS[text]


def _build_config(data: Any, root: yaml.Node | None, path: str | None, columns: list[str] | None) -> ConsentConfig:
    if not isinstance(data, Mapping) or "consent" not in data:
        raise error_at("a consent file is a mapping with a 'consent:' section (values:, columns:, default_channel:)",
                     path, root)
    node = child(root, "consent")
    section = data["consent"] or {}
    if not isinstance(section, Mapping):
        raise error_at("'consent:' must be a mapping with values:, columns: or default_channel:", path, node)
    for key in section:
        if key not in _TOP_KEYS:
            raise error_at(f"unknown key {key!r} under consent:{did_you_mean(str(key), _TOP_KEYS)}; "
                         f"it has: {', '.join(_TOP_KEYS)}", path, key_node(node, str(key)) or node)
    format_version(section.get("version", CONFIG_FORMAT_VERSION), CONFIG_FORMAT_VERSION, "consent format", path,
                   child(node, "version"))
    values = _build_values(section.get("values"), child(node, "values"), path)
    default = section.get("default_channel")
    if default is not None:
        default = _channel(default, path, child(node, "default_channel"), "default_channel")
    cols = section.get("columns") or {}
    cols_node = child(node, "columns")
    if not isinstance(cols, Mapping):
        raise error_at("'columns:' must map a column name to {channel:, purpose:, inverted:, date:}", path, cols_node)
    overrides = {}
    for name, spec in cols.items():
        overrides[str(name)] = _build_column(str(name), spec, cols_node, path, columns)
    return ConsentConfig(values, overrides, default, path)


def _build_values(values: Any, node: yaml.Node | None, path: str | None) -> dict[str, Word]:
    if values is None:
        return {}
    if not isinstance(node, yaml.MappingNode) and not isinstance(values, Mapping):
        raise error_at("'values:' must map a raw value to granted, denied or unknown", path, node)
    out: dict[str, Word] = {}
    seen: dict[str, tuple[str, int | None]] = {}
    # keys as written (YAML would read yes/no/on/off as booleans and 1 as a number)
    if isinstance(node, yaml.MappingNode):
        items = [(k.value, k, v, _node_data(v)) for k, v in node.value]
    else:
        items = [(k, None, None, v) for k, v in values.items()]
    for raw, knode, vnode, meaning in items:
        norm = normalize_value(raw)
        if norm is None:
            raise error_at(f"consent value {raw!r} is empty: an empty value is missing, not a statement",
                         path, knode)
        absolute = None
        if isinstance(meaning, Mapping):
            unknown = [k for k in meaning if k not in ("status", "absolute")]
            if unknown:
                raise error_at(f"value {raw!r}: unknown key {unknown[0]!r}; a value takes status: and absolute:",
                             path, key_node(vnode, str(unknown[0])) or vnode)
            absolute = meaning.get("absolute", False)
            if not isinstance(absolute, bool):
                raise error_at(f"value {raw!r}: absolute must be true or false, got {absolute!r}", path,
                             child(vnode, "absolute") or vnode)
            meaning = meaning.get("status")
            vnode = child(vnode, "status") or vnode
        try:
            status = _status(meaning)
        except ConfigError as exc:
            raise error_at(f"value {raw!r}: {exc.message}", path, vnode) from None
        if norm in seen and seen[norm][0] != status:
            other, at = seen[norm]
            raise error_at(f"value {raw!r} is the same value as one on line {at} ({norm!r}) but says {status}, "
                         f"not {other}", path, knode)
        seen[norm] = (status, line(knode))
        previous = DEFAULT_VALUES.get(norm)
        if absolute is None:
            absolute = previous.absolute if previous else status == UNKNOWN
        out[norm] = Word(status, absolute, "yaml")
    return out


def _node_data(vnode: yaml.Node) -> Any:
    """The value of one ``values:`` entry as written: its key may have been read as a boolean or a number."""
    if isinstance(vnode, yaml.ScalarNode):
        return vnode.value
    if isinstance(vnode, yaml.MappingNode):
        out: dict[str, Any] = {}
        for k, v in vnode.value:
            if isinstance(v, yaml.ScalarNode):
                out[k.value] = yaml.safe_load(v.value) if k.value == "absolute" else v.value
            else:
                out[k.value] = v
        return out
    return vnode


def _build_column(name: str, spec: Any, cols_node: yaml.Node | None, path: str | None,
                  columns: list[str] | None) -> ColumnOverride:
    knode = key_node(cols_node, name)
    node = child(cols_node, name)
    if columns is not None and name not in columns:
        raise error_at(f"consent column {name!r} is not in the data{did_you_mean(name, columns)}; "
                     f"columns: {', '.join(columns)}", path, knode or cols_node)
    if spec is False:
        return ColumnOverride(ignore=True)
    if spec is None:
        spec = {}
    if not isinstance(spec, Mapping):
        raise error_at(f"column {name!r} must be a mapping of {', '.join(_COLUMN_KEYS)}", path, node or knode)
    for key in spec:
        if key not in _COLUMN_KEYS:
            raise error_at(f"column {name!r}: unknown key {key!r}{did_you_mean(str(key), _COLUMN_KEYS)}; "
                         f"a column takes {', '.join(_COLUMN_KEYS)}", path, key_node(node, str(key)) or node)
    channels = None
    if spec.get("channel") is not None:
        raw = spec["channel"]
        cnode = child(node, "channel")
        items = raw if isinstance(raw, list) else [raw]
        if not items:
            raise error_at(f"column {name!r}: channel must name at least one of {', '.join(CHANNELS)}", path, cnode)
        channels = tuple(dict.fromkeys(_channel(v, path, child(cnode, i) if isinstance(raw, list) else cnode,
                                                f"column {name!r}") for i, v in enumerate(items)))
    purpose = spec.get("purpose")
    if purpose is not None:
        purpose = normalize_value(purpose)
        if not purpose:
            raise error_at(f"column {name!r}: purpose must be a word such as marketing or newsletter", path,
                         child(node, "purpose"))
        purpose = purpose.replace(" ", "_")
    for flag in ("inverted", "ignore"):
        if flag in spec and not isinstance(spec[flag], bool):
            raise error_at(f"column {name!r}: {flag} must be true or false, got {spec[flag]!r}", path,
                         child(node, flag))
    date: Any = _UNSET
    if "date" in spec:
        date = spec["date"]
        if date is not None:
            date = str(date)
            if columns is not None and date not in columns:
                raise error_at(f"column {name!r}: date column {date!r} is not in the data"
                             f"{did_you_mean(date, columns)}; columns: {', '.join(columns)}", path,
                             child(node, "date"))
    return ColumnOverride(channels, purpose, spec.get("inverted"), date, bool(spec.get("ignore", False)))


# --------------------------------------------------------------------------
# the plan: how each consent column is read


@dataclass(frozen=True)
class ColumnSpec:
    """How one consent column is read; ``problem`` set means it gives no statements (and why)."""

    column: str
    channels: tuple[str, ...]
    purpose: str
    inverted: bool
    date_column: str | None
    how: str
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "channel": ", ".join(self.channels) or None, "purpose": self.purpose,
                "inverted": self.inverted, "date_column": self.date_column, "how": self.how,
                "problem": self.problem}


PLAN_COLUMNS = ["column", "channel", "purpose", "inverted", "date_column", "how", "problem"]
#: The problem of a column the YAML names but the data lacks (a YAML can serve several datasets).
NOT_IN_DATASET = "not in this dataset"


def consent_plan_frame(plan: Sequence[ColumnSpec]) -> pd.DataFrame:
    """The plan as a table: column, channel, purpose, inverted, date_column, how, problem."""
    return pd.DataFrame([s.to_dict() for s in plan], columns=PLAN_COLUMNS)


def column_plan(schema: Schema, config: ConsentConfig | Mapping[str, Any] | str | Path | None = None, *,
                columns: Iterable[str] | None = None) -> list[ColumnSpec]:
    """How each consent column reads: the schema's consent columns and those the YAML names, in column order.

    ``columns``: the data's columns (default: the schema's). A column whose
    channel neither its name nor the YAML tells gets a ``problem`` and gives
    no statements.
    """
    cfg = ConsentConfig.coerce(config)
    names = [str(c) for c in (columns if columns is not None else schema.names)]
    known = set(names)
    consent = [c for c in names if c in set(schema.columns_with(Role.CONSENT)) or c in cfg.columns]
    plan: list[ColumnSpec] = []
    for col in consent:
        o = cfg.columns.get(col, ColumnOverride())
        if o.ignore:
            continue
        reading = read_column_name(col)
        set_by = [k for k, v in (("channel", o.channels), ("purpose", o.purpose), ("inverted", o.inverted),
                                 ("date", None if o.date is _UNSET else True)) if v is not None]
        channels = o.channels or reading.channels
        problem = None
        how = "from its name" if not set_by else f"{', '.join(set_by)} from your consent YAML, the rest from its name"
        if not channels and cfg.default_channel:
            channels = (cfg.default_channel,)
            how += f"; channel {cfg.default_channel} is the YAML's default_channel"
        if not channels:
            why = reading.ambiguous or "its name names no channel"
            problem = (f"channel unknown ({why}); set it in a consent YAML "
                       f"(consent: columns: {col}: channel: email|phone|sms|post)")
        purpose = o.purpose or reading.purpose or DEFAULT_PURPOSE
        inverted = reading.inverted if o.inverted is None else o.inverted
        if o.date is not _UNSET:
            date = o.date
        else:
            date, note = _pair_date(col, channels, inverted, schema, names)
            if note:
                how += f"; {note}"
        plan.append(ColumnSpec(col, tuple(channels), purpose, inverted, date, how, problem))
    for col in cfg.columns:
        if col not in known:
            plan.append(ColumnSpec(col, (), DEFAULT_PURPOSE, False, None, "named in your consent YAML",
                                   NOT_IN_DATASET))
    return plan


def _pair_date(col: str, channels: Sequence[str], inverted: bool, schema: Schema,
               names: list[str]) -> tuple[str | None, str | None]:
    """The date column of a consent column: ``<col>_date``, else one consent date of its channel, else a shared one."""
    norm = _tokens(col)[0]
    consent_cols = set(schema.columns_with(Role.CONSENT))
    for other in names:
        if other == col or other in consent_cols:
            continue
        onorm = _tokens(other)[0]
        if onorm.startswith(norm + "_") and onorm[len(norm) + 1:] in _DATE_SUFFIXES:
            return other, None
    dates = [c for c in schema.columns_with(Role.DATE) if c in names and c != col
             and any(s in _tokens(c)[2] for s in _CONSENT_STEMS)]
    readings = {c: read_column_name(c) for c in dates}
    dates = [c for c in dates if readings[c].inverted == inverted]
    same = [c for c in dates if readings[c].channels and set(readings[c].channels) == set(channels)]
    shared = [c for c in dates if not readings[c].channels]
    for group in (same, shared):
        if len(group) == 1:
            return group[0], None
        if len(group) > 1:
            return None, (f"several possible dates ({', '.join(group)}): none used; set date: in a consent YAML")
    return None, None


# --------------------------------------------------------------------------
# statements


@dataclass
class Statements:
    """Consent statements of one dataset and how they were read.

    ``table``: one row per record, consent column and channel (see
    :data:`STATEMENT_COLUMNS`); a missing value is no statement and gives no
    row, a value the vocabulary does not know gives status unknown.
    ``plan``: how each consent column was read (:class:`ColumnSpec`).
    ``mapping``: which raw value mapped to what (:func:`mapping_table`).
    """

    table: pd.DataFrame
    plan: list[ColumnSpec]
    mapping: pd.DataFrame
    dataset: str = "dataset"

    def __len__(self) -> int:
        return len(self.table)

    @property
    def problems(self) -> list[str]:
        """One sentence per consent column left out, and why."""
        return [f"{s.column}: {s.problem}" for s in self.plan if s.problem]

    def plan_frame(self) -> pd.DataFrame:
        return consent_plan_frame(self.plan)


MAPPING_COLUMNS = ["column", "value", "records", "normalized", "status", "how", "flagged"]


def statements(frame: pd.DataFrame, schema: Schema | None = None,
               config: ConsentConfig | Mapping[str, Any] | str | Path | None = None, *,
               dataset: str = "dataset", party: Any = None, key: str | None = None) -> Statements:
    """The consent statements of ``frame``: who said what, for which channel and purpose, when, where, how.

    ``schema``: roles (inferred when not given) find the consent, date and
    source columns and the key. ``config``: a consent YAML path or mapping
    (see the module docs). ``dataset``: the source when the schema has no
    source column. ``party``: the party type of the records (zero, first,
    second, third or None), one for all or a Series aligned to ``frame``'s
    index (e.g. ``workbench.provenance.party_of_records``).
    """
    schema = schema if schema is not None else infer_schema(frame, key=key)
    cfg = ConsentConfig.coerce(config)
    vocab = cfg.vocabulary
    plan = column_plan(schema, cfg, columns=frame.columns)
    key = key or schema.key or schema.column_for(Role.ID)
    if key is not None and key not in frame.columns:
        raise WorkbenchError(f"key column {key!r} is not in the data; columns: {', '.join(map(str, frame.columns))}")
    keys = (frame[key] if key else pd.Series(frame.index, index=frame.index)).astype(str).to_numpy(dtype=object)
    source_col = schema.column_for(Role.SOURCE)
    if source_col is not None and source_col in frame.columns:
        src = frame[source_col]
        sources = src.astype(str).str.strip().where(src.notna() & (src.astype(str).str.strip() != ""), dataset)
        sources = sources.to_numpy(dtype=object)
    else:
        sources = np.full(len(frame), dataset, dtype=object)
    parties = _parties(party, frame.index)
    parts, mapping = [], []
    for spec in plan:
        if spec.column not in frame.columns:
            continue
        codes, uniques = distinct(frame[spec.column])
        read = vocab.read_distinct(uniques, inverted=spec.inverted)
        mapping.append(_mapping_rows(spec.column, codes, uniques, read))
        if spec.problem:
            continue
        rows = np.flatnonzero(codes >= 0)
        c = codes[rows]
        at = read["at"].to_numpy()[c]
        if spec.date_column is not None and spec.date_column in frame.columns:
            dated = parse_dates(frame[spec.date_column]).to_numpy()[rows]
            at = np.where(pd.isna(at), dated, at)
        texts = np.array([as_text(u) for u in uniques], dtype=object)
        evidence = np.array([f"{spec.column}={t}" for t in texts], dtype=object)
        for channel in spec.channels:
            parts.append(pd.DataFrame({
                "record_key": keys[rows], "channel": channel, "purpose": spec.purpose,
                "status": read["status"].to_numpy(dtype=object)[c], "at": pd.to_datetime(at),
                "source": sources[rows], "evidence": evidence[c], "party": parties[rows],
                "column": spec.column, "value": texts[c], "date_column": spec.date_column,
            }))
    table = (pd.concat(parts, ignore_index=True) if parts else _empty_statements())[STATEMENT_COLUMNS]
    table["at"] = table["at"].astype("datetime64[ns]")
    mapping_frame = (pd.concat(mapping, ignore_index=True) if mapping
                     else pd.DataFrame(columns=MAPPING_COLUMNS))
    return Statements(table, plan, mapping_frame, dataset)


def of_dataset(ds: Any, config: ConsentConfig | Mapping[str, Any] | str | Path | None = None, *,
               party: Any = None) -> Statements:
    """:func:`statements` of a workspace dataset, reading only the columns it needs from its Parquet file.

    ``party``: as for :func:`statements`, or a function of the frame read (its
    rows are the dataset's rows) returning one; by default the party each
    record has by the dataset's provenance (``workbench.provenance``).
    """
    cfg = ConsentConfig.coerce(config)
    schema = ds.schema
    plan = column_plan(schema, cfg)
    wanted = [ds.key, schema.column_for(Role.SOURCE)] + [c for s in plan for c in (s.column, s.date_column)]
    names = set(schema.names)
    cols = [c for c in dict.fromkeys(wanted) if c is not None and c in names]
    frame = dataset_rows.read_frame(ds.workspace.artifact_path(ds, artifacts.DATA), columns=cols)
    who = party(frame) if callable(party) else party
    origin = getattr(ds, "provenance", None)
    if who is None and origin is not None and origin.known:
        from workbench.provenance import party_of_records

        who = party_of_records(frame, origin, schema.column_for(Role.SOURCE))
    return statements(frame, schema, cfg, dataset=ds.name, party=who, key=ds.key)


def mapping_table(data: pd.DataFrame | pd.Series, schema: Schema | None = None,
                  config: ConsentConfig | Mapping[str, Any] | str | Path | None = None, *,
                  inverted: bool | None = None) -> pd.DataFrame:
    """Which raw value mapped to what: column, value, records, normalized, status, how, flagged.

    ``data``: a frame (its consent columns, as :func:`column_plan` finds them,
    including those whose channel is unknown) or one column as a Series
    (``inverted`` taken from its name unless given). ``flagged`` marks every
    value read as unknown: not in the vocabulary, or meaning unknown ("?").
    Most frequent values first within each column.
    """
    cfg = ConsentConfig.coerce(config)
    if isinstance(data, pd.Series):
        name = "value" if data.name is None else str(data.name)
        o = cfg.columns.get(name, ColumnOverride())
        flip = inverted if inverted is not None else (o.inverted if o.inverted is not None else inverted_name(name))
        codes, uniques = distinct(data)
        return _mapping_rows(name, codes, uniques, cfg.vocabulary.read_distinct(uniques, inverted=flip))
    schema = schema if schema is not None else infer_schema(data)
    out = []
    for spec in column_plan(schema, cfg, columns=data.columns):
        if spec.column in data.columns:
            codes, uniques = distinct(data[spec.column])
            read = cfg.vocabulary.read_distinct(uniques, inverted=spec.inverted)
            out.append(_mapping_rows(spec.column, codes, uniques, read))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=MAPPING_COLUMNS)


def _mapping_rows(column: str, codes: np.ndarray, uniques: pd.Series, read: pd.DataFrame) -> pd.DataFrame:
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques)) if len(uniques) else np.zeros(0, dtype=int)
    rows = pd.DataFrame({
        "column": column, "value": [as_text(u) for u in uniques], "records": counts.astype("int64"),
        "normalized": read["normalized"].to_numpy(dtype=object), "status": read["status"].to_numpy(dtype=object),
        "how": read["how"].to_numpy(dtype=object),
    })
    # 1 and "1" in one column are one value as text: counted together
    rows = (rows.groupby(["column", "value", "normalized", "status", "how"], sort=False, dropna=False)["records"]
            .sum().reset_index())
    rows["flagged"] = rows["status"] == UNKNOWN
    rows = rows.sort_values(["records", "value"], ascending=[False, True], kind="stable")
    missing = int((codes < 0).sum())
    if missing:
        rows = pd.concat([rows, pd.DataFrame([{
            "column": column, "value": None, "records": missing, "normalized": None, "status": None,
            "how": "missing or blank: no statement", "flagged": False}])], ignore_index=True)
    return rows[MAPPING_COLUMNS].reset_index(drop=True)


def _empty_statements() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c == "at" else object) for c in STATEMENT_COLUMNS})


def _party(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip().lower().removesuffix("-party").removesuffix(" party").removesuffix("_party")
    if not text:
        return None
    text = {"0": "zero", "1": "first", "2": "second", "3": "third", "1st": "first", "2nd": "second",
            "3rd": "third"}.get(text, text)
    if text not in PARTIES:
        raise WorkbenchError(f"{value!r} is not a party type; use one of {', '.join(PARTIES)} (or None: unknown)")
    return text


def _parties(party: Any, index: pd.Index) -> np.ndarray:
    if isinstance(party, pd.Series):
        if not index.isin(party.index).all():
            raise WorkbenchError("party must be one party type or a Series aligned to the records (the frame's "
                                 "index); some records have no party in it")
        aligned = party.reindex(index)
        codes, uniques = pd.factorize(aligned.astype(object), use_na_sentinel=True)
        names = np.array([_party(u) for u in uniques] + [None], dtype=object)
        return names[codes]  # code -1 (missing) takes the last entry: None
    return np.full(len(index), _party(party), dtype=object)


# --------------------------------------------------------------------------
# golden consent


def _statement_table(data: Statements | pd.DataFrame) -> pd.DataFrame:
    table = data.table if isinstance(data, Statements) else data
    if not isinstance(table, pd.DataFrame):
        raise WorkbenchError(f"statements must be a Statements or a DataFrame, got {type(table).__name__}")
    missing = [c for c in ("record_key", "channel", "purpose", "status") if c not in table.columns]
    if missing:
        raise WorkbenchError(f"statements lack column {missing[0]!r}; they need record_key, channel, purpose, "
                             "status (and at, source, evidence, party when known)")
    out = table.copy()
    for col in ("at", "source", "evidence", "party"):
        if col not in out.columns:
            out[col] = pd.NaT if col == "at" else None
    bad = set(out["status"].dropna().unique()) - set(STATUSES)
    if bad or out["status"].isna().any():
        raise WorkbenchError(f"statement status must be granted, denied or unknown; got {sorted(map(str, bad))[:3]}"
                             if bad else "statements with no status")
    out["at"] = parse_dates(out["at"]).astype("datetime64[ns]")  # datetimes pass, text is read as a date
    out["record_key"] = out["record_key"].astype(str)
    out["party"] = _parties(out["party"], out.index)
    return out


def _crosswalk(crosswalk: pd.DataFrame) -> pd.DataFrame:
    """record_key -> golden_id as text; also accepts clusters (key, cluster_id)."""
    cw = crosswalk
    if not {"record_key", "golden_id"} <= set(cw.columns):
        if {"key", "cluster_id"} <= set(cw.columns):
            cw = cw.rename(columns={"key": "record_key", "cluster_id": "golden_id"})
        else:
            raise WorkbenchError("crosswalk must have columns record_key and golden_id (or clusters: key, "
                                 f"cluster_id); got {', '.join(map(str, crosswalk.columns))}")
    cw = pd.DataFrame({"record_key": cw["record_key"].astype(str), "golden_id": cw["golden_id"].astype(str)})
    dup = cw["record_key"].duplicated()
    if dup.any():
        raise WorkbenchError(f"record {cw['record_key'][dup].iloc[0]!r} is in the crosswalk twice; a record "
                             "belongs to one golden record")
    return cw


_MIN = np.iinfo(np.int64).min


def golden_consent(statements: Statements | pd.DataFrame, crosswalk: pd.DataFrame | None = None) -> pd.DataFrame:
    """Consent per golden record, channel and purpose, by the survivorship rules of the module docs.

    ``crosswalk``: record_key -> golden_id (``GoldenResult.crosswalk``, or
    clusters with key and cluster_id); statements of records it does not name
    are left out. Without one, each record is its own golden record (consent
    per record, the same rules). Columns: :data:`GOLDEN_COLUMNS`; ``rule``
    is a key of :data:`RULES`; the winner's ``record_key``, ``at``,
    ``source``, ``party`` and ``evidence`` are empty when no explicit
    statement exists (status unknown).
    """
    st = _statement_table(statements)
    if crosswalk is None:
        return _survive(st, by="record_key")
    return _survive(_attach(st, _crosswalk(crosswalk)))


def _attach(st: pd.DataFrame, cw: pd.DataFrame) -> pd.DataFrame:
    """The statements of records the crosswalk names, with their golden_id (a hash lookup, not a join)."""
    pos = pd.Index(cw["record_key"]).get_indexer(st["record_key"])
    keep = np.flatnonzero(pos >= 0)
    out = st.iloc[keep].reset_index(drop=True) if len(keep) < len(st) else st  # st is our own copy
    out["golden_id"] = cw["golden_id"].to_numpy(dtype=object)[pos[keep]]
    return out


def _sorted_codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes ranking the values as text (missing: -1), and the sorted distinct values.

    Like ``pd.factorize(sort=True)``, but the distinct values are sorted as
    fixed-width text by numpy, several times faster for a million keys.
    """
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    uniques = np.asarray(uniques, dtype=object)
    if not len(uniques):
        return codes.astype(np.int64), uniques
    order = np.argsort(uniques.astype(str), kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return np.where(codes >= 0, rank[np.maximum(codes, 0)], -1), uniques[order]


def _dense(values: np.ndarray) -> np.ndarray:
    """Dense ranks of integer values (0 for the smallest)."""
    return np.unique(values, return_inverse=True)[1].reshape(-1).astype(np.int64)


def _survive(st: pd.DataFrame, by: str = "golden_id") -> pd.DataFrame:
    """Golden consent of statements grouped by ``by`` (golden_id, or record_key: each record alone)."""
    if st.empty:
        return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c == "at" else bool if c == "conflict"
                                          else "int64" if c == "explicit_statements" else object)
                             for c in GOLDEN_COLUMNS})
    status_text = st["status"].to_numpy(dtype=object)
    said_yes, said_no = status_text == GRANTED, status_text == DENIED
    third_grant = said_yes & (st["party"].to_numpy(dtype=object) == "third")
    granted, denied = said_yes & ~third_grant, said_no  # the explicit statements
    at = st["at"].to_numpy(dtype="datetime64[ns]")
    at_int = np.where(np.isnat(at), _MIN, at.astype("int64"))
    day = st["at"].dt.normalize().to_numpy(dtype="datetime64[ns]")
    day_int = np.where(np.isnat(day), _MIN, day.astype("int64"))
    # groups in (golden_id, channel, purpose) order, as dense codes
    g, _ = _sorted_codes(st[by])
    c, channels = _sorted_codes(st["channel"])
    p, purposes = _sorted_codes(st["purpose"])
    gcodes = _dense((g * len(channels) + c) * len(purposes) + p)

    # per group: what was said, and the latest date of each side (_MIN: none dated)
    ngroups = int(gcodes.max()) + 1
    n_granted = np.bincount(gcodes, weights=granted, minlength=ngroups).astype("int64")
    n_denied = np.bincount(gcodes, weights=denied, minlength=ngroups).astype("int64")
    any_third_grant = np.bincount(gcodes, weights=third_grant, minlength=ngroups) > 0
    undated_denial = np.bincount(gcodes, weights=denied & (day_int == _MIN), minlength=ngroups) > 0
    g_day = np.full(ngroups, _MIN, dtype=np.int64)
    d_day = np.full(ngroups, _MIN, dtype=np.int64)
    np.maximum.at(g_day, gcodes[granted], day_int[granted])
    np.maximum.at(d_day, gcodes[denied], day_int[denied])

    n_explicit = n_granted + n_denied
    none = n_explicit == 0
    conflict = (n_granted > 0) & (n_denied > 0)
    # A grant survives a conflict only when every opt-out is dated and the latest grant is of a later date.
    grant_wins = conflict & ~undated_denial & (g_day > d_day)
    is_granted = ~none & ((n_denied == 0) | grant_wins)
    status = np.where(none, UNKNOWN, np.where(is_granted, GRANTED, DENIED)).astype(object)
    rule = np.where(n_explicit == 1, "only_statement", "agreed").astype(object)
    rule[conflict] = np.where(grant_wins[conflict], "latest",
                              np.where(undated_denial[conflict] | (g_day[conflict] == _MIN), "opt_out_undated",
                                       np.where(d_day[conflict] == g_day[conflict], "opt_out_same_date",
                                                "latest")))
    rule[none] = np.where(any_third_grant[none], "third_party_grant_ignored", "no_explicit_statement")

    # The winning statement: of the winning status, the latest; ties broken by record key, evidence,
    # source and party, so the order of the input rows never matters. np.lexsort: the last key sorts first.
    wins = np.where(is_granted[gcodes], granted, denied)
    tie = _sorted_codes(st["record_key"])[0] + 1
    for col in ("evidence", "source", "party"):
        codes, uniques = _sorted_codes(st[col])
        tie = _dense(tie * (len(uniques) + 1) + codes + 1)
    order = np.lexsort((tie, ~at_int, gcodes * 2 + ~wins))
    first = np.ones(len(order), dtype=bool)
    first[1:] = gcodes[order][1:] != gcodes[order][:-1]
    w = st.iloc[order[first]].reset_index(drop=True)  # one row per group, in group order
    out = pd.DataFrame({
        "golden_id": w[by].astype(str), "channel": w["channel"], "purpose": w["purpose"],
        "status": status, "at": w["at"].where(~none), "record_key": w["record_key"].where(~none, None),
        "source": w["source"].where(~none, None), "party": w["party"].where(~none, None),
        "evidence": w["evidence"].where(~none, None), "rule": rule, "conflict": conflict,
        "explicit_statements": n_explicit,
    })
    out["at"] = out["at"].astype("datetime64[ns]")
    return out[GOLDEN_COLUMNS]


# --------------------------------------------------------------------------
# what merging did to consent


@dataclass
class MergeEffect:
    """Consent before merging (per record) and after (per golden record).

    ``summary``: per channel and purpose: ``records`` and ``golden_records``
    (in the crosswalk), ``reachable_records`` (granted, record alone),
    ``reachable_golden`` (granted, golden record), ``lost`` and ``gained``
    (records), ``conflicts`` (golden records whose members disagree).
    ``changes``: one row per record and channel/purpose whose reachability
    changed: record_key, golden_id, channel, purpose, change (lost | gained),
    before, after, rule (that decided the golden record), decided_by (its
    winning record). ``golden`` and ``records`` are :func:`golden_consent`
    after and before merging.
    """

    summary: pd.DataFrame
    changes: pd.DataFrame
    golden: pd.DataFrame    #: golden_consent per golden record
    records: pd.DataFrame   #: the same rules per record alone (golden_id = record_key)
    crosswalk: pd.DataFrame  #: record_key -> golden_id as text
    left_out: int = 0  # statements of records the crosswalk does not name

    @property
    def lost(self) -> pd.DataFrame:
        return self.changes[self.changes["change"] == "lost"].reset_index(drop=True)

    @property
    def gained(self) -> pd.DataFrame:
        return self.changes[self.changes["change"] == "gained"].reset_index(drop=True)


SUMMARY_COLUMNS = ["channel", "purpose", "records", "golden_records", "reachable_records", "reachable_golden",
                   "lost", "gained", "conflicts"]
CHANGE_COLUMNS = ["record_key", "golden_id", "channel", "purpose", "change", "before", "after", "rule",
                  "decided_by"]


def merge_effect(statements: Statements | pd.DataFrame, crosswalk: pd.DataFrame) -> MergeEffect:
    """Who could be contacted before merging (each record alone) and after (each golden record), and who changed.

    A record with no statement for a channel and purpose is not reachable
    alone; when its golden record is, it *gained* consent by merging. A
    record reachable alone whose golden record is not (a later opt-out of a
    duplicate, a conflict decided for the opt-out) *lost* it.
    """
    st = _statement_table(statements)
    cw = _crosswalk(crosswalk)
    inside = _attach(st, cw)
    records = _survive(inside, by="record_key")  # each record alone
    golden = _survive(inside)
    combos = golden[["channel", "purpose"]].drop_duplicates().sort_values(["channel", "purpose"])
    combos = combos.reset_index(drop=True)
    n_combo = len(combos)

    def combo(frame: pd.DataFrame) -> np.ndarray:
        """Per row, its (channel, purpose) as a position in ``combos``."""
        index = pd.MultiIndex.from_frame(combos) if n_combo else pd.MultiIndex.from_arrays([[], []])
        return index.get_indexer(pd.MultiIndex.from_arrays([frame["channel"], frame["purpose"]]))

    # integer keys: a record (its position in the crosswalk) or a golden record, times the combination
    golden_ids = pd.Index(pd.unique(cw["golden_id"].to_numpy(dtype=object)))
    member_golden = golden_ids.get_indexer(cw["golden_id"])       # per crosswalk row
    r_pos = pd.Index(cw["record_key"]).get_indexer(records["golden_id"])
    r_combo, g_combo = combo(records), combo(golden)
    g_pos = golden_ids.get_indexer(golden["golden_id"])
    r_key = r_pos.astype(np.int64) * n_combo + r_combo
    g_key = g_pos.astype(np.int64) * n_combo + g_combo
    r_granted = (records["status"] == GRANTED).to_numpy()
    g_granted = (golden["status"] == GRANTED).to_numpy()
    g_lookup = pd.Index(g_key)

    # lost: granted alone, not granted as part of the golden record
    lost_rows = np.flatnonzero(r_granted)
    after_of_lost = g_lookup.get_indexer(member_golden[r_pos[lost_rows]].astype(np.int64) * n_combo
                                         + r_combo[lost_rows])
    not_after = (after_of_lost < 0) | ~g_granted[np.maximum(after_of_lost, 0)]
    lost_rows, after_of_lost = lost_rows[not_after], after_of_lost[not_after]
    lost_member = r_pos[lost_rows]

    # gained: every member of a granted golden record that was not granted alone
    order = np.argsort(member_golden, kind="stable")
    size = np.bincount(member_golden, minlength=len(golden_ids))
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    won = np.flatnonzero(g_granted)
    reps = size[g_pos[won]]
    g_rows = np.repeat(won, reps)
    offsets = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    members = order[np.repeat(start[g_pos[won]], reps) + offsets]
    member_key = members.astype(np.int64) * n_combo + g_combo[g_rows]
    before_at = pd.Index(r_key).get_indexer(member_key)
    new = (before_at < 0) | ~r_granted[np.maximum(before_at, 0)]
    g_rows, members, before_at = g_rows[new], members[new], before_at[new]

    record_keys = cw["record_key"].to_numpy(dtype=object)
    cw_golden = cw["golden_id"].to_numpy(dtype=object)
    g_status, g_rule = golden["status"].to_numpy(dtype=object), golden["rule"].to_numpy(dtype=object)
    g_decider = golden["record_key"].to_numpy(dtype=object)
    r_status = records["status"].to_numpy(dtype=object)

    def take(values: np.ndarray, at: np.ndarray, missing: Any) -> np.ndarray:
        out = np.full(len(at), missing, dtype=object)
        out[at >= 0] = values[at[at >= 0]]
        return out

    lost = pd.DataFrame({
        "record_key": record_keys[lost_member], "golden_id": cw_golden[lost_member],
        "channel": records["channel"].to_numpy(dtype=object)[lost_rows],
        "purpose": records["purpose"].to_numpy(dtype=object)[lost_rows], "change": "lost", "before": GRANTED,
        "after": take(g_status, after_of_lost, "no statement"), "rule": take(g_rule, after_of_lost, None),
        "decided_by": take(g_decider, after_of_lost, None)})
    gained = pd.DataFrame({
        "record_key": record_keys[members], "golden_id": cw_golden[members],
        "channel": golden["channel"].to_numpy(dtype=object)[g_rows],
        "purpose": golden["purpose"].to_numpy(dtype=object)[g_rows], "change": "gained",
        "before": take(r_status, before_at, "no statement"), "after": GRANTED, "rule": g_rule[g_rows],
        "decided_by": g_decider[g_rows]})
    changes = pd.concat([lost, gained], ignore_index=True)[CHANGE_COLUMNS]
    order = np.lexsort([_sorted_codes(changes[col])[0] for col in
                        ("record_key", "golden_id", "change", "purpose", "channel")])
    changes = changes.iloc[order]

    def per_combo(codes: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        picked = codes if mask is None else codes[mask]
        return np.bincount(picked[picked >= 0], minlength=n_combo).astype("int64")

    summary = combos.assign(
        records=len(cw), golden_records=len(golden_ids),
        reachable_records=per_combo(r_combo, r_granted), reachable_golden=per_combo(g_combo, g_granted),
        lost=per_combo(r_combo[lost_rows]), gained=per_combo(g_combo[g_rows]),
        conflicts=per_combo(g_combo, golden["conflict"].to_numpy(dtype=bool)))
    return MergeEffect(summary[SUMMARY_COLUMNS], changes.reset_index(drop=True), golden, records, cw,
                       len(st) - len(inside))
