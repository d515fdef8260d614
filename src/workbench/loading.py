"""Load tabular sources (CSV, Excel, Parquet, SQL) with exact row accounting.

Every record of a source ends up either in ``LoadResult.frame`` or in
``LoadResult.rejects`` with its line number and a reason, so an analyst can
always answer "where did row 4711 go?". Problems the user can fix raise
:class:`~workbench.errors.LoadError` naming the file and the fix; problems
with individual records or keys are reported, never fatal.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import LoadError

__all__ = ["LoadResult", "load_table", "FORMATS"]

FORMATS = ("csv", "excel", "parquet", "sql")

_SUFFIXES = {
    ".csv": "csv", ".tsv": "csv", ".tab": "csv", ".txt": "csv",
    ".xlsx": "excel", ".xlsm": "excel", ".xls": "excel",
    ".parquet": "parquet", ".pq": "parquet",
}
_FORMAT_ALIASES = {"csv": "csv", "tsv": "csv", "txt": "csv", "excel": "excel", "xlsx": "excel",
                   "xlsm": "excel", "parquet": "parquet", "pq": "parquet", "sql": "sql"}
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_DELIMITERS = (",", ";", "\t", "|")

# Undecodable bytes become lone surrogates U+DC00+byte (like "surrogateescape", but for
# every byte and every codec, UTF-16 included). Valid decoded text never contains lone
# surrogates, so "has a surrogate" == "had undecodable bytes", per record, exactly.
_ESCAPE = "workbench.loading.escape"
_ESCAPED = re.compile("[\udc00-\udcff]")


def _escape_bytes(err: UnicodeError) -> tuple[str, int]:
    if not isinstance(err, UnicodeDecodeError):
        raise err
    bad = err.object[err.start:err.end]
    return "".join(chr(0xDC00 + b) for b in bad), err.end


codecs.register_error(_ESCAPE, _escape_bytes)


@dataclass
class LoadResult:
    """A loaded table plus everything needed to account for every source record."""

    frame: pd.DataFrame          # kept rows; original column names; fresh RangeIndex
    rejects: pd.DataFrame        # line, reason, raw
    source: str                  # path, or "url#table" with the password masked
    format: str                  # "csv" | "excel" | "parquet" | "sql"
    encoding: str | None         # codec used for text files
    rows_read: int               # == len(frame) + len(rejects), always
    warnings: list[str]
    key_problems: pd.DataFrame   # line, key, problem ("missing" | "duplicate")
    # Where each kept row came from (CSV physical line, Excel row, else row number),
    # aligned with ``frame``; lets later stages point back into the source file.
    lines: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


@dataclass
class _Parsed:
    """What a format reader hands to the shared accounting step."""

    frame: pd.DataFrame
    lines: np.ndarray
    rejects: list[tuple[int, str, str]]
    source: str
    format: str
    encoding: str | None = None
    warnings: list[str] = field(default_factory=list)
    header_line: int | None = None


def load_table(
    source: str | Path | Any,
    *,
    key: str | None = None,
    format: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | int | None = None,
    table: str | None = None,
    query: str | None = None,
) -> LoadResult:
    """Load a file or SQL table; every record is kept or rejected with a reason.

    ``source`` is a path (format from the suffix unless ``format`` is given) or a
    SQLAlchemy URL/Engine with ``table=`` or ``query=``. ``key`` names an ID
    column whose missing and repeated values are reported in ``key_problems``
    (not fatal). CSV values are always strings (leading zeros survive), empty
    fields are missing; blank lines are skipped and not counted as records.
    Raises :class:`LoadError` for problems with the source as a whole.
    """
    fmt = _resolve_format(source, format)
    _check_options(fmt, source, encoding=encoding, delimiter=delimiter, sheet=sheet,
                   table=table, query=query)
    if fmt == "sql":
        parsed = _read_sql(source, table=table, query=query)
    else:
        path = _existing_file(source)
        if fmt == "csv":
            if delimiter is None and (format == "tsv" or path.suffix.lower() in (".tsv", ".tab")):
                delimiter = "\t"
            parsed = _read_csv(path, str(source), encoding=encoding, delimiter=delimiter)
        elif fmt == "excel":
            parsed = _read_excel(path, str(source), sheet=sheet)
        else:
            parsed = _read_parquet(path, str(source))
    return _account(parsed, key)


# --------------------------------------------------------------------------- dispatch


def _is_sql_source(source: Any) -> bool:
    if isinstance(source, str):
        return bool(_URL.match(source))
    return type(source).__name__ == "Engine" and hasattr(source, "dialect")


def _resolve_format(source: Any, format: str | None) -> str:
    """Pick the reader: explicit ``format`` wins, then URL/Engine, then the suffix."""
    if format is not None:
        fmt = _FORMAT_ALIASES.get(str(format).lower())
        if fmt is None:
            raise LoadError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}",
                            path=str(source))
        return fmt
    if _is_sql_source(source):
        return "sql"
    if not isinstance(source, (str, Path)):
        raise LoadError(f"cannot load a {type(source).__name__}; give a file path, "
                        "a SQLAlchemy URL or an Engine")
    suffix = Path(source).suffix.lower()
    fmt = _SUFFIXES.get(suffix)
    if fmt is None:
        what = f"unknown file type {suffix!r}" if suffix else "file name has no suffix"
        raise LoadError(f"{what}; use a .csv/.tsv/.txt, .xlsx/.xlsm or .parquet file, "
                        f"or pass format= ({', '.join(FORMATS)})", path=str(source))
    return fmt


def _check_options(fmt: str, source: Any, **opts: Any) -> None:
    """Reject options that do not apply to the format, instead of silently ignoring them."""
    applies = {"encoding": "csv", "delimiter": "csv", "sheet": "excel", "table": "sql",
               "query": "sql"}
    for name, value in opts.items():
        if value is not None and applies[name] != fmt:
            raise LoadError(f"{name}= applies only to {applies[name]} sources, "
                            f"but this source is {fmt}", path=str(source))
    delim = opts["delimiter"]
    if delim is not None and len(delim) != 1:
        raise LoadError(f"delimiter must be a single character, got {delim!r}", path=str(source))


def _existing_file(source: Any) -> Path:
    path = Path(source)
    if not path.exists():
        raise LoadError(f"no such file (looked in {path.resolve().parent})", path=str(source))
    if path.is_dir():
        raise LoadError("is a directory, not a file; give the path of a file inside it",
                        path=str(source))
    return path


# --------------------------------------------------------------------------- CSV


def _read_csv(path: Path, where: str, *, encoding: str | None, delimiter: str | None) -> _Parsed:
    """Parse with the csv module over decoded text: exact quoting, exact line numbers."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"cannot read file: {exc.strerror or exc}", path=where) from exc
    if not data or data.isspace():
        raise LoadError("is empty" + (" (0 bytes)" if not data else " (only whitespace)"),
                        path=where)
    _allow_fields_up_to(len(data))
    return _parse_csv(data, where, encoding=encoding, delimiter=delimiter)


