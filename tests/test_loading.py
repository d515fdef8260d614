"""Tests for workbench.loading: every record kept or rejected, clear errors."""

from __future__ import annotations

import csv
import datetime as dt
import io
import pickle
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.errors import ConfigError, LoadError, WorkbenchError
from workbench.loading import LoadResult, load_table

HEADER = "customer_id,zip,phone,name\n"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def assert_accounted(result: LoadResult) -> None:
    assert result.rows_read == len(result.frame) + len(result.rejects)
    assert len(result.lines) == len(result.frame)
    assert list(result.rejects.columns) == ["line", "reason", "raw"]
    assert isinstance(result.frame.index, pd.RangeIndex)


# --------------------------------------------------------------------------- errors module


def test_error_str_names_file_line_and_column():
    err = LoadError("expected 3 fields", path="customers.csv", line=12, column=4)
    assert str(err) == "customers.csv, line 12, column 4: expected 3 fields"
    assert str(LoadError("is empty", path="a.csv")) == "a.csv: is empty"
    assert str(ConfigError("bad rule")) == "bad rule"
    assert isinstance(err, WorkbenchError) and isinstance(ConfigError("x"), WorkbenchError)
    again = pickle.loads(pickle.dumps(err))
    assert (again.path, again.line, again.column, str(again)) == (
        err.path, err.line, err.column, str(err))


# --------------------------------------------------------------------------- CSV basics


def test_csv_roundtrip_strings_and_leading_zeros(tmp_path):
    path = write(tmp_path / "customers.csv",
                 HEADER + "001,02134,0044 20 7946 0000,Ann\n002,,+1 555,\n")
    result = load_table(path)
    assert_accounted(result)
    assert result.format == "csv" and result.encoding == "utf-8"
    assert result.source == str(path)
    assert list(result.frame.columns) == ["customer_id", "zip", "phone", "name"]
    assert result.frame.to_dict("records") == [
        {"customer_id": "001", "zip": "02134", "phone": "0044 20 7946 0000", "name": "Ann"},
        {"customer_id": "002", "zip": None, "phone": "+1 555", "name": None},
    ]
    assert all(pd.api.types.is_object_dtype(d) for d in result.frame.dtypes)
    assert result.rows_read == 2 and result.rejects.empty and result.warnings == []
    assert result.lines.tolist() == [2, 3]


@pytest.mark.parametrize(("name", "delim"), [("a.tsv", "\t"), ("b.csv", ";"), ("c.txt", "|"),
                                             ("d.csv", "\t")])
def test_delimiters_are_sniffed(tmp_path, name, delim):
    rows = [["id", "name", "city"], ["1", "Smith, John", "Paris"], ["2", "Ng", "Köln"]]
    if delim == ";":
        rows[1][1] = "Smith, John, Jr."  # commas in values must not fool the sniffer
    text = "\n".join(delim.join(r) for r in rows) + "\n"
    result = load_table(write(tmp_path / name, text))
    assert result.frame.values.tolist() == rows[1:]
    assert list(result.frame.columns) == rows[0]


def test_explicit_delimiter_and_format(tmp_path):
    path = write(tmp_path / "export.dat", "a;b\n1;2,5\n")
    result = load_table(path, format="csv", delimiter=";")
    assert result.frame.values.tolist() == [["1", "2,5"]]


