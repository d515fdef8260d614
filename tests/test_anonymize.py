"""Anonymized and pseudonymized exports (issue 13): HMAC pseudonyms that join, generalized
quasi-identifiers, suppressed free text, a k-anonymity report, audited exports and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from workbench import Workspace
from workbench.access import AccessDenied
from workbench.anonymize import (
    ENV_KEY,
    HASH_LENGTH,
    anonymize_frame,
    check_key,
    export_anonymized,
    k_anonymity,
    postcode_district,
    pseudonymize,
    read_key,
)
from workbench.errors import WorkbenchError
from workbench.export import read_manifest, verify_manifest
from workbench.schema import Field, Role, Schema, infer_schema

KEY = "correct horse battery staple 42"
OTHER_KEY = b"another secret key of 32 bytes!!"
HEX = re.compile(rf"^[0-9a-f]{{{HASH_LENGTH}}}$")


def schema_of(frame: pd.DataFrame, roles: dict[str, Role], key: str | None = None) -> Schema:
    """A schema with exactly these roles (no inference: the tests say what each column is)."""
    return Schema(tuple(Field(c, roles[c], False) for c in frame.columns), key=key)


def people(**overrides) -> pd.DataFrame:
    frame = pd.DataFrame({
        "cust": ["1", "2", "3", "4"],
        "given": ["Ann", "Bob", "Cy", "Di"],
        "mail": ["Ann.Smith@Example.com ", "bob@example.org", None, "n/a"],
        "tel": ["(312) 545-1634", "020 7946 0958", "", None],
        "born": ["1968-03-23", "23.03.1968", "03/23/1971", None],
        "zip": ["02134", "SW1A 1AA", "K1A 0B1", "1012 AB"],
        "nation": ["USA", "United Kingdom", "Canada", "NL"],
    })
    return frame.assign(**overrides)


ROLES = {"cust": Role.ID, "given": Role.FIRST_NAME, "mail": Role.EMAIL, "tel": Role.PHONE,
         "born": Role.DATE_OF_BIRTH, "zip": Role.POSTCODE, "nation": Role.COUNTRY, "notes": Role.OTHER,
         "tier": Role.OTHER, "spend": Role.OTHER, "company": Role.ORGANIZATION, "web": Role.WEBSITE,
         "vat": Role.REGISTRATION_ID, "street": Role.STREET, "city": Role.CITY}


# --------------------------------------------------------------------------
# pseudonyms


def test_same_customer_hashes_the_same_in_two_files_so_they_join():
    crm = pd.DataFrame({"cust": [123, 7], "mail": ["Ann.Smith@Example.com", "zed@example.net"],
                        "tel": ["(312) 545-1634", "+44 20 7946 0958"], "nation": ["US", "GB"]})
    web = pd.DataFrame({"id": ["7", " 123 "], "email": ["zed@example.net", "  ann.smith@example.COM "],
                        "phone": ["020 7946 0958", "+1 312-545-1634"], "country": ["United Kingdom", "USA"]})
    a = anonymize_frame(crm, schema_of(crm, ROLES, key="cust"), key=KEY).frame
    b = anonymize_frame(web, schema_of(web, {"id": Role.ID, "email": Role.EMAIL, "phone": Role.PHONE,
                                             "country": Role.COUNTRY}, key="id"), key=KEY).frame
    joined = a.merge(b, left_on="cust", right_on="id")
    assert len(joined) == 2  # the ids join although one file has numbers and the other padded text
    assert (joined["mail"] == joined["email"]).all()
    assert (joined["tel"] == joined["phone"]).all()  # the UK number read in each row's country
    assert all(HEX.match(v) for v in a["cust"]) and all(HEX.match(v) for v in a["mail"])
    assert a["mail"].iloc[0] == pseudonymize(pd.Series(["ANN.SMITH@example.com"]), KEY, Role.EMAIL).iloc[0]


def test_a_different_key_gives_different_pseudonyms():
    frame = people()
    schema = schema_of(frame, ROLES, key="cust")
    one = anonymize_frame(frame, schema, key=KEY).frame
    two = anonymize_frame(frame, schema, key=OTHER_KEY).frame
    for col in ("cust", "mail", "tel"):
        present = one[col].notna()
        assert present.any()
        assert not (one.loc[present, col] == two.loc[present, col]).any()
        assert (one[col].isna() == two[col].isna()).all()


def test_missing_and_junk_values_stay_missing_never_hashed():
    frame = people(cust=["1", "", None, "4"])
    out = anonymize_frame(frame, schema_of(frame, ROLES, key="cust"), key=KEY).frame
    assert out["cust"].tolist()[1:3] == [None, None]
    assert out["mail"].tolist()[2:] == [None, None]  # missing, and "n/a" (hashing it would join strangers)
    assert out["tel"].tolist()[2:] == [None, None]
    assert out["mail"].iloc[0] is not None and out["tel"].iloc[0] is not None


def test_key_is_checked_read_from_a_file_or_the_environment(tmp_path, monkeypatch):
    for bad in ("", "   ", "s3cr3tXY", b"0123456789abcde"):
        with pytest.raises(WorkbenchError, match="empty|too short") as err:
            check_key(bad)
        assert "s3cr3tXY" not in str(err.value) and "0123456789abcde" not in str(err.value)
    with pytest.raises(WorkbenchError, match="bytes or text"):
        check_key(12345678901234567890)
    monkeypatch.delenv(ENV_KEY, raising=False)
    with pytest.raises(WorkbenchError, match=ENV_KEY):
        check_key(None)
    monkeypatch.setenv(ENV_KEY, KEY + "\n")
    assert check_key(None) == KEY.encode()
    f = tmp_path / "key.txt"
    f.write_text(KEY + "\n")
    assert read_key(f) == KEY.encode()  # the trailing newline is not part of the key
    f.write_text("tooshort\n")
    with pytest.raises(WorkbenchError, match="key file is too short") as err:
        read_key(f)
    assert "tooshort" not in str(err.value) and str(f) in str(err.value)
    with pytest.raises(WorkbenchError, match="no such key file"):
        read_key(tmp_path / "missing.key")
    frame = people()
    with pytest.raises(WorkbenchError, match="too short"):
        anonymize_frame(frame, schema_of(frame, ROLES), key="abc")


# --------------------------------------------------------------------------
# generalization and suppression


def test_date_of_birth_becomes_the_year_whatever_its_format():
    frame = pd.DataFrame({"born": ["1968-03-23", "23.03.1968", "03/23/1971", "25/12/1980", None, "garbage",
                                   dt.date(1990, 7, 1)]})
    out = anonymize_frame(frame, schema_of(frame, ROLES), key=KEY).frame["born"]
    assert out.tolist()[:4] == [1968, 1968, 1971, 1980]
    assert out.iloc[4] is pd.NA and out.iloc[5] is pd.NA
    assert out.iloc[6] == 1990


@pytest.mark.parametrize(("value", "country", "district"), [
    ("02134", "US", "021"), ("02134-1234", "US", "021"), (2134.0, "US", "021"),  # leading zero restored
    ("03601", "US", "000"),  # HIPAA: a three-digit area of 20,000 people or fewer
    ("SW1A 1AA", "GB", "SW1A"), ("m11ae", "GB", "M1"), ("EC1A", "GB", "EC1A"),
    ("K1A 0B1", "CA", "K1A"), ("k1a0b1", "CA", "K1A"),
    ("1012 AB", "NL", "1012"), ("1012AB", "NL", "1012"),
    ("D02 X285", "IE", "D02"),
    ("10115", "DE", "101"), ("1010", "AT", "10"), ("123 45", "SE", "123"),  # the generic rule
    ("SW1A 1AA", None, "SW1A"), ("90210", None, "902"),  # no country: the generic rule
    ("", "US", None), (None, "GB", None), ("n/a", "US", None),
])
def test_postcode_district_by_country(value, country, district):
    assert postcode_district(value, country) == district


def test_postcodes_are_generalized_in_each_rows_country():
    frame = people(nation=["USA", "United Kingdom", "Canada", None])  # the last row: the data's usual country
    out = anonymize_frame(frame, schema_of(frame, ROLES), key=KEY, region="NL").frame
    assert out["zip"].tolist() == ["021", "SW1A", "K1A", "1012"]
    assert out["nation"].tolist() == frame["nation"].tolist()  # a quasi-identifier, kept


def test_free_text_names_and_unknown_columns_are_suppressed_with_reasons():
    n = 60
    frame = pd.DataFrame({
        "cust": [f"C{i}" for i in range(n)],
        "given": ["Ann"] * n,
        "street": ["1 Main St"] * n,
        "notes": ["called on monday, wants a refund for the blue kettle"] * n,  # short list, long text
        "tier": ["gold", "silver"] * (n // 2),
        "spend": [float(i % 7) * 10.5 for i in range(n)],
        "code": [f"X{i:04d}" for i in range(n)],  # a different value in every record
        "mystery": ["a"] * n,  # not in the schema
    })
    roles = {**ROLES, "code": Role.OTHER}
    schema = Schema(tuple(Field(c, roles[c], False) for c in frame.columns if c != "mystery"), key="cust")
    result = anonymize_frame(frame, schema, key=KEY)
    out, report = result.frame, result.report
    for col in ("given", "street", "notes", "code", "mystery"):
        assert out[col].isna().all(), col
    assert out["tier"].tolist() == frame["tier"].tolist()
    assert out["spend"].tolist() == frame["spend"].tolist()
    assert list(out.columns) == list(frame.columns) and out.index.equals(frame.index)
    done = {c.column: (c.action, c.reason) for c in report.columns}
    assert done["notes"][0] == "suppressed" and "free text" in done["notes"][1]
    assert done["mystery"] == ("suppressed", "not in the schema: unknown is not safe")
    assert done["code"][0] == "suppressed" and "identifier" in done["code"][1]
    assert done["given"][0] == "suppressed" and "name" in done["given"][1]
    assert done["tier"][0] == "kept" and done["spend"][0] == "kept"
    assert done["cust"][0] == "hashed"


def test_free_text_is_found_by_values_whatever_the_column_is_called():
    frame = pd.DataFrame({"x1": ["Please call me back after six about my order", "Moved to Leeds, new address "
                                 "to follow by letter", None]})
    out = anonymize_frame(frame, schema_of(frame, {"x1": Role.OTHER}), key=KEY)
    assert out.frame["x1"].isna().all()
    assert out.report.columns[0].action == "suppressed"


def test_hash_names_hashes_names_and_addresses_instead():
    frame = pd.DataFrame({"given": ["Ann", " ANN ", None], "street": ["1 Main Street", "1 main st", "2 Elm"]})
    out = anonymize_frame(frame, schema_of(frame, ROLES), key=KEY, hash_names=True).frame
    assert out["given"].iloc[0] == out["given"].iloc[1] and HEX.match(out["given"].iloc[0])
    assert out["given"].iloc[2] is None
    assert out["street"].iloc[0] == out["street"].iloc[1] != out["street"].iloc[2]


def test_organization_names_and_websites_are_kept_for_organizations_not_for_people():
    orgs = pd.DataFrame({"company": ["Acme GmbH", "Blue Cafe"], "web": ["acme.de", "bluecafe.com"],
                         "vat": ["DE 123 456 789", None]})
    out = anonymize_frame(orgs, schema_of(orgs, ROLES), key=KEY)
    assert out.frame["company"].tolist() == ["Acme GmbH", "Blue Cafe"]
    assert out.frame["web"].tolist() == ["acme.de", "bluecafe.com"]
    assert HEX.match(out.frame["vat"].iloc[0]) and out.frame["vat"].iloc[1] is None
    staff = orgs.assign(given=["Ann", "Bob"])
    out = anonymize_frame(staff, schema_of(staff, ROLES), key=KEY)
    assert out.frame["company"].isna().all() and out.frame["web"].isna().all()
    assert "people" in {c.column: c.reason for c in out.report.columns}["company"]


# --------------------------------------------------------------------------
# the re-identification report


def test_k_anonymity_matches_a_hand_computed_example():
    frame = pd.DataFrame({
        "year": [1980, 1980, 1980, 1980, 1980, 1990, 1990, 1990, 2000, None],
        "area": ["A", "A", "A", "A", "A", "B", "B", "B", "A", "A"],
    })
    # classes: (1980, A) x5, (1990, B) x3, (2000, A) x1, (missing, A) x1
    r = k_anonymity(frame, ["year", "area"], k=5)
    assert (r.records, r.classes, r.k) == (10, 4, 1)
    assert (r.records_at_risk, r.classes_at_risk, r.unique_records) == (5, 3, 2)
    assert r.share_at_risk == pytest.approx(0.5)
    assert r.average_risk == pytest.approx(0.4)  # 4 classes / 10 records
    assert [c["size"] for c in r.smallest_classes] == [1, 1, 3]
    assert {"year": 1990, "area": "B", "size": 3} in r.smallest_classes
    assert not r.passes
    r3 = k_anonymity(frame, ["year", "area"], k=3)
    assert (r3.records_at_risk, r3.classes_at_risk) == (2, 2)
    assert k_anonymity(frame, ["area"], k=2).passes  # A x7, B x3
    assert k_anonymity(frame, [], k=5).k == 10  # no quasi-identifier: one class
    assert k_anonymity(frame.iloc[:0], ["year"]).k is None
    with pytest.raises(WorkbenchError, match="k must be"):
        k_anonymity(frame, ["year"], k=0)


def test_the_report_measures_the_generalized_quasi_identifiers():
    frame = pd.DataFrame({
        "born": ["1980-01-01", "1980-12-31", "12/31/1980", "1990-05-05"],
        "zip": ["02134", "02139-1111", "02101", "90210"],
        "city": ["Boston", "BOSTON ", "boston", "Beverly Hills"],
        "mail": ["a@x.com", "b@x.com", "c@x.com", "d@x.com"],
    })
    r = anonymize_frame(frame, schema_of(frame, {**ROLES, "born": Role.DATE_OF_BIRTH, "zip": Role.POSTCODE,
                                                 "mail": Role.EMAIL}), key=KEY, k=3).report
    assert r.quasi_identifiers == ("born", "zip", "city")
    # generalized, the first three are one person-class of 3 (1980, 021, boston); the last is alone
    assert (r.classes, r.k, r.records_at_risk, r.unique_records) == (2, 1, 1, 1)
    assert r.smallest_classes == [{"born": 1990, "zip": "902", "city": "beverly hills", "size": 1}]
    d = r.to_dict()
    assert json.loads(json.dumps(d))["k"] == 1
    assert {c["column"]: c["action"] for c in d["columns"]} == {"born": "generalized", "zip": "generalized",
                                                                "city": "kept", "mail": "hashed"}
    assert "k = 1" in r.to_text() and "hashed: mail" in r.to_text()


def test_report_html_escapes_values_and_quasi_identifiers_are_checked():
    hostile = "<script>alert(1)</script>"
    frame = pd.DataFrame({hostile: ["Tulsa", "Reno"], "mail": ["a@x.com", "b@x.com"]})
    schema = schema_of(frame, {hostile: Role.CITY, "mail": Role.EMAIL})
    page = anonymize_frame(frame, schema, key=KEY).report.to_html()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<td>tulsa</td>" in page  # the classes at risk, listed
    frame = frame.rename(columns={hostile: "city"})
    schema = schema_of(frame, {"city": Role.OTHER, "mail": Role.EMAIL})
    with pytest.raises(WorkbenchError, match="'nope' is not a column"):
        anonymize_frame(frame, schema, key=KEY, quasi=["nope"])
    with pytest.raises(WorkbenchError, match="'mail' is hashed"):
        anonymize_frame(frame, schema, key=KEY, quasi=["mail"])


# --------------------------------------------------------------------------
# exports


def _written_text(folder: Path) -> str:
    return "\n".join(p.read_text("utf-8", errors="replace") if p.suffix != ".parquet"
                     else pd.read_parquet(p).to_csv(index=False) for p in sorted(folder.rglob("*")) if p.is_file())


def _written_cells(folder: Path) -> set[str]:
    """Every cell of every table written (CSV and Parquet), lower-cased and trimmed."""
    cells: set[str] = set()
    for p in folder.rglob("*"):
        if p.suffix in (".csv", ".parquet"):
            frame = pd.read_csv(p, dtype=str) if p.suffix == ".csv" else pd.read_parquet(p).astype(str)
            for col in frame.columns:
                cells.update(frame[col].dropna().str.strip().str.lower())
    return cells


def test_export_of_records_golden_and_crosswalk_leaks_nothing_and_joins(deduped_copy, tmp_path):
    from workbench.golden.build import golden_from_workspace

    ws = Workspace(deduped_copy, user="tester")
    ds = ws.dataset("customers")
    golden = golden_from_workspace(ws, "customers")
    out = tmp_path / "anon"
    paths = export_anonymized(ws, "customers", out, key=KEY, formats=("csv", "parquet"), golden=golden)
    assert set(paths) == {f"{t}.{f}" for t in ("records", "golden", "crosswalk") for f in ("csv", "parquet")} \
        | {"report.json"}
    assert verify_manifest(out) == [] and read_manifest(out)["source"]["kind"] == "anonymized"

    records = pd.read_parquet(out / "records.parquet")
    gold = pd.read_csv(out / "golden.csv", dtype=str)
    cross = pd.read_csv(out / "crosswalk.csv", dtype=str)
    assert len(records) == ds.rows_kept and len(gold) == len(golden.golden) and len(cross) == len(golden.crosswalk)
    assert set(cross["record_key"]) <= set(records[ds.key])  # the files join on the hashed keys
    assert set(cross["golden_id"]) == set(gold["golden_id"])
    schema = ds.schema
    email, phone = schema.column_for(Role.EMAIL), schema.column_for(Role.PHONE)
    assert set(gold[email].dropna()) <= set(records[email].dropna())  # golden emails hash as the records'
    assert set(gold[phone].dropna()) <= set(records[phone].dropna())

    cells = _written_cells(out)
    text = _written_text(out).lower()  # every file, the report and manifest included
    assert "@" not in text  # no address anywhere, not even inside a cell
    raw = ds.frame
    first, last = schema.column_for(Role.FIRST_NAME), schema.column_for(Role.LAST_NAME)
    street = schema.column_for(Role.STREET)

    def values(col: str) -> set[str]:
        return set(raw[col].dropna().astype(str).str.strip().str.lower()) - {""}

    phones = values(phone) | set(e164_forms(raw[phone]))
    names = set((raw[first].fillna("") + " " + raw[last].fillna("")).str.strip().str.lower())
    places = values(schema.column_for(Role.CITY)) | values(schema.column_for(Role.STATE))  # Austin, Washington
    for what, raw_values in [("phone", phones), ("name", names | (values(first) | values(last)) - places),
                             ("street", values(street))]:
        leaked = sorted(raw_values & cells)
        assert leaked == [], (what, leaked[:5])
    assert KEY.lower() not in text and "lineage" not in " ".join(paths)

    report = json.loads((out / "report.json").read_text("utf-8"))
    assert report["tables"]["records"]["records"] == ds.rows_kept
    assert report["tables"]["golden"]["k"] >= 1 and "crosswalk" in report["tables"]
    entry = ws.audit_log().iloc[-1]
    assert entry["action"] == "export:anonymized" and entry["target"] == str(out)
    details = json.loads(entry["details_json"])
    assert KEY not in entry["details_json"] and KEY.encode().hex() not in entry["details_json"]
    assert email in details["columns"]["hashed"] and first in details["columns"]["suppressed"]
    assert details["rows"] == {"records": len(records), "golden": len(gold), "crosswalk": len(cross)}


def test_one_file_export_roles_and_bad_targets(workspace_copy, tmp_path):
    ws = Workspace(workspace_copy, user="tester")
    target = tmp_path / "out" / "customers.csv"
    paths = export_anonymized(ws, "customers", target, key=KEY)
    assert set(paths) == {"customers.csv", "customers.csv.report.json"}
    assert (target.parent / "customers.csv.manifest.json").exists()
    assert len(pd.read_csv(target)) == ws.dataset("customers").rows_kept
    with pytest.raises(WorkbenchError, match="format 'xlsx'"):
        export_anonymized(ws, "customers", tmp_path / "f", key=KEY, formats=("xlsx",))
    with pytest.raises(WorkbenchError, match="too short"):
        export_anonymized(ws, "customers", tmp_path / "g", key="short")
    assert not (tmp_path / "g").exists()
    viewer = Workspace(workspace_copy, user="somebody")  # unknown users are viewers
    with pytest.raises(AccessDenied, match="analyst"):
        export_anonymized(viewer, "customers", tmp_path / "h", key=KEY)
    assert not (tmp_path / "h").exists()


# --------------------------------------------------------------------------
# command line


def e164_forms(phones: pd.Series) -> list[str]:
    """The phones as E.164 (what a careless export would write): none may appear either."""
    from workbench.standardize import standardize_phone

    return [p.lower() for p in standardize_phone(phones, "US").dropna()]


def run_cli(argv: list[str]) -> int:
    from workbench import cli

    return cli.main(argv)


def test_cli_anonymize_with_a_key_file(deduped_copy, tmp_path, capsys, monkeypatch):
    key_file = tmp_path / "pseudonym.key"
    key_file.write_text(KEY + "\n")
    out = tmp_path / "anon"
    code = run_cli(["anonymize", "customers", "--workspace", str(deduped_copy), "--user", "tester",
                    "--key-file", str(key_file), "--out", str(out), "--k", "3", "--golden"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "5,000 records anonymized" in printed and "classes smaller than 3" in printed
    assert {"records.csv", "golden.csv", "crosswalk.csv", "report.json", "manifest.json"} <= \
        {p.name for p in out.iterdir()}
    assert KEY not in printed and KEY not in _written_text(out)
    assert json.loads((out / "report.json").read_text())["tables"]["records"]["threshold"] == 3

    monkeypatch.delenv(ENV_KEY, raising=False)
    code = run_cli(["anonymize", "customers", "--workspace", str(deduped_copy), "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and "no pseudonymization key" in err and "Traceback" not in err
    key_file.write_text("tiny")
    code = run_cli(["anonymize", "customers", "--workspace", str(deduped_copy), "--key-file", str(key_file),
                    "--out", str(tmp_path / "y")])
    err = capsys.readouterr().err
    assert code == 2 and "too short" in err and "tiny" not in err
    monkeypatch.setenv(ENV_KEY, KEY)
    code = run_cli(["anonymize", "customers", "--workspace", str(deduped_copy), "--user", "tester",
                    "--out", str(tmp_path / "z.parquet")])
    assert code == 0 and (tmp_path / "z.parquet").exists()
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_sample_schema_roles_drive_the_plan(samples_dir):
    """On the sample, inferred roles (not column names) decide: a smoke check of the whole plan."""
    frame = pd.read_csv(samples_dir / "customers.csv", dtype=str, nrows=300)
    schema = infer_schema(frame, key="customer_id")
    done = {c.column: c.action for c in anonymize_frame(frame, schema, key=KEY).report.columns}
    for role, action in [(Role.EMAIL, "hashed"), (Role.PHONE, "hashed"), (Role.FIRST_NAME, "suppressed"),
                         (Role.STREET, "suppressed"), (Role.DATE_OF_BIRTH, "generalized"),
                         (Role.POSTCODE, "generalized"), (Role.CITY, "kept")]:
        assert done[schema.column_for(role)] == action, role


def test_an_empty_table_and_bad_arguments_give_clear_answers():
    frame = people().iloc[:0]
    result = anonymize_frame(frame, schema_of(frame, ROLES, key="cust"), key=KEY)
    assert result.frame.empty and list(result.frame.columns) == list(frame.columns)
    assert result.report.k is None and result.report.records == 0 and "0 records" in result.report.to_text()
    with pytest.raises(WorkbenchError, match="expected a DataFrame"):
        anonymize_frame([1, 2], schema_of(frame, ROLES), key=KEY)
    with pytest.raises(WorkbenchError, match="key column 'nope'"):
        anonymize_frame(people(), schema_of(people(), ROLES), key=KEY, key_column="nope")
    with pytest.raises(WorkbenchError, match="unknown region 'XX'"):
        anonymize_frame(people(), schema_of(people(), ROLES), key=KEY, region="XX")