def _allow_fields_up_to(size: int) -> None:
    """Let a field be as large as the file (the csv module refuses fields over 128 KiB).

    A 1 MB notes cell is data, not an error; an unbalanced quote is caught by
    :func:`_csv_rejects` instead. The limit is process-wide, so it is only ever
    raised, never restored: restoring would race with a load in another thread.
    """
    if csv.field_size_limit() <= size:
        csv.field_size_limit(size + 1)


def _parse_csv(data: bytes, where: str, *, encoding: str | None, delimiter: str | None) -> _Parsed:
    enc, may_have_bad_bytes, warnings = _choose_encoding(data, encoding, where)
    label = enc
    if enc.startswith(_UTF8_OR):  # a legacy file with some UTF-8 lines: decode line by line
        label = f"utf-8+{enc[len(_UTF8_OR):]}"
        data = _utf8_per_line(data, enc[len(_UTF8_OR):])
        may_have_bad_bytes = not _decodes(data, "utf-8")
        enc = "utf-8"
    if delimiter is None:
        delimiter = _sniff_delimiter(data, enc)
    reader = csv.reader(_text_stream(data, enc), delimiter=delimiter)
    header, header_line = _read_header(reader, where)
    if _ESCAPED.search("".join(header)):
        header = [_ESCAPED.sub("\ufffd", name) for name in header]
        warnings.append(f"header (line {header_line}) has bytes that are not valid {enc}; "
                        "they were replaced by \ufffd in the column names")
    names, name_warnings = _clean_names(header, where, header_line)
    warnings += name_warnings
    with _gc_paused():
        kept, starts, bad, multi = _parse_records(reader, len(names), may_have_bad_bytes, where)
        rejects = _csv_rejects(data, enc, delimiter, bad, kept, starts, multi, len(names), where)
        frame = _strings_frame(kept, names)
        del kept  # free the row lists before the GC could scan them
    return _Parsed(frame=frame, lines=np.asarray(starts, dtype=np.int64), rejects=rejects,
                   source=where, format="csv", encoding=label, warnings=warnings,
                   header_line=header_line)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Millions of fresh row lists make the cyclic GC rescan everything (2-3x slower)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _text_stream(data: bytes, enc: str) -> io.TextIOWrapper:
    # newline="" is what csv wants: universal line splitting, endings kept, so quoted
    # CR/LF inside values survive and reader.line_num counts physical lines.
    return io.TextIOWrapper(io.BytesIO(data), encoding=enc, errors=_ESCAPE, newline="")