def test_bom_stripped_and_crlf(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffid,name\r\n1,Zoë\r\n2,Ann\r\n".encode())
    result = load_table(path)
    assert list(result.frame.columns) == ["id", "name"]
    assert result.frame.values.tolist() == [["1", "Zoë"], ["2", "Ann"]]
    assert result.encoding == "utf-8-sig"


def test_quoted_newline_kept_and_later_line_numbers_right(tmp_path):
    text = ('id,note,city\r\n'
            '1,"line one\r\nline two, with comma",Paris\r\n'   # lines 2-3
            '2,"a ""quoted"" word",Rome\r\n'                   # line 4
            '3,too,many,fields\r\n'                            # line 5
            '\r\n'                                             # line 6: blank, skipped
            '4,"multi\nline\nvalue",Oslo\r\n'                  # lines 7-9
            '5,short\r\n')                                     # line 10
    result = load_table(write(tmp_path / "notes.csv", text))
    assert_accounted(result)
    assert result.frame["note"].tolist() == [
        "line one\r\nline two, with comma", 'a "quoted" word', "multi\nline\nvalue"]
    assert result.lines.tolist() == [2, 4, 7]
    assert result.rejects.to_dict("records") == [
        {"line": 5, "reason": "expected 3 fields, found 4", "raw": "3,too,many,fields"},
        {"line": 10, "reason": "expected 3 fields, found 2", "raw": "5,short"},
    ]
    assert result.rows_read == 5  # the blank line is not a record


def test_column_names_stripped(tmp_path):
    result = load_table(write(tmp_path / "a.csv", " id , name\n1,x\n"))
    assert list(result.frame.columns) == ["id", "name"]


# --------------------------------------------------------------------------- encodings


def test_cp1252_file_decodes(tmp_path):
    text = "id;name;city\n1;José Müller;Köln\n2;Renée Faßbinder;Zürich\n3;Ånström;Malmö\n"
    result = load_table(write(tmp_path / "legacy.csv", text, "cp1252"))
    assert result.encoding == "cp1252"
    assert result.frame["name"].tolist() == ["José Müller", "Renée Faßbinder", "Ånström"]
    assert result.rejects.empty


def test_short_cp1252_file_says_what_it_assumed(tmp_path):
    result = load_table(write(tmp_path / "tiny.csv", "id,name\n1,José Müller\n", "cp1252"))
    assert result.frame["name"].tolist() == ["José Müller"]
    assert result.encoding == "cp1252"
    assert any("assumed cp1252" in w for w in result.warnings)


def test_cp1250_file_is_not_read_as_cp1252(tmp_path):
    text = "id,name,city\n1,Wojciech Łukaszewski,Łódź\n2,Zażółć Gęślą,Kraków\n"
    result = load_table(write(tmp_path / "pl.csv", text, "cp1250"))
    assert result.encoding == "cp1250"
    assert result.frame["city"].tolist() == ["Łódź", "Kraków"]


def test_explicit_encoding(tmp_path):
    path = write(tmp_path / "latin.csv", "id,name\n1,Müller\n", "latin-1")
    result = load_table(path, encoding="latin-1")
    assert result.frame["name"].tolist() == ["Müller"]
    assert result.encoding == "latin-1" and result.warnings == []


def test_utf16_with_bom(tmp_path):
    path = tmp_path / "u16.csv"
    path.write_bytes("id\tname\r\n1\tJosé\r\n2\t李\r\n".encode("utf-16"))
    result = load_table(path)
    assert result.encoding == "utf-16"
    assert result.frame.values.tolist() == [["1", "José"], ["2", "李"]]


def test_undecodable_line_rejected_rest_kept(tmp_path):
    path = tmp_path / "mostly_utf8.csv"
    path.write_bytes("id,name\n1,José\n2,Zoë\n".encode() + b"3,J\xe9r\xf4me\n" + b"4,Ann\n")
    result = load_table(path)
    assert_accounted(result)
    assert result.encoding == "utf-8"
    assert result.frame["name"].tolist() == ["José", "Zoë", "Ann"]
    assert result.lines.tolist() == [2, 3, 5]
    [reject] = result.rejects.to_dict("records")
    assert reject["line"] == 4
    assert reject["reason"] == "undecodable byte 0xE9 for utf-8 at column 4"
    assert reject["raw"] == "3,J\ufffdr\ufffdme"


# --------------------------------------------------------------------------- ragged / quotes


def test_ragged_rows_rejected_with_lines_and_reasons(tmp_path):
    fields = [f"f{i}" for i in range(15)]
    lines = [",".join(fields), ",".join(str(i) for i in range(15)),
             ",".join(str(i) for i in range(17)), "a,b,c", ",".join("x" * 15)]
    result = load_table(write(tmp_path / "wide.csv", "\n".join(lines) + "\n"))
    assert_accounted(result)
    assert len(result.frame) == 2
    assert result.rejects[["line", "reason"]].values.tolist() == [
        [3, "expected 15 fields, found 17"], [4, "expected 15 fields, found 3"]]
    assert any("2 of 4 records rejected" in w for w in result.warnings)


def test_unterminated_quote_is_not_kept_silently(tmp_path):
    result = load_table(write(tmp_path / "q.csv", 'a,b\n1,2\n3,"oops\n4,5\n6,7\n'))
    assert_accounted(result)
    assert result.frame.values.tolist() == [["1", "2"]]
    [reject] = result.rejects.to_dict("records")
    assert reject["line"] == 3 and "unterminated quoted field" in reject["reason"]


def test_all_rows_rejected_is_reported_not_fatal(tmp_path):
    result = load_table(write(tmp_path / "trail.csv", "a,b\n1,2,\n3,4,\n"))
    assert result.frame.empty and list(result.frame.columns) == ["a", "b"]
    assert result.rows_read == 2
    assert any(w.startswith("all 2 records rejected") for w in result.warnings)


# --------------------------------------------------------------------------- error cases


def test_missing_file(tmp_path):
    with pytest.raises(LoadError, match=r"customers\.csv: no such file"):
        load_table(tmp_path / "customers.csv")


def test_directory(tmp_path):
    (tmp_path / "data.csv").mkdir()
    with pytest.raises(LoadError, match=r"data\.csv: is a directory"):
        load_table(tmp_path / "data.csv")


@pytest.mark.parametrize("content", [b"", b"  \n\r\n\t\n", b"\xef\xbb\xbf\n\n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(LoadError, match=r"empty\.csv: is empty"):
        load_table(path)


def test_header_only(tmp_path):
    with pytest.raises(LoadError, match=r"only\.csv, line 1: has a header but no data rows"):
        load_table(write(tmp_path / "only.csv", "id,name\n\n"))


def test_duplicate_column_names(tmp_path):
    path = write(tmp_path / "dups.csv", "id,email,name, email,id\n1,a,b,c,d\n")
    with pytest.raises(LoadError) as info:
        load_table(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}, line 1: duplicate column names")
    assert "'id' at columns 1 and 5" in msg and "'email' at columns 2 and 4" in msg


def test_blank_column_names_get_named_with_warning(tmp_path):
    result = load_table(write(tmp_path / "blank.csv", "id,,name, \n1,x,y,z\n"))
    assert list(result.frame.columns) == ["id", "unnamed_2", "name", "unnamed_4"]
    assert any("unnamed_2 and unnamed_4" in w for w in result.warnings)


def test_unknown_suffix(tmp_path):
    with pytest.raises(LoadError, match=r"data\.json: unknown file type '\.json'.*format="):
        load_table(write(tmp_path / "data.json", "{}"))
    with pytest.raises(LoadError, match=r"unknown format 'xml'"):
        load_table(write(tmp_path / "x.csv", "a\n1\n"), format="xml")


def test_binary_file_named_csv(tmp_path):
    path = tmp_path / "book.csv"
    path.write_bytes(b"PK\x03\x04" + bytes(200))
    with pytest.raises(LoadError, match=r"book\.csv: is not a text file.*excel"):
        load_table(path)


def test_option_for_other_format_is_refused(tmp_path):
    with pytest.raises(LoadError, match="sheet= applies only to excel"):
        load_table(write(tmp_path / "a.csv", "a\n1\n"), sheet="Sheet1")


def test_key_column_absent_lists_columns(tmp_path):
    path = write(tmp_path / "c.csv", HEADER + "1,2,3,4\n")
    with pytest.raises(LoadError) as info:
        load_table(path, key="id")
    assert str(info.value) == (f"{path}: key column 'id' not found; available columns: "
                               "customer_id, zip, phone, name")


# --------------------------------------------------------------------------- key problems


def test_key_problems_missing_and_repeated(tmp_path):
    text = (HEADER + "1,a,b,c\n"      # line 2
            ",a,b,c\n"                 # line 3 missing
            "2,a,b,c\n"                # line 4
            "1 ,a,b,c\n"               # line 5 duplicate of 1 (whitespace trimmed)
            "  ,a,b,c\n"               # line 6 missing (blank)
            "2,a,b,c\n"                # line 7 duplicate of 2
            "1,a,b,c\n")               # line 8 duplicate of 1
    result = load_table(write(tmp_path / "k.csv", text), key="customer_id")
    kp = result.key_problems
    assert list(kp.columns) == ["line", "key", "problem"]
    assert kp.values.tolist() == [
        [2, "1", "duplicate"], [3, None, "missing"], [4, "2", "duplicate"],
        [5, "1 ", "duplicate"], [6, "  ", "missing"], [7, "2", "duplicate"],
        [8, "1", "duplicate"]]
    assert "key customer_id: 2 missing, 2 values repeated on 5 rows" in result.warnings
    assert len(result.frame) == 7  # reported, not dropped


def test_no_key_problems(tmp_path):
    result = load_table(write(tmp_path / "k.csv", HEADER + "1,a,b,c\n2,a,b,c\n"),
                        key="customer_id")
    assert result.key_problems.empty and result.warnings == []


# --------------------------------------------------------------------------- Excel


def make_workbook(path: Path) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Customers"
    ws.append(["id", " zip ", "joined", "score"])                      # row 1
    ws.append(["001", "02134", dt.datetime(2024, 1, 31), 7])           # row 2
    ws.append([])                                                      # row 3 blank
    ws.append(["002", "", dt.datetime(2023, 5, 1), 9])                 # row 4
    ws.append(["003", "10115", None, 1, "stray"])                      # row 5: too wide
    ws.append(["001", "99999", None, None])                            # row 6
    other = book.create_sheet("Other")
    other.append(["a", "b"])
    other.append([1, 2])
    book.save(path)
    return path


def test_excel_roundtrip_and_row_numbers(tmp_path):
    result = load_table(make_workbook(tmp_path / "c.xlsx"), key="id")
    assert_accounted(result)
    assert result.format == "excel" and result.encoding is None
    assert list(result.frame.columns) == ["id", "zip", "joined", "score"]
    assert result.frame["id"].tolist() == ["001", "002", "001"]
    assert result.frame["zip"].tolist()[0] == "02134" and result.frame["zip"][1] is None
    assert result.frame["joined"][0] == pd.Timestamp(2024, 1, 31)
    assert result.lines.tolist() == [2, 4, 6]
    assert result.rejects[["line"]].values.tolist() == [[5]]
    assert result.rejects["reason"][0].startswith("expected 4 fields, found 5")
    assert result.key_problems["line"].tolist() == [2, 6]


def test_excel_sheet_by_name_and_index(tmp_path):
    path = make_workbook(tmp_path / "c.xlsx")
    assert load_table(path, sheet="Other").frame.values.tolist() == [[1, 2]]
    assert load_table(path, sheet=1).frame.values.tolist() == [[1, 2]]
    with pytest.raises(LoadError, match=r"c\.xlsx: no sheet 'Nope'; sheets are 'Customers', "
                                        r"'Other'"):
        load_table(path, sheet="Nope")


def test_unreadable_excel(tmp_path):
    path = write(tmp_path / "broken.xlsx", "this is not a workbook")
    with pytest.raises(LoadError, match=r"broken\.xlsx: is not a readable Excel workbook"):
        load_table(path)


def test_xls_explains_what_to_do(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0" + bytes(100))
    with pytest.raises(LoadError, match=r"old\.xls: .*save it as \.xlsx"):
        load_table(path)


# --------------------------------------------------------------------------- Parquet


def test_parquet_keeps_native_dtypes(tmp_path):
    frame = pd.DataFrame({"id": [1, 2, 2], "zip": ["02134", None, "10115"],
                          "score": [0.5, np.nan, 1.0],
                          "joined": pd.to_datetime(["2024-01-31", "2023-05-01", None])},
                         index=[10, 11, 12])
    path = tmp_path / "c.parquet"
    frame.to_parquet(path, index=False)
    result = load_table(path, key="id")
    assert_accounted(result)
    pd.testing.assert_frame_equal(result.frame, frame.reset_index(drop=True))
    assert result.format == "parquet" and result.rows_read == 3
    assert result.key_problems.values.tolist() == [[2, 2, "duplicate"], [3, 2, "duplicate"]]


def test_unreadable_parquet(tmp_path):
    path = write(tmp_path / "bad.pq", "nope")
    with pytest.raises(LoadError, match=r"bad\.pq: is not a readable Parquet file"):
        load_table(path)


# --------------------------------------------------------------------------- SQL


@pytest.fixture()
def sqlite_url(tmp_path):
    path = tmp_path / "crm.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}")
    pd.DataFrame({"id": ["001", "002", None], "name": ["Ann", "Bo", "Cy"]}).to_sql(
        "customers", engine, index=False)
    pd.DataFrame({"x": [1]}).to_sql("orders", engine, index=False)
    engine.dispose()
    return f"sqlite:///{path}"


def test_sql_table(sqlite_url):
    result = load_table(sqlite_url, table="customers", key="id")
    assert_accounted(result)
    assert result.format == "sql" and result.source == f"{sqlite_url}#customers"
    assert result.frame.values.tolist() == [["001", "Ann"], ["002", "Bo"], [None, "Cy"]]
    assert result.key_problems.values.tolist() == [[3, None, "missing"]]


def test_sql_query_and_engine(sqlite_url):
    engine = sa.create_engine(sqlite_url)
    result = load_table(engine, query="SELECT name FROM customers WHERE id LIKE '00%'")
    assert result.frame["name"].tolist() == ["Ann", "Bo"]
    assert result.source == f"{sqlite_url}#query"
    engine.dispose()


def test_sql_missing_table_lists_tables(sqlite_url):
    with pytest.raises(LoadError, match=r"#clients: no table 'clients'; tables are: "
                                        r"customers, orders"):
        load_table(sqlite_url, table="clients")


def test_sql_bad_query_and_bad_options(sqlite_url):
    with pytest.raises(LoadError, match="database error"):
        load_table(sqlite_url, query="SELECT nope FROM customers")
    with pytest.raises(LoadError, match="exactly one of table= or query="):
        load_table(sqlite_url)


def test_sql_missing_sqlite_file_is_not_created(tmp_path):
    path = tmp_path / "typo.sqlite"
    with pytest.raises(LoadError, match="no such file"):
        load_table(f"sqlite:///{path}", table="customers")
    assert not path.exists()


def test_sql_password_is_masked():
    with pytest.raises(LoadError) as info:
        load_table("nosuchdialect://user:s3cret@db.example/crm", table="customers")
    assert "s3cret" not in str(info.value) and "***" in str(info.value)


# --------------------------------------------------------------------------- property


_cell_chars = st.one_of(st.sampled_from(list(',"\n\r ;\t|\'')),
                        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
_cell = st.text(alphabet=_cell_chars, max_size=8)


@st.composite
def _tables(draw):
    n = draw(st.integers(2, 5))
    good = draw(st.lists(st.lists(_cell, min_size=n, max_size=n), min_size=1, max_size=12))
    ragged_width = st.integers(1, 8).filter(lambda k: k != n)
    ragged = draw(st.lists(ragged_width.flatmap(
        lambda k: st.lists(_cell, min_size=k, max_size=k).filter(
            lambda r: len(r) > 1 or r[0].strip())), max_size=4))
    positions = [draw(st.integers(0, len(good))) for _ in ragged]
    return n, good, list(zip(positions, ragged, strict=True))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tables())
def test_property_every_record_accounted(table):
    n, good, ragged = table
    records: list[tuple[list[str], bool]] = [(row, True) for row in good]
    for pos, row in sorted(ragged, key=lambda pr: pr[0], reverse=True):
        records.insert(pos, (row, False))
    header = [f"c{i}" for i in range(n)]
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(header)
    line = 2
    expected_reject_lines = []
    for row, ok in records:
        start = len(buf.getvalue())
        writer.writerow(row)
        written = buf.getvalue()[start:]
        if not ok:
            expected_reject_lines.append(line)
        line += len(io.StringIO(written, newline="").readlines())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "prop.csv"
        path.write_bytes(buf.getvalue().encode("utf-8"))
        result = load_table(path, delimiter=",")
    assert result.rows_read == len(result.frame) + len(result.rejects) == len(records)
    assert list(result.frame.columns) == header
    expected = [[None if v == "" else v for v in row] for row in good]
    assert result.frame.values.tolist() == expected
    assert result.rejects["line"].tolist() == expected_reject_lines
    assert all(r.startswith("expected ") for r in result.rejects["reason"])


def test_unbalanced_quote_early_in_a_big_file_names_the_line(tmp_path):
    text = 'a,b\n1,2\n3,"oops\n' + "4,5\n" * 40_000  # the open quote swallows > 128 KB
    with pytest.raises(LoadError, match=r"big\.csv, line 3: cannot parse .*unbalanced"):
        load_table(write(tmp_path / "big.csv", text))
