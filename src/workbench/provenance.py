"""Where a dataset came from, and what that permits.

Every dataset version carries its provenance: the party type (``zero``: the
customer told us directly, a preference centre or a form; ``first``: our own
systems observed it, orders, CRM; ``second``: a partner's first-party data;
``third``: bought or scraped), the source system, the acquisition date, the
purposes its licence permits and the licence itself. It is set when loading
(``ws.load(..., provenance={...})``, a ``provenance:`` section of the schema
YAML, ``workbench load --party ...``) and edited later with an audit entry
(``ws.set_provenance``).

One dataset can mix parties: ``by_source`` maps values of the source-system
column to a party (``{"web_form": "zero", "partner_x": "second"}``), so
golden-record lineage shows the party of each value, and rules that depend
on it (third-party data is not fit for email marketing without consent
evidence) apply per record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError

__all__ = ["PARTIES", "Provenance", "fitness_limits", "party_of_records"]

#: Party types, most direct first: a stated preference beats an observed one, which beats a bought one.
PARTIES = ("zero", "first", "second", "third")
PARTY_MEANING = {
    "zero": "stated by the customer (preference centre, form, survey)",
    "first": "observed in our own systems (orders, CRM, point of sale)",
    "second": "another organization's first-party data, shared with us",
    "third": "bought or collected from others (lists, brokers, scraping)",
}
#: Purposes that contact people: they need consent evidence when the data is third-party.
CONTACT_PURPOSES = ("email_marketing",)
_FIELDS = ("party", "source_system", "acquired_on", "purposes", "licence", "by_source")


@dataclass(frozen=True)
class Provenance:
    """A dataset's origin. Every field is optional: unknown provenance is recorded as unknown."""

    party: str | None = None
    source_system: str | None = None
    acquired_on: dt.date | None = None
    #: What the licence or the customers' agreement permits; empty means not stated (nothing is assumed).
    purposes: tuple[str, ...] = ()
    licence: str | None = None
    by_source: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "party", _party(self.party, "party"))
        object.__setattr__(self, "acquired_on", _date(self.acquired_on))
        purposes = (self.purposes,) if isinstance(self.purposes, str) else tuple(self.purposes or ())
        object.__setattr__(self, "purposes", tuple(_text(p, "purposes") for p in purposes))
        by_source = {str(k): _party(v, f"by_source[{k!r}]") for k, v in dict(self.by_source or {}).items()}
        object.__setattr__(self, "by_source", by_source)
        for name in ("source_system", "licence"):
            value = getattr(self, name)
            object.__setattr__(self, name, None if value is None else _text(value, name))

    @classmethod
    def coerce(cls, value: Provenance | Mapping[str, Any] | None) -> Provenance:
        """A ``Provenance`` from itself, a dict (YAML, JSON, keyword form) or None (unknown)."""
        if value is None:
            return cls()
        if isinstance(value, Provenance):
            return value
        if not isinstance(value, Mapping):
            raise WorkbenchError(f"provenance must be a mapping of {', '.join(_FIELDS)}; got {type(value).__name__}")
        unknown = sorted(set(map(str, value)) - set(_FIELDS))
        if unknown:
            raise WorkbenchError(f"unknown provenance field {unknown[0]!r}; fields: {', '.join(_FIELDS)}")
        return cls(**{str(k): v for k, v in value.items()})

    def updated(self, **changes: Any) -> Provenance:
        """A copy with ``changes`` applied (unknown fields refused)."""
        unknown = sorted(set(changes) - set(_FIELDS))
        if unknown:
            raise WorkbenchError(f"unknown provenance field {unknown[0]!r}; fields: {', '.join(_FIELDS)}")
        return replace(self, **changes)

    @property
    def known(self) -> bool:
        return any(bool(v) for v in self.to_dict().values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "party": self.party,
            "source_system": self.source_system,
            "acquired_on": self.acquired_on.isoformat() if self.acquired_on else None,
            "purposes": list(self.purposes),
            "licence": self.licence,
            "by_source": dict(self.by_source),
        }

    def permits(self, purpose: str) -> bool | None:
        """Whether the stated purposes include ``purpose``; None when no purposes were stated."""
        if not self.purposes:
            return None
        return purpose in self.purposes

    def describe(self) -> list[str]:
        """Plain sentences: where it came from and what that permits (for reports and the CLI)."""
        lines = []
        if self.party:
            lines.append(f"{self.party.capitalize()}-party data: {PARTY_MEANING[self.party]}.")
        else:
            lines.append("Party type not recorded: set it with ws.set_provenance(dataset, party=...).")
        if self.by_source:
            lines.append("Per source system: " + ", ".join(f"{s} {p}-party" for s, p in self.by_source.items()) + ".")
        if self.source_system:
            lines.append(f"Source system: {self.source_system}.")
        if self.acquired_on:
            lines.append(f"Acquired on {self.acquired_on.isoformat()}.")
        if self.licence:
            lines.append(f"Licence: {self.licence}.")
        if self.purposes:
            lines.append(f"Permitted purposes: {', '.join(self.purposes)}; any other use is not covered.")
        else:
            lines.append("Permitted purposes not stated: check the licence or agreement before use.")
        if "third" in (self.party, *self.by_source.values()):
            lines.append("Third-party records are fit for email marketing only with consent evidence "
                         "(a granted, dated consent), and never give consent to a golden record.")
        return lines