def _decodes(data: bytes, enc: str) -> bool:
    try:
        data.decode(enc)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)


def _choose_encoding(data: bytes, encoding: str | None, where: str) -> tuple[str, bool, list[str]]:
    """Return (codec, may have undecodable bytes, warnings).

    Order: explicit encoding, BOM, strict UTF-8, "mostly UTF-8" (bad lines are
    rejected later rather than mis-decoded), else a legacy 8-bit codec guessed by
    charset-normalizer from the lines that are not UTF-8. When such a file also
    holds valid UTF-8 lines (an export appended to by another tool), the codec
    is ``_UTF8_OR + legacy``: each line is UTF-8 where it is valid UTF-8, else
    legacy. A line of accented letters valid as UTF-8 is strong evidence of
    UTF-8; a few bad lines are weak evidence of a legacy codec, hence the
    asymmetry with the "mostly UTF-8" case.
    """
    if encoding:
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            raise LoadError(f"unknown encoding {encoding!r}; try 'utf-8', 'cp1252' or "
                            "'latin-1'", path=where) from None
        if name == "utf-8" and data.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
        return encoding, not _decodes(data, encoding), []
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return enc, not _decodes(data, enc), []
    bomless = _check_binary(data, where)
    if bomless:
        return bomless, not _decodes(data, bomless), [
            f"no byte-order mark; the file looks like UTF-16 and was decoded as {bomless}"]
    if _decodes(data, "utf-8"):
        return "utf-8", False, []
    good, bad, sample = _utf8_line_stats(data)
    if good >= bad:
        return "utf-8", True, [
            f"{bad} line(s) contain bytes that are not valid UTF-8 while {good} line(s) hold "
            "valid UTF-8 accents; decoded as UTF-8 and rejected the bad records (see rejects)"]
    legacy, undecodable, warnings = _guess_legacy(sample)
    if not good:
        return legacy, undecodable, warnings
    return _UTF8_OR + legacy, True, warnings + [
        f"the file mixes encodings: {good} line(s) are valid UTF-8 and were decoded as UTF-8, "
        f"the {bad} other line(s) with accents as {legacy}"]


_UTF8_OR = "utf-8-or-"


def _utf8_per_line(data: bytes, legacy: str) -> bytes:
    """Re-encode to UTF-8 the lines that are not UTF-8, reading them as ``legacy``.

    Bytes ``legacy`` cannot decode stay as they are, so their record is
    rejected as undecodable instead of being guessed.
    """
    out = []
    for line in data.splitlines(keepends=True):
        if not line.isascii():
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                line = line.decode(legacy, "surrogateescape").encode("utf-8", "surrogateescape")
        out.append(line)
    return b"".join(out)


_MAGIC = (
    (b"PK\x03\x04", "it looks like a zip archive (an .xlsx workbook?); use format='excel'"),
    (b"\xd0\xcf\x11\xe0", "it looks like an old Excel .xls workbook; save it as .xlsx or CSV"),
    (b"PAR1", "it looks like a Parquet file; use format='parquet'"),
    (b"SQLite format 3\x00", "it looks like a SQLite database; load it with "
                             "load_table('sqlite:///PATH', table=...)"),
)


def _check_binary(data: bytes, where: str) -> str | None:
    """Refuse binary files early; return a UTF-16 codec for BOM-less UTF-16 text."""
    for magic, hint in _MAGIC:
        if data.startswith(magic):
            raise LoadError(f"is not a text file: {hint}", path=where)
    head = data[:4096]
    nuls = head.count(0)
    if nuls * 100 <= len(head):  # a stray NUL or two: still text (the csv module copes)
        return None
    odd = head[1::2].count(0)
    if nuls >= len(head) // 4:
        if odd >= 0.9 * nuls:
            return "utf-16-le"
        if odd <= 0.1 * nuls:
            return "utf-16-be"
    raise LoadError("is not a text file (it contains NUL bytes); check the file or pass "
                    "format='excel'/'parquet' if that is what it is", path=where)


def _utf8_line_stats(data: bytes) -> tuple[int, int, bytes]:
    """Count non-ASCII lines that are valid / invalid UTF-8; also sample the invalid lines."""
    good = bad = 0
    sample: list[bytes] = []
    for line in data.splitlines():
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            good += 1
            continue
        except UnicodeDecodeError:
            bad += 1
        if len(sample) < 5000:
            sample.append(line)
    return good, bad, b"\n".join(sample)


# Common legacy codecs in customer files, most likely first. charset-normalizer's order
# among equally plausible candidates is arbitrary (it may rank cp1006 or big5 first).
_LEGACY_PREFERENCE = ("cp1252", "cp1250", "cp1251", "iso8859_15", "iso8859_2", "mac_roman",
                      "cp850", "cp437", "koi8_r")
