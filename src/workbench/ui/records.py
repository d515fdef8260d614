"""A pair of a matching session as aligned rows: which fields, in which order, masked how.

Pure (no ipywidgets). Identity fields (the ones the matcher compares) come
first; other columns follow in italics. For a link of two datasets, rows are
aligned by field role, so an acquired list's ``zip`` faces the master's
``postcode``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workbench.masking import mask_values, needs_mask, value_masker
from workbench.schema import Role, Schema
from workbench.ui.diff import record_table


@dataclass
class PairRows:
    """Everything ``diff.record_table`` needs to show one pair."""

    fields: list[str]
    left: dict[str, Any]
    right: dict[str, Any]
    left_std: dict[str, Any] = field(default_factory=dict)
    right_std: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    aux: list[str] = field(default_factory=list)
    roles: dict[str, Role | None] = field(default_factory=dict)
    titles: tuple[str, str] = ("Left", "Right")

    def masks(self) -> dict[str, Callable[[Any], Any]]:
        """Per row, the masking function of its role (no role known: masked as text).

        The values of this pair are masked up front, one vectorized call per
        role (a call per value costs a millisecond each in pandas).
        """
        by_role: dict[Role | None, list[str]] = {}
        for name in self.fields:
            if name in self.roles and self.roles[name] is None:
                continue  # known and not personal
            role = self.roles.get(name)
            # one call per masking function: every other role is masked as text (see mask_column)
            by_role.setdefault(role if role in _OWN_MASK else None, []).append(name)
        out: dict[str, Callable[[Any], Any]] = {}
        for role, names in by_role.items():
            values = {str(v) for d in (self.left, self.right, self.left_std, self.right_std)
                      for n in names if (v := d.get(n)) is not None}
            done, one = mask_values(sorted(values), role), value_masker(role)
            for name in names:
                out[name] = lambda v, done=done, one=one: done[v] if v in done else one(v)
        return out

    def html(self, *, mask_pii: bool, style: bool = True) -> str:
        """The pair as ``diff.record_table`` (``style``: with the workbench stylesheet first)."""
        return record_table(self.left, self.right, self.fields, left_std=self.left_std, right_std=self.right_std,
                            mask=self.masks() if mask_pii else None, titles=self.titles, labels=self.labels,
                            aux=self.aux, style=style)


_OWN_MASK = frozenset({Role.EMAIL, Role.PHONE, Role.DATE_OF_BIRTH, Role.POSTCODE})


def _pii_role(schema: Schema, column: str) -> tuple[bool, Role | None]:
    """(known, role if personal data else None); columns the schema does not know count as personal."""
    try:
        f = schema[column]
    except KeyError:
        return False, None
    return True, (f.role if needs_mask(f) else None)


def pair_rows(session, pair) -> PairRows:
    """The rows to show for ``pair`` of ``session`` (a Deduper or a Linker)."""
    left_ds, right_ds = session.left_ds, session.right_ds
    fields = list(session.fields)
    right_fields = list(getattr(session, "right_fields", fields))
    if right_ds is left_ds:
        return _dedupe_rows(left_ds, fields, pair)
    return _link_rows(left_ds, right_ds, fields, right_fields, pair)


def _dedupe_rows(ds, fields, pair) -> PairRows:
    columns = [c for c in ds.schema.names if c != ds.key]
    compared = {f.column: f.name for f in fields if f.column is not None}
    first = [c for c in columns if c in compared]
    rest = [c for c in columns if c not in compared]
    rows = PairRows(first + rest, dict(pair.left), dict(pair.right),
                    {c: pair.left_std.get(n) for c, n in compared.items()},
                    {c: pair.right_std.get(n) for c, n in compared.items()},
                    aux=rest, titles=(str(pair.left_id), str(pair.right_id)))
    for c in rows.fields:
        known, role = _pii_role(ds.schema, c)
        if known:
            rows.roles[c] = role
    return rows


def _link_rows(left_ds, right_ds, fields, right_fields, pair) -> PairRows:
    rows = PairRows([], {}, {}, titles=(f"{left_ds.name} {pair.left_id}", f"{right_ds.name} {pair.right_id}"))
    used_left, used_right = set(), set()
    for lf, rf in zip(fields, right_fields, strict=True):
        if lf.column is None and rf.column is None:
            continue
        name = lf.name
        rows.fields.append(name)
        rows.left[name] = pair.left.get(lf.column) if lf.column else None
        rows.right[name] = pair.right.get(rf.column) if rf.column else None
        rows.left_std[name] = pair.left_std.get(lf.name)
        rows.right_std[name] = pair.right_std.get(rf.name)
        rows.labels[name] = lf.column if lf.column == rf.column else f"{lf.column} / {rf.column}"
        known, role = _pii_role(left_ds.schema, lf.column) if lf.column else (False, None)
        if known:
            rows.roles[name] = role
        used_left.add(lf.column)
        used_right.add(rf.column)
    left_rest = [c for c in left_ds.schema.names if c != left_ds.key and c not in used_left]
    right_rest = [c for c in right_ds.schema.names if c != right_ds.key and c not in used_right]
    for c in left_rest + [c for c in right_rest if c not in left_rest]:
        name = f"~{c}" if c in rows.fields else c
        rows.fields.append(name)
        rows.aux.append(name)
        rows.labels[name] = c
        rows.left[name] = pair.left.get(c) if c in left_rest else None
        rows.right[name] = pair.right.get(c) if c in right_rest else None
        schema = left_ds.schema if c in left_rest else right_ds.schema
        known, role = _pii_role(schema, c)
        other_known, other_role = _pii_role(right_ds.schema, c) if c in left_rest and c in right_rest else (True, None)
        if known and other_known:
            rows.roles[name] = role or other_role
    return rows
