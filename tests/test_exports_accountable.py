"""Accountable exports (issue 11, item 6): whole files or none, a manifest, no silent table
replacement, formula-safe CSV in every locale, every export audited."""

from __future__ import annotations

import errno
import hashlib
import json
import re

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from workbench import artifacts, export
from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.export import neutralize_cell, read_manifest, verify_manifest, write_csv
from workbench.golden import golden_from_workspace

# --------------------------------------------------------------------------
# CSV safe in comma, semicolon and tab locales


def dangerous_fragments(text: str) -> list[str]:
    """Fragments a spreadsheet splitting on , ; tab or a line break would run as a formula.

    Written apart from the module's regex: split, skip spaces and quotes, look at the first character.
    """
    found = []
    for fragment in re.split(r"[,;\t\r\n]", text):
        body = fragment.lstrip(" \u00a0\"")
        if not body:
            continue
        if body[0] in "=@":
            found.append(fragment)
        elif body[0] in "+-" and not re.fullmatch(r"[0-9 +\-().]*", body):
            found.append(fragment)
    return found


CASES = [
    # (cell, written as) -- dangerous fragments get an apostrophe, nothing else changes
    ("=1+1", "'=1+1"),
    ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("-x", "'-x"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("x;=1+1;", "x;'=1+1;"),  # the case: a formula cell in a semicolon locale
    ("x,=1+1", "x,'=1+1"),
    ("x\t@SUM(1)", "x\t'@SUM(1)"),
    ("a; =2", "a; '=2"),  # spaces before the formula do not hide it
    ('a;"=2"', 'a;"\'=2"'),  # nor does a quote
    ("\tx", "'\tx"),  # OWASP: leading tab / carriage return
    ("\rx", "'\rx"),
    ("+44 20 7946 0958 ext 12", "'+44 20 7946 0958 ext 12"),  # letters after + could call a function
    # left exactly as they are
    ("+44 20 7946 0958", "+44 20 7946 0958"),
    ("+1 (555) 010-0199", "+1 (555) 010-0199"),
    ("-12.5", "-12.5"),
    ("a,-5", "a,-5"),
    ("1;2;3", "1;2;3"),
    ("a=b", "a=b"),
    ("Smith - Jones", "Smith - Jones"),
    ("rob@x.com", "rob@x.com"),
    ("", ""),
]


@pytest.mark.parametrize(("cell", "written"), CASES)
def test_neutralize_cell_table(cell, written):
    assert neutralize_cell(cell) == written
    assert dangerous_fragments(written) == []


@given(st.text(alphabet="=+-@;,\t\r\n \"x1(.'\u00a0", max_size=24))
def test_no_locale_sees_a_formula_and_safe_text_is_untouched(text):
    out = neutralize_cell(text)
    assert dangerous_fragments(out) == []
    if not dangerous_fragments(text) and not text.startswith(("\t", "\r")):
        assert out == text
    assert out.replace("'", "") == text.replace("'", "")  # only apostrophes are ever added


@given(st.lists(st.one_of(st.none(), st.integers(), st.text(alphabet="=+-@;,\t\r\n \"x1(.\x00", max_size=12)),
                max_size=8))
def test_frame_neutralizes_each_cell_exactly_as_the_cell_rule(cells):
    frame = pd.DataFrame({"c": pd.Series(cells, dtype=object)})
    assert export.neutralize_frame(frame)["c"].tolist() == [neutralize_cell(v) for v in cells]


def test_written_csv_split_on_any_separator_has_no_formula_and_reads_back_unaltered(tmp_path):
    frame = pd.DataFrame({
        "note": ["x;=1+1;", "fine", "a\t=cmd"],
        "phone": ["+44 20 7946 0958", "+1 (555) 010-0199", "-"],
        "n": [-1, 2, 3],
    })
    path = write_csv(frame, tmp_path / "out.csv")
    text = path.read_text(encoding="utf-8")
    for line in text.splitlines():
        assert dangerous_fragments(line) == [], line
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert back["phone"].tolist() == ["+44 20 7946 0958", "+1 (555) 010-0199", "-"]  # no leading '
    assert back["note"].tolist() == ["x;'=1+1;", "fine", "a\t'=cmd"]
    assert back["n"].tolist() == ["-1", "2", "3"]


def test_write_csv_failing_midway_keeps_the_old_file(tmp_path, monkeypatch):
    path = write_csv(pd.DataFrame({"a": ["old"]}), tmp_path / "out.csv")
    before = path.read_bytes()

    def disk_full(self, target, **kw):
        with open(target, "w") as f:
            f.write("a\npart")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full)
    with pytest.raises(OSError):
        write_csv(pd.DataFrame({"a": ["new"] * 10}), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


# --------------------------------------------------------------------------
# files as a set, with a manifest


@pytest.fixture
def golden(review_ws):
    return golden_from_workspace(review_ws, "customers")


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_manifest_gives_rows_checksums_and_where_the_data_came_from(golden, review_ws, tmp_path):
    out = tmp_path / "out"
    written = golden.export(out)
    manifest = read_manifest(out)
    assert set(manifest["files"]) == set(written)
    for name, entry in manifest["files"].items():
        frame = getattr(golden, name.split(".")[0])
        assert entry["rows"] == len(frame)
        assert entry["sha256"] == sha256(out / name)
    assert len(pd.read_csv(out / "golden.csv")) == manifest["files"]["golden.csv"]["rows"]
    source = manifest["source"]
    assert source["run_id"] == golden.stats["run_id"]
    assert source["dataset"]["name"] == "customers" and source["dataset"]["version"] == 1
    dedupe = review_ws.runs("dedupe")
    assert source["model"]["run_id"] == int(dedupe.iloc[0]["id"])
    assert source["model"]["task"] == "dedupe:customers"
    assert manifest["user"] == "tester" and manifest["created_at"]
    assert verify_manifest(out) == []
    (out / "crosswalk.csv").write_text("record_key,golden_id,source\n")
    assert verify_manifest(out) == ["crosswalk.csv: contents differ from the manifest (sha256)"]


def test_every_export_is_audited_with_the_manifest_checksum(golden, review_ws, tmp_path):
    out = tmp_path / "out"
    golden.export(out, formats=("csv",))
    log = review_ws.audit_log()
    entry = log[log["action"] == "export"].iloc[-1]
    details = json.loads(entry["details_json"])
    assert entry["target"] == str(out) and entry["user"] == "tester"
    assert details["files"] == ["crosswalk.csv", "golden.csv", "lineage.csv"]
    assert details["manifest_sha256"] == sha256(out / "manifest.json")
    assert details["rows"]["golden.csv"] == len(golden.golden)
    assert details["run"] == golden.stats["run_id"]


def test_interrupted_export_leaves_the_previous_complete_set(golden, tmp_path, monkeypatch):
    out = tmp_path / "out"
    golden.export(out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = pd.DataFrame.to_csv

    def disk_full_on_crosswalk(self, path, **kw):
        if "record_key" in self.columns:  # the crosswalk: half written, then the disk is full
            text = real(self, None, **{k: v for k, v in kw.items() if k != "encoding"})
            with open(path, "w") as f:
                f.write(text[: len(text) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, path, **kw)

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full_on_crosswalk)
    golden.golden = golden.golden.iloc[:1]  # a different set of golden ids than the crosswalk on disk
    with pytest.raises(OSError, match="No space"):
        golden.export(out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # same files, same bytes, no temp files
    assert verify_manifest(out) == []


def test_first_export_interrupted_leaves_nothing_that_looks_complete(golden, tmp_path, monkeypatch):
    out = tmp_path / "out"

    def crash(self, path, **kw):
        with open(path, "wb") as f:
            f.write(b"PAR1")
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", crash)
    with pytest.raises(OSError):
        golden.export(out)
    assert list(out.iterdir()) == []


def test_crash_while_renaming_leaves_no_manifest(golden, tmp_path, monkeypatch):
    out = tmp_path / "out"
    golden.export(out)
    real, calls = export.os.replace, []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(errno.EIO, "I/O error")
        return real(src, dst)

    monkeypatch.setattr(export.os, "replace", replace)
    with pytest.raises(OSError):
        golden.export(out)
    assert not (out / "manifest.json").exists()  # visibly incomplete: golden.csv is new, the rest old
    with pytest.raises(WorkbenchError, match="incomplete"):
        read_manifest(out)
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp-")]


def test_a_new_set_replaces_the_old_one_whole(golden, tmp_path):
    out = tmp_path / "out"
    golden.export(out)
    golden.export(out, formats=("parquet",))
    assert sorted(p.name for p in out.iterdir()) == [artifacts.CROSSWALK, artifacts.GOLDEN, artifacts.LINEAGE,
                                                     "manifest.json"]
    single = golden.export(tmp_path / "golden.csv")
    assert list(single) == ["golden.csv"]
    assert set(read_manifest(tmp_path, "golden.csv.manifest.json")["files"]) == {"golden.csv"}


# --------------------------------------------------------------------------
# SQL tables are never replaced silently


def test_to_sql_refuses_an_existing_table_unless_told(golden, review_ws, tmp_path):
    url = f"sqlite:///{tmp_path / 'golden.db'}"
    golden.to_sql(url, "customer")
    with pytest.raises(WorkbenchError) as err:
        golden.to_sql(url, "customer")
    assert "'customer_records' already exists" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(WorkbenchError, match="if_exists must be one of"):
        golden.to_sql(url, "customer", if_exists="truncate")
    golden.to_sql(url, "customer", if_exists="append")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM customer_records")).scalar() == 2 * len(golden.golden)
    engine.dispose()
    golden.to_sql(url, "customer", if_exists="replace")
    exports = review_ws.audit_log().query("action == 'export'")
    assert [json.loads(d)["if_exists"] for d in exports["details_json"]] == ["fail", "append", "replace"]


def test_golden_command_refuses_an_existing_table_in_one_line(review_ws, tmp_path, capsys):
    path = str(review_ws.path)
    db = tmp_path / "golden.db"
    args = ["golden", "customers", "--workspace", path, "--out", str(tmp_path / "out"), "--sql", f"sqlite:///{db}"]
    assert main(args) == 0
    assert "manifest" in capsys.readouterr().out
    runs = len(review_ws.runs("golden"))
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "'golden_records' already exists" in err and "--if-exists replace" in err and len(err.splitlines()) == 1
    assert len(review_ws.runs("golden")) == runs  # refused before doing any work
    assert main([*args, "--if-exists", "replace"]) == 0


def test_exporting_assessment_failures_is_audited(review_ws, tmp_path):
    from workbench.assess import assess

    assessment = assess(review_ws, "customers")
    path = assessment.export_failures(tmp_path / "failures.csv")
    entry = review_ws.audit_log().query("action == 'export'").iloc[-1]
    details = json.loads(entry["details_json"])
    assert entry["target"] == str(path) and details["what"] == "failures"
    assert details["masked"] is False and details["rows"] == len(assessment.failures)