# Non-letters that legitimately appear in names and addresses.
_TEXT_SYMBOLS = frozenset("\xa0“”‘’„‚–—…€£°«»¿¡·§©®™")


def _guess_legacy(sample: bytes) -> tuple[str, bool, list[str]]:
    """Guess an 8-bit codec for text that is not UTF-8.

    Candidates are scored by how many non-ASCII bytes they read as letters or
    usual punctuation (names and addresses are mostly letters). charset-normalizer
    decides among the best-scoring ones when it has language evidence (coherence);
    otherwise, and for short samples where its ranking is arbitrary (cp1006, big5),
    the most common codec wins and the guess is reported in a warning.
    """
    from charset_normalizer import from_bytes

    high = bytes(sorted(set(sample.translate(None, bytes(range(128))))))
    scores = {enc: _letter_score(high, enc) for enc in _LEGACY_PREFERENCE}
    top = max(scores.values())
    results = from_bytes(sample)
    best = results.best()
    if best is not None and best.coherence >= 0.2 and _letter_score(high, best.encoding) >= top:
        tied = [m.encoding for m in results
                if m.chaos <= best.chaos + 0.01 and m.coherence >= best.coherence - 0.01]
        chosen = next((pref for pref in _LEGACY_PREFERENCE
                       if any(_same_reading(high, enc, pref) for enc in tied)), best.encoding)
        others = {enc for enc in tied if not _same_reading(high, enc, chosen)}
        if not others:
            return chosen, True, []
    else:
        chosen = next(enc for enc in _LEGACY_PREFERENCE if scores[enc] == top)
        others = {enc for enc in _LEGACY_PREFERENCE
                  if scores[enc] == top and not _same_reading(high, enc, chosen)}
    also = f" (also plausible: {', '.join(sorted(others)[:5])})" if others else ""
    return chosen, True, [f"file is not valid UTF-8; assumed {chosen}{also}; pass encoding= "
                          "if accented letters look wrong"]


def _letter_score(high: bytes, enc: str) -> float:
    """Share of the non-ASCII bytes that ``enc`` reads as letters or usual punctuation."""
    text = high.decode(enc, errors="replace")
    good = sum(ch.isalpha() or ch in _TEXT_SYMBOLS for ch in text)
    return good / max(len(text), 1)


def _same_reading(high: bytes, a: str, b: str) -> bool:
    try:
        return high.decode(a) == high.decode(b)
    except (UnicodeDecodeError, LookupError):
        return False


def _sniff_delimiter(data: bytes, enc: str) -> str:
    """Pick the candidate delimiter that splits the header into most fields consistently.

    csv.Sniffer guesses letters and spaces on real customer data; this only
    considers , ; tab | and scores by how many sample rows match the header width.
    """
    head = data[:65536]
    lines = list(islice(_text_stream(head, enc), 200))
    if len(head) < len(data) and len(lines) > 1:
        lines.pop()  # probably cut in the middle
    best, best_score = _DELIMITERS[0], (0.0, 0)
    for delim in _DELIMITERS:
        try:
            rows = [r for r in csv.reader(lines, delimiter=delim) if r]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        consistency = sum(len(r) == width for r in rows) / len(rows)
        if (consistency, width) > best_score:
            best, best_score = delim, (consistency, width)
    return best


def _is_blank(row: list[str]) -> bool:
    return not row or (len(row) == 1 and not row[0].strip())


def _read_header(reader: Any, where: str) -> tuple[list[str], int]:
    prev = 0
    try:
        for row in reader:
            if not _is_blank(row):
                return row, prev + 1
            prev = reader.line_num
    except csv.Error as exc:
        raise LoadError(f"cannot parse the header: {exc}", path=where, line=prev + 1) from exc
    raise LoadError("is empty (only blank lines)", path=where)


def _parse_records(reader: Any, n: int, check_bytes: bool, where: str
                   ) -> tuple[list[list[str]], list[int], list[tuple[int, int, int, bool]],
                              list[tuple[int, int]]]:
    """Split records into kept rows (with start lines), bad spans and kept multi-line records.

    The hot loop of the loader: one length test per record, plus a surrogate
    search only when the file is known to contain undecodable bytes.
    Bad spans are (start line, end line, field count, undecodable); kept
    multi-line records are (index in kept, end line); the last kept record is
    among them when a value holds a line break (its quote may run to the end of
    the file, which the csv module reads as one line).
    """
    kept: list[list[str]] = []
    starts: list[int] = []
    bad: list[tuple[int, int, int, bool]] = []
    multi: list[tuple[int, int]] = []
    keep, start = kept.append, starts.append
    prev = last_end = reader.line_num
    try:
        for row in reader:
            end = reader.line_num
            if len(row) == n and not (check_bytes and _ESCAPED.search("\x1f".join(row))):
                keep(row)
                start(prev + 1)
                last_end = end
                if end - prev > 1:
                    multi.append((len(starts) - 1, end))
            elif not _is_blank(row):
                undecodable = check_bytes and bool(_ESCAPED.search("\x1f".join(row)))
                bad.append((prev + 1, end, len(row), undecodable))
            prev = end
    except csv.Error as exc:
        raise LoadError(f"cannot parse the record starting here ({exc}); a quote is "
                        "probably unbalanced - fix it in the file", path=where,
                        line=prev + 1) from exc
    if starts and (not multi or multi[-1][0] != len(starts) - 1) and any(
            "\n" in v or "\r" in v for v in kept[-1]):
        multi.append((len(starts) - 1, last_end))
    return kept, starts, bad, multi


