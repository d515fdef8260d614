"""Files that used to be refused, garbled or mis-scored: large cells, several sheets, mixed
encodings, quotes in paths, an all-null key (issue 11, "Command line and loading")."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench import artifacts
from workbench.cli import main
from workbench.errors import LoadError
from workbench.loading import LoadResult, load_table


def assert_accounted(result: LoadResult) -> None:
    assert result.rows_read == len(result.frame) + len(result.rejects)
    assert len(result.lines) == len(result.frame)


# --------------------------------------------------------------------------- 1 MB cells


@pytest.mark.parametrize("quoted", [False, True])
def test_a_1mb_cell_loads(tmp_path, quoted):
    cell = "x, y\n" * 200_000 if quoted else "x" * 1_000_000  # 1 MB; quoted with commas and line breaks
    text = f'"{cell}"' if quoted else cell
    path = tmp_path / "big.csv"
    path.write_text(f"id,notes\n1,{text}\n2,short\n")
    result = load_table(path, key="id")
    assert_accounted(result)
    assert result.rejects.empty
    assert result.frame["id"].tolist() == ["1", "2"]
    assert len(result.frame["notes"][0]) >= 1_000_000 and result.frame["notes"][1] == "short"
    assert result.lines.tolist() == [2, 200_003 if quoted else 3]  # the cell ends with a line break


def test_a_1mb_cell_loads_from_the_command_line(tmp_path, capsys):
    path = tmp_path / "big.csv"
    path.write_text("id;notes\n1;" + "é" * 600_000 + "\n2;short\n")
    assert main(["load", str(path), "--workspace", str(tmp_path / "ws")]) == 0
    assert "2 rows read = 2 kept + 0 rejected" in capsys.readouterr().out


def test_an_unbalanced_quote_that_swallows_the_file_is_still_named(tmp_path):
    # the quote opened on line 3 closes on the last line, so the record has the right width
    path = tmp_path / "swallow.csv"
    path.write_text('a,b\n1,2\n3,"oops\n' + "4,5\n" * 40_000 + '6,"late" quote\n')
    with pytest.raises(LoadError, match=r"swallow\.csv, line 3: cannot parse the record starting here: "
                                        r"a quote is probably unbalanced and lines 3-40004"):
        load_table(path)


def test_a_small_unbalanced_quote_is_rejected_not_kept(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('a,b\n1,"x\n2,y\n3,"z"w\n4,ok\n')
    result = load_table(path)
    assert_accounted(result)
    assert result.frame.values.tolist() == [["4", "ok"]]
    [reject] = result.rejects.to_dict("records")
    assert reject["line"] == 2
    assert reject["reason"].startswith("a quote is probably unbalanced: the record spans lines 2-4")


def test_a_legitimate_multiline_quoted_cell_is_kept(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text('a;b\n1;"line one\nline two ""quoted""\nline three"\n2;x\n')
    result = load_table(path)
    assert result.rejects.empty
    assert result.frame["b"].tolist() == ['line one\nline two "quoted"\nline three', "x"]


# --------------------------------------------------------------------------- Excel sheets


def workbook(path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Customers"
    book.active.append(["id", "name"])
    book.active.append(["C1", "Ann"])
    leads = book.create_sheet("Leads")
    leads.append(["lead_id", "email"])
    leads.append(["L1", "a@b.co"])
    leads.append(["L2", "c@d.co"])
    book.create_sheet("2024").append(["n"])
    book["2024"].append(["x"])
    book.save(path)
    return path


def test_several_sheets_without_a_choice_warn_naming_the_ignored_ones(tmp_path):
    result = load_table(workbook(tmp_path / "book.xlsx"))
    assert result.frame["id"].tolist() == ["C1"]
    assert result.warnings[0] == ("the workbook has 3 sheets; read the first, 'Customers', and ignored 'Leads' "
                                  "and '2024'; choose one with sheet= (--sheet), by name or 0-based index")


def test_sheet_by_name_index_or_index_text_has_no_warning(tmp_path):
    path = workbook(tmp_path / "book.xlsx")
    assert load_table(path, sheet="Leads").frame["lead_id"].tolist() == ["L1", "L2"]
    assert load_table(path, sheet="1").frame["lead_id"].tolist() == ["L1", "L2"]  # from the command line
    named = load_table(path, sheet="2024")  # a sheet named like a number is a name first
    assert named.frame["n"].tolist() == ["x"] and named.warnings == []


def test_single_sheet_workbook_has_no_warning(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["id"])
    book.active.append(["1"])
    book.save(tmp_path / "one.xlsx")
    assert load_table(tmp_path / "one.xlsx").warnings == []


def test_sheet_option_on_the_command_line(tmp_path, capsys):
    path = workbook(tmp_path / "book.xlsx")
    ws = str(tmp_path / "ws")
    assert main(["load", str(path), "--sheet", "Leads", "--name", "leads", "--workspace", ws]) == 0
    out = capsys.readouterr().out
    assert "2 rows read = 2 kept + 0 rejected  (source: " in out and "book.xlsx#Leads" in out
    assert "warning" not in out
    assert main(["load", str(path), "--workspace", ws]) == 0
    assert "ignored 'Leads' and '2024'" in capsys.readouterr().out
    assert main(["assess", str(path), "--sheet", "1", "--name", "leads2", "--workspace", ws]) == 0
    assert capsys.readouterr().out.startswith("leads2 v1: 2 rows kept")


def test_sheet_through_the_workspace(tmp_path):
    from workbench.workspace import Workspace

    ds = Workspace(tmp_path / "ws").load(workbook(tmp_path / "book.xlsx"), sheet="Leads", name="leads")
    assert ds.rows_kept == 2 and ds.source.endswith("book.xlsx#Leads")


# --------------------------------------------------------------------------- mixed encodings


def test_cp1252_file_with_utf8_lines_is_decoded_line_by_line(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"id,name\n" + "C1,Zoë Dupré\n".encode("cp1252") + "C2,Müller\n".encode()
                     + "C3,Renée Faßbinder\n".encode("cp1252") + "C4,Ångström\n".encode("cp1252"))
    result = load_table(path)
    assert_accounted(result)
    assert result.frame["name"].tolist() == ["Zoë Dupré", "Müller", "Renée Faßbinder", "Ångström"]
    assert result.encoding == "utf-8+cp1252"
    assert any("mixes encodings: 1 line(s) are valid UTF-8" in w for w in result.warnings)


def test_pure_cp1252_file_is_unchanged(tmp_path):
    path = tmp_path / "legacy.csv"
    path.write_bytes("id,name\nC1,Zoë\nC2,Müller\nC3,Ångström\n".encode("cp1252"))
    result = load_table(path)
    assert result.encoding == "cp1252"
    assert result.frame["name"].tolist() == ["Zoë", "Müller", "Ångström"]
    assert not any("mixes" in w for w in result.warnings)


# --------------------------------------------------------------------------- DuckDB paths


@pytest.mark.parametrize("linking", [False, True])
def test_candidate_pairs_in_a_folder_with_a_quote(tmp_path, linking):
    from workbench.matching.scale import candidate_pairs

    root = tmp_path / "o'brien's \"workspace\""
    keys = pd.DataFrame({"rid": [0, 1, 2, 3], "pred": ["p"] * 4, "key": ["a", "a", "b", "a"],
                         "sk": ["0", "1", "2", "3"]})
    (root / "left").mkdir(parents=True)
    keys.to_parquet(root / "left" / "keys-0.parquet")
    right = None
    if linking:
        (root / "right").mkdir()
        keys.assign(rid=keys["rid"] + 10).to_parquet(root / "right" / "keys-0.parquet")
        right = root / "right"
    counts = candidate_pairs(root / "left", right, root / artifacts.PAIRS, threads=1)
    pairs = pd.read_parquet(root / artifacts.PAIRS).sort_values(["l", "r"]).values.tolist()
    if linking:
        assert counts["pairs"] == 10 and [0, 10] in pairs and [2, 12] in pairs
    else:
        assert counts["pairs"] == 3 and pairs == [[0, 1], [0, 3], [1, 3]]


# --------------------------------------------------------------------------- all-null key


def test_an_all_null_key_makes_identity_resolution_unfit():
    from workbench.checks import default_rules, run_checks
    from workbench.schema import infer_schema

    frame = pd.DataFrame({
        "customer_id": [None] * 50,
        "first_name": [f"Ann{i}" for i in range(50)],
        "last_name": [f"Lee{i}" for i in range(50)],
        "email": [f"ann{i}@example.com" for i in range(50)],
    })
    rules = default_rules(infer_schema(frame, key="customer_id"), frame)
    assert "not_null:customer_id" in rules.purposes["identity_resolution"]  # the reason, named
    results = run_checks(frame, rules, key="customer_id")
    assert results.fitness()["identity_resolution"] == 0.0
    frame.loc[:9, "customer_id"] = [str(i) for i in range(10)]  # mostly null: 20% fit
    assert run_checks(frame, rules, key="customer_id").fitness()["identity_resolution"] == 20.0


def test_each_sheet_loaded_without_a_name_is_a_dataset_of_its_own(tmp_path):
    from workbench.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    book = workbook(tmp_path / "book.xlsx")
    first, leads = ws.load(book, sheet=0), ws.load(book, sheet="Leads")
    assert (first.name, first.version) == ("book_0", 1)
    assert (leads.name, leads.version) == ("book_Leads", 1)