def party_of_records(frame: pd.DataFrame, provenance: Provenance, source_column: str | None) -> pd.Series:
    """The party of each record: ``by_source`` of its source-system value, else the dataset's party (or None)."""
    out = pd.Series(provenance.party, index=frame.index, dtype=object)
    if provenance.by_source and source_column and source_column in frame.columns:
        mapped = frame[source_column].map(lambda v: provenance.by_source.get(str(v).strip()) if pd.notna(v) else None)
        out = mapped.where(mapped.notna(), out)
    return out


def fitness_limits(fit_rows: pd.DataFrame, frame: pd.DataFrame, provenance: Provenance, *,
                   source_column: str | None, consent_evidence: pd.Series | None
                   ) -> tuple[pd.DataFrame, dict[str, str]]:
    """Fitness per purpose after what the provenance allows: (fit rows, reason per limited purpose).

    - a purpose the stated purposes do not include is fit on no row;
    - third-party records are unfit for contact purposes unless ``consent_evidence``
      (granted and dated consent, per row) holds for them.
    """
    fit = fit_rows.copy()
    reasons: dict[str, str] = {}
    for purpose in fit.columns:
        if provenance.permits(str(purpose)) is False:
            fit[purpose] = False
            reasons[str(purpose)] = (f"not among the permitted purposes ({', '.join(provenance.purposes)}"
                                     f"{'; licence: ' + provenance.licence if provenance.licence else ''})")
    third = party_of_records(frame, provenance, source_column).to_numpy() == "third"
    if third.any():
        evidence = (np.zeros(len(frame), dtype=bool) if consent_evidence is None
                    else consent_evidence.fillna(False).to_numpy(dtype=bool))
        blocked = third & ~evidence
        for purpose in CONTACT_PURPOSES:
            if purpose in fit.columns and str(purpose) not in reasons and blocked.any():
                before = int(fit[purpose].sum())
                fit[purpose] = fit[purpose].to_numpy(dtype=bool) & ~blocked
                lost = before - int(fit[purpose].sum())
                reasons[purpose] = (f"{int(blocked.sum()):,} third-party records have no consent evidence "
                                    f"(granted and dated); {lost:,} otherwise fit rows are not")
    return fit, reasons


# --------------------------------------------------------------------------


def _party(value: Any, where: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip().lower().removesuffix("-party").removesuffix(" party")
    text = {"0": "zero", "1": "first", "2": "second", "3": "third", "1st": "first", "2nd": "second",
            "3rd": "third"}.get(text, text)
    if text not in PARTIES:
        raise WorkbenchError(f"provenance {where}: {value!r} is not a party type; use one of {', '.join(PARTIES)}")
    return text


def _date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise WorkbenchError(f"provenance acquired_on: {value!r} is not a date (YYYY-MM-DD)") from None


def _text(value: Any, where: str) -> str:
    text = str(value).strip()
    if not text:
        raise WorkbenchError(f"provenance {where}: empty value")
    return text


def read_yaml(path: Any) -> Provenance | None:
    """The ``provenance:`` section of a YAML file (a schema file or one of its own); None when it has none.

    Errors name the file and the section's line."""
    from workbench.errors import ConfigError
    from workbench.yaml_nodes import child, compose, line, read_config

    root, doc = compose(read_config(path, "provenance file"), str(path))
    section = doc.get("provenance") if isinstance(doc, Mapping) else None
    if section is None:
        return None
    try:
        return Provenance.coerce(section)
    except WorkbenchError as exc:
        raise ConfigError(str(exc), path=str(path), line=line(child(root, "provenance"))) from None


def consent_evidence(frame: pd.DataFrame, schema: Any) -> pd.Series | None:
    """Per row: a granted consent with its date recorded (the evidence third-party data needs); None
    when the schema has no consent column."""
    from workbench.checks.defaults import consent_columns
    from workbench.checks.validators import consent_flags, parse_dates

    consent, dated = consent_columns(schema)
    if consent is None or consent not in frame.columns:
        return None
    granted = consent_flags(frame[consent]).fillna(False).astype(bool)
    if dated is None or dated not in frame.columns:
        return granted & False
    return granted & parse_dates(frame[dated]).notna()


def assessment_limits(dataset: Any, frame: pd.DataFrame, fit_rows: pd.DataFrame
                      ) -> tuple[pd.DataFrame, dict[str, str]]:
    """``fitness_limits`` for a workspace dataset: its provenance, source column and consent evidence."""
    from workbench.schema import Role

    origin = dataset.provenance
    if not origin.known:
        return fit_rows, {}
    return fitness_limits(fit_rows, frame, origin, source_column=dataset.schema.column_for(Role.SOURCE),
                          consent_evidence=consent_evidence(frame, dataset.schema))