def _csv_rejects(data: bytes, enc: str, delimiter: str, bad: list[tuple[int, int, int, bool]],
                 kept: list[list[str]], starts: list[int], multi: list[tuple[int, int]],
                 n: int, where: str) -> list[tuple[int, str, str]]:
    """Turn bad spans into (line, reason, raw); also catch unbalanced quotes in kept records.

    An unbalanced quote makes the csv module swallow the following lines into one
    field, up to the next quote or the end of the file; if that record happens to
    have the right width it would be kept silently, so every kept multi-line
    record is re-checked with strict parsing and rejected (removed from ``kept``)
    when a quote does not close where a field ends. When such a quote swallowed
    more than the csv module's default field limit (128 KiB), most of the file
    is in that one field: the file is refused, naming the line, as before large
    cells were allowed.
    """
    rejects = _bad_rejects(data, enc, bad, n) if bad else []
    raws = _raw_spans(data, enc, [(starts[i], end) for i, end in multi]) if multi else []
    drop = set()
    for (i, end), raw in zip(multi, raws, strict=True):
        cause = _quote_problem(raw, delimiter)
        if cause is None:
            continue
        if max(map(len, kept[i])) > _SWALLOWED:
            raise LoadError(f"cannot parse the record starting here: a quote is probably unbalanced "
                            f"and lines {starts[i]}-{end} read as one field ({cause}); fix the "
                            "quote in the file", path=where, line=starts[i])
        reason = (f"unterminated quoted field: {cause}" if cause == _TO_EOF else
                  f"a quote is probably unbalanced: the record spans lines {starts[i]}-{end} and {cause}")
        drop.add(i)
        rejects.append((starts[i], reason, _printable(raw)))
    if drop:
        kept[:] = [row for i, row in enumerate(kept) if i not in drop]
        starts[:] = [line for i, line in enumerate(starts) if i not in drop]
    return rejects


def _bad_rejects(data: bytes, enc: str, bad: list[tuple[int, int, int, bool]],
                 n: int) -> list[tuple[int, str, str]]:
    raws = _raw_spans(data, enc, [(s, e) for s, e, _, _ in bad])
    rejects = []
    for (s, e, found, undecodable), raw in zip(bad, raws, strict=True):
        reasons = []
        if undecodable:
            reasons.append(_undecodable_reason(raw, s, enc))
        if found != n:
            reasons.append(f"expected {n} fields, found {found}")
            if e > s:
                reasons[-1] += f" (record spans lines {s}-{e}; a quote may be unbalanced)"
        rejects.append((s, "; ".join(reasons), _printable(raw)))
    return rejects


def _raw_spans(data: bytes, enc: str, spans: list[tuple[int, int]]) -> list[str]:
    """Re-read the physical lines of each (start, end) span; end -1 means end of file."""
    out: list[str] = []
    j, buf = 0, []
    lineno = 0
    for lineno, text in enumerate(_text_stream(data, enc), start=1):
        start, end = spans[j]
        if lineno < start:
            continue
        buf.append(text)
        if lineno == end:
            out.append("".join(buf))
            buf, j = [], j + 1
            if j == len(spans):
                break
    if j < len(spans):
        out.append("".join(buf))
    return out


def _strip_eol(raw: str) -> str:
    if raw.endswith("\r\n"):
        return raw[:-2]
    return raw[:-1] if raw.endswith(("\n", "\r")) else raw


def _printable(raw: str) -> str:
    return _ESCAPED.sub("\ufffd", _strip_eol(raw))


def _undecodable_reason(raw: str, start: int, enc: str) -> str:
    for offset, text in enumerate(io.StringIO(raw, newline="")):
        match = _ESCAPED.search(text)
        if match:
            byte = ord(match.group()) - 0xDC00
            where = f"column {match.start() + 1}"
            if offset:
                where = f"line {start + offset}, {where}"
            return f"undecodable byte 0x{byte:02X} for {enc} at {where}"
    return f"undecodable bytes for {enc}"


