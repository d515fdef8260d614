"""Provenance: set when loading (argument, YAML, CLI), edited with an audit entry, used by fitness,
the assessment report and golden-record lineage."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pandas as pd
import pytest

from workbench import WorkbenchError, Workspace, consent
from workbench.assess import assess
from workbench.assess.report import report_html
from workbench.cli import main
from workbench.golden.build import golden_from_workspace
from workbench.provenance import Provenance, fitness_limits, party_of_records

PEOPLE = ("id,first_name,last_name,email,consent_email,consent_date,source\n"
          "1,Ann,Lee,ann@example.com,Y,2026-01-02,web_form\n"
          "2,Bob,Ray,bob@example.com,Y,,listco\n"
          "3,Cy,Orr,cy@example.com,N,2026-01-03,listco\n"
          "4,Di,Fox,di@example.com,Y,2026-02-01,listco\n")


@pytest.fixture
def people(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(PEOPLE, encoding="utf-8")
    return path


def test_provenance_given_when_loading_is_stored_and_read_back(tmp_path, people):
    ws = Workspace(tmp_path / "ws", user="ann")
    ds = ws.load(people, key="id", provenance={"party": "3rd", "source_system": "ListCo",
                                               "acquired_on": "2026-11-02", "purposes": ["postal_mailing"]})
    again = Workspace(tmp_path / "ws", user="ann").dataset("people")
    assert again.provenance == ds.provenance
    assert again.provenance.party == "third" and again.provenance.acquired_on == dt.date(2026, 11, 2)
    assert again.provenance.permits("postal_mailing") and again.provenance.permits("email_marketing") is False
    assert json.loads(ws.audit_log().iloc[-1]["details_json"])["provenance"]["source_system"] == "ListCo"


def test_provenance_from_the_schema_yaml_and_its_errors(tmp_path, people):
    good = tmp_path / "schema.yaml"
    good.write_text("fields:\n  id: id\nprovenance:\n  party: second\n  licence: partner agreement 7\n")
    ws = Workspace(tmp_path / "ws")
    assert ws.load(people, key="id", schema=good).provenance.licence == "partner agreement 7"
    bad = tmp_path / "bad.yaml"
    bad.write_text("fields:\n  id: id\nprovenance:\n  party: fourth\n")
    with pytest.raises(WorkbenchError, match=r"bad.yaml, line 4.*'fourth' is not a party type"):
        ws.load(people, key="id", schema=bad)
    with pytest.raises(WorkbenchError, match="unknown provenance field 'owner'"):
        ws.load(people, key="id", provenance={"owner": "me"})
    with pytest.raises(WorkbenchError, match="not a date"):
        ws.load(people, key="id", provenance={"acquired_on": "last Tuesday"})
    assert len(ws.datasets()) == 1  # the refused loads registered nothing


def test_changing_provenance_is_audited_with_before_and_after(tmp_path, people):
    ws = Workspace(tmp_path / "ws", user="ann")  # the first user: admin
    ds = ws.load(people, key="id")
    assert not ds.provenance.known
    ws.set_provenance(ds, party="first", source_system="CRM")
    entry = ws.audit_log().iloc[-1]
    assert entry["action"] == "set_provenance"
    details = json.loads(entry["details_json"])
    assert details["before"]["party"] is None and details["after"]["party"] == "first"
    assert ws.dataset("people").provenance.source_system == "CRM"
    viewer = Workspace(tmp_path / "ws", user="someone")
    with pytest.raises(WorkbenchError, match="needs the steward role"):
        viewer.set_provenance("people", party="zero")
    assert ws.dataset("people").provenance.party == "first"


def test_third_party_records_need_consent_evidence_for_email_marketing():
    frame = pd.DataFrame({"source": ["web_form", "listco", "listco", "listco"]})
    fit = pd.DataFrame({"email_marketing": [True, True, True, True], "postal_mailing": [True] * 4})
    origin = Provenance(party="first", by_source={"listco": "third"})
    evidence = pd.Series([False, False, True, False])
    limited, why = fitness_limits(fit, frame, origin, source_column="source", consent_evidence=evidence)
    # the first-party record keeps its fitness; third-party ones only with evidence
    assert limited["email_marketing"].tolist() == [True, False, True, False]
    assert limited["postal_mailing"].all() and "postal_mailing" not in why
    assert "2 otherwise fit rows" in why["email_marketing"]
    assert party_of_records(frame, origin, "source").tolist() == ["first", "third", "third", "third"]


def test_purposes_outside_the_licence_are_fit_on_no_row():
    fit = pd.DataFrame({"email_marketing": [True, False], "analytics": [True, True]})
    limited, why = fitness_limits(fit, pd.DataFrame(index=range(2)), Provenance(purposes=("analytics",)),
                                  source_column=None, consent_evidence=None)
    assert not limited["email_marketing"].any() and limited["analytics"].all()
    assert "not among the permitted purposes (analytics)" in why["email_marketing"]


def test_assessment_and_its_report_state_provenance_and_what_it_limits(tmp_path, people):
    ws = Workspace(tmp_path / "ws", user="ann")
    ds = ws.load(people, key="id", provenance={"party": "third", "licence": "<b>ListCo</b> terms",
                                               "purposes": ["email_marketing", "identity_resolution"]})
    before = assess(ws, ws.load(people, key="id", name="untagged"))
    after = assess(ws, ds)
    # rows 1, 3 and 4 record their consent consistently (row 2 gives it without a date)...
    assert before.fitness["email_marketing"] == 75.0
    # ...but third-party records need evidence of a granted, dated consent: row 3 said no
    assert after.fitness["email_marketing"] == 50.0
    assert "email_marketing" in after.result["provenance"]["limits"]
    assert after.result["provenance"]["party"] == "third"
    html = report_html(after)
    assert "Provenance" in html and "Third-party data" in html
    assert "&lt;b&gt;ListCo&lt;/b&gt; terms" in html and "<b>ListCo</b>" not in html


def test_golden_lineage_shows_the_party_behind_each_value(deduped_copy):
    ws = Workspace(deduped_copy, user="tester")
    ds = ws.dataset("customers")
    ws.set_provenance(ds, party="first", acquired_on="2026-10-01", by_source={"partner": "second"})
    result = golden_from_workspace(ws, "customers")
    frame = ds.frame.set_index("customer_id")
    lineage = result.lineage
    assert {"party", "acquired_on"} <= set(lineage.columns)
    expected = frame.loc[lineage["record_key"], "source"].map(lambda s: "second" if s == "partner" else "first")
    assert lineage["party"].tolist() == expected.tolist()
    assert (lineage["acquired_on"] == "2026-10-01").all()
    assert set(result.crosswalk["party"]) <= {"first", "second"}


def test_cli_load_with_provenance_and_the_provenance_command(tmp_path, people, capsys):
    ws = str(tmp_path / "ws")
    assert main(["load", str(people), "--key", "id", "--workspace", ws, "--party", "third",
                 "--acquired-on", "2026-11-02", "--purpose", "postal_mailing"]) == 0
    assert main(["provenance", "people", "--workspace", ws]) == 0
    out = capsys.readouterr().out
    assert "Third-party data" in out and "Acquired on 2026-11-02" in out and "postal_mailing" in out
    assert main(["provenance", "people", "--workspace", ws, "--licence", "ListCo 2026"]) == 0
    assert "Licence: ListCo 2026" in capsys.readouterr().out
    assert main(["provenance", "people", "--workspace", ws, "--party", "fourth"]) == 2
    assert "'fourth' is not a party type" in capsys.readouterr().err
    assert main(["assess", "people", "--workspace", ws]) == 0
    out = capsys.readouterr().out
    assert "provenance: third-party" in out
    assert "email_marketing limited: not among the permitted purposes (postal_mailing; licence: ListCo 2026)" in out


def test_workspaces_from_before_provenance_read_as_unknown(tmp_path, people):
    shutil.copy(people, tmp_path / "p.csv")
    ws = Workspace(tmp_path / "ws")
    ds = ws.load(tmp_path / "p.csv", key="id")
    assert ds.provenance == Provenance() and not ds.provenance.known
    assert "Party type not recorded" in ds.provenance.describe()[0]


def test_stated_preferences_win_over_inferred_ones_in_golden_records():
    from workbench.golden.build import build_golden
    from workbench.golden.rules import SurvivorshipRules
    from workbench.schema import infer_schema

    frame = pd.DataFrame({"id": ["1", "2", "3", "4"], "source": ["crm", "crm", "preference_centre", "crm"],
                          "preferred_channel": ["email", "email", "post", "sms"]})
    clusters = pd.DataFrame({"key": ["1", "2", "3", "4"], "cluster_id": ["1", "1", "1", "4"]})
    rules = SurvivorshipRules.defaults(infer_schema(frame, key="id"))
    origin = Provenance(party="first", by_source={"preference_centre": "zero"})
    stated = build_golden(frame, clusters, rules, key="id", source="source",
                          party=party_of_records(frame, origin, "source"))
    assert stated.golden.set_index("golden_id").loc["1", "preferred_channel"] == "post"
    row = stated.lineage[(stated.lineage["golden_id"] == "1") & (stated.lineage["field"] == "preferred_channel")]
    assert row["rule"].astype(str).tolist() == ["party_priority"]
    # without provenance the rule has no opinion: the members' majority wins
    plain = build_golden(frame, clusters, rules, key="id", source="source")
    assert plain.golden.set_index("golden_id").loc["1", "preferred_channel"] == "email"


def test_dataset_listing_and_overview_page_show_provenance(tmp_path, people):
    from workbench.dashboards import overview

    ws = Workspace(tmp_path / "ws", user="ann")
    ws.load(people, key="id", provenance={"party": "second", "source_system": "<script>x</script>"})
    ws.load(people, key="id", name="plain")
    assert ws.datasets().set_index("name")["party"].to_dict() == {"people": "second", "plain": None}
    page = " ".join(p for p in overview.build(ws) if isinstance(p, str))
    assert "Second-party data" in page and "Party type not recorded" in page
    assert "<script>x" not in page and "&lt;script&gt;x" in page


def test_golden_records_export_consent_and_third_parties_never_grant(deduped_copy, tmp_path):
    ws = Workspace(deduped_copy, user="tester")
    ws.set_provenance("customers", party="first", by_source={"pos": "third"})
    result = golden_from_workspace(ws, "customers")
    agreed = result.extras["consent"]
    assert {"golden_id", "channel", "status", "rule", "conflict"} <= set(agreed.columns)
    assert not ((agreed["party"] == "third") & (agreed["status"] == "granted")).any()
    assert (agreed["party"] == "first").any()
    # each statement carries its record's party by the provenance: point of sale is third-party here
    statements = consent.of_dataset(ws.dataset("customers")).table
    assert set(statements.loc[statements["source"] == "pos", "party"]) == {"third"}
    paths = result.export(tmp_path / "out", formats=("csv",))
    assert len(pd.read_csv(paths["consent.csv"])) == len(agreed)


def test_golden_consent_columns_follow_the_consent_rules_not_recency_alone(tmp_path):
    """A dated opt-in and an undated opt-out in one cluster: the golden record says no, like consent.csv."""
    src = tmp_path / "c.csv"
    src.write_text("id,first_name,email,consent_email,consent_date,signup_date\n"
                   "1,Ann,ann@example.com,Y,2026-01-05,2020-01-01\n"
                   "2,Ann,ann@example.com,N,,2021-01-01\n"
                   "3,Bob,bob@example.com,Y,2026-02-01,2020-01-01\n", encoding="utf-8")
    ws = Workspace(tmp_path / "ws", user="ann")
    ws.load(src, key="id")
    clusters = pd.DataFrame({"key": ["1", "2", "3"], "cluster_id": ["1", "1", "3"]})
    result = golden_from_workspace(ws, "c", clusters=clusters)
    agreed = result.extras["consent"].set_index("golden_id")
    assert agreed.loc["1", "status"] == "denied" and agreed.loc["1", "rule"] == "opt_out_undated"
    golden = result.golden.set_index("golden_id")
    assert golden.loc["1", "consent_email"] == "N" and pd.isna(golden.loc["1", "consent_date"])
    assert golden.loc["3", "consent_email"] == "Y" and golden.loc["3", "consent_date"] == "2026-02-01"
    why = result.explain("1").set_index("field")
    assert why.loc["consent_email", "record_key"] == "2" and why.loc["consent_email", "rule"] == "consent"
    assert "consent_date" not in why.index  # the winning statement has no date: none is claimed
    assert len(result.lineage) == len(result.lineage.drop_duplicates(["golden_id", "field"]))