_SWALLOWED = 131072  # csv.field_size_limit()'s default


_TO_EOF = "the quote runs to the end of the file"


def _quote_problem(raw: str, delimiter: str) -> str | None:
    """What is wrong with the quotes of a record that parsed to the right width, or None."""
    try:
        list(csv.reader(io.StringIO(raw, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            return _TO_EOF
        return f"a quoted field does not end at a delimiter ({exc})"
    return None


def _strings_frame(rows: list[list[str]], names: list[str]) -> pd.DataFrame:
    """Object columns of str, with empty fields as None (dedupe needs None, not '')."""
    if not rows:
        return pd.DataFrame({name: pd.Series([], dtype=object) for name in names})
    arr = np.array(rows, dtype=object)
    if arr.ndim != 2:  # numpy refused to go 2-D (should not happen with equal widths)
        arr = np.empty((len(rows), len(names)), dtype=object)
        arr[:] = rows
    arr[arr == ""] = None
    return pd.DataFrame(arr, columns=names)


# --------------------------------------------------------------------------- Excel


def _read_excel(path: Path, where: str, *, sheet: str | int | None) -> _Parsed:
    """Read one sheet with openpyxl; line numbers are Excel row numbers."""
    if path.suffix.lower() == ".xls":
        raise LoadError("is an Excel 97-2003 .xls workbook, which openpyxl cannot read; "
                        "open it in Excel and save it as .xlsx (or CSV)", path=where)
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException...
        raise LoadError(f"is not a readable Excel workbook ({type(exc).__name__}: {exc}); "
                        "check that it opens in Excel and is .xlsx/.xlsm", path=where) from exc
    try:
        ws = _pick_sheet(book, sheet, where)
        rows = enumerate(ws.iter_rows(min_row=1, values_only=True), start=1)
        header, header_line = _excel_header(rows, where)
        names, warnings = _clean_names(header, where, header_line)
        others = [name for name in book.sheetnames if name != ws.title]
        if sheet is None and others:
            warnings.insert(0, f"the workbook has {len(book.sheetnames)} sheets; read the first, "
                               f"{ws.title!r}, and ignored {_and([repr(o) for o in others])}; "
                               "choose one with sheet= (--sheet), by name or 0-based index")
        kept, lines, rejects = _excel_records(rows, len(names))
    finally:
        book.close()
    frame = pd.DataFrame(kept, columns=names) if kept else pd.DataFrame(
        {name: pd.Series([], dtype=object) for name in names})
    return _Parsed(frame=frame, lines=np.asarray(lines, dtype=np.int64), rejects=rejects,
                   source=where if sheet is None else f"{where}#{ws.title}", format="excel",
                   warnings=warnings, header_line=header_line)


def _pick_sheet(book: Any, sheet: str | int | None, where: str) -> Any:
    names = book.sheetnames
    if sheet is None:
        return book.worksheets[0]
    if isinstance(sheet, str) and sheet not in names and sheet.strip().isdigit():
        sheet = int(sheet)  # "--sheet 1" on the command line: an index unless a sheet has that name
    if isinstance(sheet, int):
        if 0 <= sheet < len(names):
            return book.worksheets[sheet]
    elif sheet in names:
        return book[sheet]
    raise LoadError(f"no sheet {sheet!r}; sheets are {', '.join(map(repr, names))} "
                    "(sheet= takes a name or a 0-based index)", path=where)


def _cell(value: Any) -> Any:
    return None if isinstance(value, str) and value == "" else value


def _excel_width(values: tuple) -> int:
    for i in range(len(values) - 1, -1, -1):
        if _cell(values[i]) is not None:
            return i + 1
    return 0


def _excel_header(rows: Any, where: str) -> tuple[list[str], int]:
    for rownum, values in rows:
        width = _excel_width(values)
        if width:
            return [None if v is None else str(v) for v in values[:width]], rownum
    raise LoadError("is empty (the sheet has no cells with values)", path=where)


def _excel_records(rows: Any, n: int) -> tuple[list[list[Any]], list[int], list[tuple[int, str, str]]]:
    kept, lines, rejects = [], [], []
    for rownum, values in rows:
        width = _excel_width(values)
        if not width:
            continue
        row = [_cell(v) for v in values[:width]]
        if width > n:
            rejects.append((rownum, f"expected {n} fields, found {width} "
                                    "(values to the right of the last header column)",
                            _csv_line(row)))
            continue
        kept.append(row + [None] * (n - width))
        lines.append(rownum)
    return kept, lines, rejects


def _csv_line(values: list[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(["" if v is None else v for v in values])
    return buf.getvalue()


# --------------------------------------------------------------------------- Parquet


def _read_parquet(path: Path, where: str) -> _Parsed:
    """Native dtypes are kept; Parquet has no malformed records to reject."""
    _refuse_nested(path, where)
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
        raise LoadError(f"is not a readable Parquet file ({type(exc).__name__}: {exc})",
                        path=where) from exc
    frame = _drop_default_index(frame)
    names, warnings = _clean_names(list(frame.columns), where, None)
    frame.columns = names
    return _Parsed(frame=frame, lines=np.arange(1, len(frame) + 1, dtype=np.int64),
                   rejects=[], source=where, format="parquet", warnings=warnings)


def _refuse_nested(path: Path, where: str) -> None:
    """Lists, structs and maps are not customer fields: refuse them by name, before reading.

    Every later stage (profiling, rules, matching, the store's summaries) works
    on scalar cells; a list column would fail somewhere far from its cause.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
        raise LoadError(f"is not a readable Parquet file ({type(exc).__name__}: {exc})",
                        path=where) from exc
    nested = [f"{f.name!r} ({f.type})" for f in schema if pa.types.is_nested(f.type)]
    if nested:
        raise LoadError(f"has nested column(s) {_and(nested)}; only scalar columns can be loaded: "
                        "flatten them (one column per field) or drop them, then load again",
                        path=where)


def _drop_default_index(frame: pd.DataFrame) -> pd.DataFrame:
    """Fresh RangeIndex; a named index written by pandas carries data, so keep it as columns."""
    named = any(name is not None for name in frame.index.names)
    return frame.reset_index(drop=not named)


# --------------------------------------------------------------------------- SQL


def _read_sql(source: Any, *, table: str | None, query: str | None) -> _Parsed:
    """Read a whole table or a query's result with SQLAlchemy; dtypes as the driver gives."""
    import sqlalchemy as sa

    if (table is None) == (query is None):
        raise LoadError("give exactly one of table= or query= for a SQL source",
                        path=_mask(source))
    engine, owned = _engine(source)
    where = f"{_mask(engine)}#{table}" if table is not None else f"{_mask(engine)}#query"
    try:
        with engine.connect() as conn:
            if table is not None:
                schema, name = _find_table(conn, table, where)
                frame = pd.read_sql_table(name, conn, schema=schema)
            else:
                frame = pd.read_sql_query(query, conn)
    except sa.exc.SQLAlchemyError as exc:
        msg = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise LoadError(f"database error: {msg}", path=where) from exc
    finally:
        if owned:
            engine.dispose()
    names, warnings = _clean_names(list(frame.columns), where, None)
    frame.columns = names
    return _Parsed(frame=frame, lines=np.arange(1, len(frame) + 1, dtype=np.int64),
                   rejects=[], source=where, format="sql", warnings=warnings)


def _mask(source: Any) -> str:
    """Describe a URL or Engine with its password hidden."""
    import sqlalchemy as sa

    try:
        url = source.url if hasattr(source, "url") else sa.engine.make_url(str(source))
        return url.render_as_string(hide_password=True)
    except Exception:
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", str(source))


def _engine(source: Any) -> tuple[Any, bool]:
    """Return (engine, created here); refuse to let SQLite create a missing file."""
    import sqlalchemy as sa

    if isinstance(source, sa.engine.Engine):
        return source, False
    if not isinstance(source, str):
        raise LoadError("a SQL source must be a SQLAlchemy URL string or Engine, not a "
                        f"{type(source).__name__}", path=str(source))
    try:
        url = sa.engine.make_url(source)
    except sa.exc.ArgumentError as exc:
        raise LoadError(f"not a valid database URL ({exc})", path=_mask(source)) from exc
    db = url.database
    if url.get_backend_name() == "sqlite" and db and db != ":memory:" \
            and not db.startswith("file:") and not Path(db).is_file():
        raise LoadError("no such file (SQLite would create an empty database here)",
                        path=_mask(source))
    try:
        return sa.create_engine(url), True
    except (ImportError, sa.exc.SQLAlchemyError) as exc:
        raise LoadError(f"cannot connect: {exc}; is the database driver installed?",
                        path=_mask(source)) from exc


def _find_table(conn: Any, table: str, where: str) -> tuple[str | None, str]:
    import sqlalchemy as sa

    insp = sa.inspect(conn)
    candidates = [(None, table)]
    if "." in table:
        candidates.append(tuple(table.split(".", 1)))
    for schema, name in candidates:
        try:
            existing = insp.get_table_names(schema=schema) + insp.get_view_names(schema=schema)
        except sa.exc.SQLAlchemyError:
            continue
        if name in existing:
            return schema, name
    existing = sorted(insp.get_table_names() + insp.get_view_names())
    listed = ", ".join(existing[:50]) + (" ..." if len(existing) > 50 else "")
    raise LoadError(f"no table {table!r}; " + (f"tables are: {listed}" if existing
                                               else "the database has no tables"), path=where)


# --------------------------------------------------------------------------- shared


def _clean_names(raw: list[Any], where: str, line: int | None) -> tuple[list[Any], list[str]]:
    """Strip names, name blanks ``unnamed_<position>``, refuse duplicates (they break lookups)."""
    names: list[Any] = []
    blanks: list[int] = []
    for pos, name in enumerate(raw, start=1):
        if name is None or isinstance(name, str):
            text = (name or "").strip()
            if pos == 1:
                text = text.lstrip("\ufeff").strip()
            if not text:
                text = f"unnamed_{pos}"
                blanks.append(pos)
            name = text
        names.append(name)
    positions: dict[Any, list[int]] = {}
    for pos, name in enumerate(names, start=1):
        positions.setdefault(name, []).append(pos)
    dups = {name: pos for name, pos in positions.items() if len(pos) > 1}
    if dups:
        listed = "; ".join(f"{name!r} at columns {_and(pos)}" for name, pos in dups.items())
        raise LoadError(f"duplicate column names: {listed}; rename them so each column "
                        "name is unique", path=where, line=line)
    warnings = []
    if blanks:
        warnings.append(f"blank column name(s) at position {_and(blanks)} named "
                        f"{_and([f'unnamed_{p}' for p in blanks])}")
    return names, warnings


def _and(items: list[Any]) -> str:
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _account(p: _Parsed, key: str | None) -> LoadResult:
    """The shared accounting step: rejects frame, key problems, summary warnings."""
    frame = p.frame
    if not frame.index.equals(pd.RangeIndex(len(frame))):
        frame = frame.reset_index(drop=True)
    rejects = pd.DataFrame({
        "line": pd.Series([r[0] for r in p.rejects], dtype=np.int64),
        "reason": pd.Series([r[1] for r in p.rejects], dtype=object),
        "raw": pd.Series([r[2] for r in p.rejects], dtype=object),
    }).sort_values("line", kind="stable", ignore_index=True)
    rows_read = len(frame) + len(rejects)
    if rows_read == 0:
        what = "has a header but no data rows" if p.format in ("csv", "excel") else "has no rows"
        raise LoadError(what, path=p.source, line=p.header_line)
    warnings = list(p.warnings)
    if len(rejects):
        reason, count = Counter(rejects["reason"]).most_common(1)[0]
        prefix = "all" if not len(frame) else f"{len(rejects)} of"
        detail = f": {reason}" if len(rejects) == 1 else f"; most common: {reason} ({count}x)"
        warnings.append(f"{prefix} {rows_read} records rejected (see rejects){detail}")
    key_problems = _key_problems(frame, p.lines, key, p.source)
    if len(key_problems):
        warnings.append(_key_summary(key, key_problems))
    return LoadResult(frame=frame, rejects=rejects, source=p.source, format=p.format,
                      encoding=p.encoding, rows_read=rows_read, warnings=warnings,
                      key_problems=key_problems, lines=p.lines)


def _key_problems(frame: pd.DataFrame, lines: np.ndarray, key: str | None,
                  where: str) -> pd.DataFrame:
    """Rows whose key is missing or repeats; keys compare after trimming whitespace."""
    empty = pd.DataFrame({"line": pd.Series([], dtype=np.int64),
                          "key": pd.Series([], dtype=object),
                          "problem": pd.Series([], dtype=object)})
    if key is None:
        return empty
    if key not in frame.columns:
        raise LoadError(f"key column {key!r} not found; available columns: "
                        f"{', '.join(map(str, frame.columns))}", path=where)
    values = frame[key]
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) == "string":
        norm = values.str.strip()
    else:
        norm = values.map(lambda v: v.strip() if isinstance(v, str) else v)
    missing = (norm.isna() | norm.eq("")).to_numpy()
    dup = (norm.duplicated(keep=False).to_numpy() & ~missing)
    mask = missing | dup
    if not mask.any():
        return empty
    return pd.DataFrame({
        "line": lines[mask].astype(np.int64),
        "key": values.to_numpy(dtype=object)[mask],
        "problem": np.where(missing[mask], "missing", "duplicate").astype(object),
    })


def _key_summary(key: str | None, problems: pd.DataFrame) -> str:
    missing = int((problems["problem"] == "missing").sum())
    dup = problems[problems["problem"] == "duplicate"]
    parts = []
    if missing:
        parts.append(f"{missing} missing")
    if len(dup):
        n_values = dup["key"].map(lambda v: v.strip() if isinstance(v, str) else v).nunique()
        parts.append(f"{n_values} value{'s' if n_values != 1 else ''} repeated on "
                     f"{len(dup)} rows")
    return f"key {key}: {', '.join(parts)}"
