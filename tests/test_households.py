"""Households and organization groups: links, guards, stable ids, the workspace run, the dashboard."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest

from workbench import Workspace
from workbench.errors import WorkbenchError
from workbench.households import (
    group_households,
    household_of,
    households_from_workspace,
    with_households,
)
from workbench.schema import infer_schema

PEOPLE = pd.DataFrame([
    # id, first, last, email, phone, street, postcode, city
    ("P1", "Ann", "Baird", "ann.baird@gmail.com", "(212) 555-0101", "12 Oak Street", "10001", "New York"),
    ("P2", "Tom", "Baird", "tom@yahoo.com", "", "12 Oak St.", "10001", "New York"),          # address with P1
    ("P3", "Liz", "Cole", "liz@aol.com", "212-555-0199", "", "", ""),                       # phone with P4
    ("P4", "Max", "Cole", "max@aol.com", "+1 212 555 0199", "", "", ""),
    ("P5", "Sue", "Dunn", "The.Dunns@gmail.com", "", "", "", ""),                             # inbox with P6
    ("P6", "Bob", "Dunn", "thedunns+shop@gmail.com", "", "", "", ""),
    ("P7", "Eve", "Frey", "eve@aol.com", "", "40 Elm Rd Apt 3", "94110", "San Francisco"),  # flats of one
    ("P8", "Dan", "Gray", "dan@aol.com", "", "40 Elm Road #4", "94110", "San Francisco"),    # building
    ("P9", "Ann", "Baird", "ann.baird@gmail.com", "", "12 Oak St", "10001", "New York"),    # P1's duplicate
], columns=["customer_id", "first_name", "last_name", "email", "phone", "street", "postcode", "city"])


def _group(frame: pd.DataFrame, clusters: pd.DataFrame | None = None, **options):
    return group_households(frame, infer_schema(frame, key="customer_id"), clusters, key="customer_id", **options)


def _clusters(frame: pd.DataFrame, merged: dict[str, str] | None = None) -> pd.DataFrame:
    ids = frame["customer_id"].map(lambda k: (merged or {}).get(k, k))
    return pd.DataFrame({"key": frame["customer_id"], "cluster_id": ids})


def _hh(result) -> dict[str, str]:
    return dict(zip(result.members["record_key"], result.members["household_id"], strict=True))


def test_each_link_type_groups_people_and_units_stay_apart():
    r = _group(PEOPLE, _clusters(PEOPLE, {"P9": "P1"}))
    h = _hh(r)
    assert h["P1"] == h["P2"] == h["P9"]  # shared address (street abbreviations read alike), P9 is P1 again
    assert h["P3"] == h["P4"]  # one phone written two ways
    assert h["P5"] == h["P6"]  # one inbox (case, +tag)
    assert h["P7"] != h["P8"]  # apartments 3 and 4 of one building are two households
    assert len({h["P1"], h["P3"], h["P5"], h["P7"], h["P8"]}) == 5
    m = r.members.set_index("record_key")
    assert m.loc["P1", "household_size"] == 2  # clusters, not records: P1 and P9 are one person
    assert m.loc["P2", "reasons"] == "address" and m.loc["P3", "reasons"] == "phone"
    assert m.loc["P5", "reasons"] == "email" and m.loc["P7", "reasons"] == ""
    assert set(m["kind"]) == {"person"} and r.stats["multi_households"] == 3
    assert r.sizes().set_index("size")["households"].to_dict() == {1: 2, 2: 3}


def test_only_the_chosen_links_join_and_the_baseline_is_address_only():
    h = _hh(_group(PEOPLE, person_links=("address",)))
    assert h["P1"] == h["P2"] and h["P3"] != h["P4"] and h["P5"] != h["P6"]
    with pytest.raises(WorkbenchError, match="unknown person_links 'surname'"):
        _group(PEOPLE, person_links=("surname",))


def test_a_shared_phone_between_two_cities_does_not_link():
    frame = pd.DataFrame({"customer_id": ["A", "B", "C"], "first_name": ["Al", "Bo", "Cy"],
                          "phone": ["212-555-0142"] * 3, "city": ["Boston", "Denver", "Boston"]})
    h = _hh(_group(frame))
    assert h["A"] == h["C"] != h["B"]


def test_a_value_shared_by_too_many_customers_links_nobody_and_is_reported():
    n = 12
    frame = pd.DataFrame({
        "customer_id": [f"K{i:02d}" for i in range(n)] + ["X1", "X2"],
        "first_name": [f"Name{i}" for i in range(n)] + ["Xa", "Xb"],
        "last_name": ["Home"] * n + ["Lee", "Lee"],
        "phone": ["+1 800 555 0100"] * n + ["+1 303 555 0111", "+1 303 555 0111"],  # a call centre, a family
    })
    r = _group(frame, max_people=10)
    h = _hh(r)
    assert len({h[f"K{i:02d}"] for i in range(n)}) == n and h["X1"] == h["X2"]
    assert r.skipped[["link", "kind", "value", "clusters"]].values.tolist() == [["phone", "person", "+18005550100", n]]
    assert r.stats["skipped_values"] == 1 and r.stats["skipped_by_link"] == {"phone": 1}
    linked = _hh(_group(frame, max_people=12))  # the bound is the user's to move
    assert len({linked[f"K{i:02d}"] for i in range(n)}) == 1
    with pytest.raises(WorkbenchError, match="max_people must be a whole number"):
        _group(frame, max_people=1)


ORGS = pd.DataFrame([
    # id, company, vat, website, email
    ("O1", "Acme GmbH", "DE 123 456 789", "https://www.acme.de/berlin", "info@acme.de"),
    ("O2", "ACME Gesellschaft mit beschränkter Haftung", "", "", ""),   # core name only
    ("O3", "Acme Hamburg", "DE123456789", "", ""),                          # same VAT
    ("O4", "Acme Logistics", "", "", "k.lang@acme.de"),                     # web domain from e-mail
    ("O5", "Blue Cafe Ltd", "", "", "bluecafe@gmail.com"),                  # free mail links nothing
    ("O6", "Red Cafe LLC", "", "", "redcafe@gmail.com"),
    ("P1", None, None, None, "jo@example.org"),                             # a person: not in any org group
], columns=["customer_id", "company", "vat_number", "website", "email"])


def test_organizations_with_branches_group_under_one_parent():
    frame = ORGS.assign(first_name=[None] * 6 + ["Jo"], last_name=[None] * 6 + ["Ames"])
    r = _group(frame)
    h = _hh(r)
    m = r.members.set_index("record_key")
    assert h["O1"] == h["O2"] == h["O3"] == h["O4"] and h["O1"].startswith("O-")
    assert len({h["O1"], h["O5"], h["O6"], h["P1"]}) == 4
    assert m.loc["P1", "kind"] == "person" and h["P1"].startswith("H-")
    assert set(m.loc[["O1", "O5"], "kind"]) == {"organization"}
    assert set(m.loc["O1", "reasons"].split("; ")) == {"registration_id", "website", "email_domain", "name"}
    assert m.loc["O3", "reasons"] == "registration_id" and m.loc["O4", "reasons"] == "email_domain"
    assert r.stats["multi_organization_groups"] == 1 and r.stats["organizations"] == 6
    without_names = _hh(_group(frame, organization_links=("registration_id", "website", "email_domain")))
    assert without_names["O2"] != without_names["O1"] == without_names["O3"]


def test_a_full_name_with_a_legal_form_is_an_organization():
    frame = pd.DataFrame({"customer_id": ["A", "B", "C"], "name": ["Acme Ltd", "Acme Limited", "Jo Ames"]})
    m = _group(frame).members.set_index("record_key")
    assert m.loc["A", "kind"] == m.loc["B", "kind"] == "organization" and m.loc["C", "kind"] == "person"
    assert m.loc["A", "household_id"] == m.loc["B", "household_id"]


def test_ids_are_stable_across_runs_and_membership_changes():
    first = _group(PEOPLE)
    again = _group(PEOPLE.iloc[::-1])  # same members, other order, no history: same ids
    assert _hh(first) == _hh(again)
    h = _hh(first)

    grown = pd.concat([PEOPLE, pd.DataFrame([{"customer_id": "P10", "first_name": "Kid", "last_name": "Baird",
                                              "street": "12 Oak St", "postcode": "10001", "city": "New York"}])],
                      ignore_index=True).fillna("")
    after = _hh(_group(grown, previous=first.members))
    assert after["P10"] == after["P1"] == h["P1"]  # a member added: the household keeps its id
    assert {k: after[k] for k in h} == h

    shrunk = PEOPLE[PEOPLE["customer_id"] != "P1"]  # P1 gone: P2 and P9 still share the address
    later = _group(shrunk, previous=first.members)
    assert _hh(later)["P2"] == h["P2"] and later.stats["ids_kept"] == later.stats["households"]

    split = PEOPLE.assign(street=PEOPLE["street"].where(PEOPLE["customer_id"] != "P2", "99 Pine St"))
    parted = _group(split, previous=first.members)
    p = _hh(parted)
    assert p["P1"] == h["P1"] and p["P2"] != h["P1"]  # the larger part keeps the id, P2 gets a new one
    assert p["P2"] not in set(h.values()) and parted.stats["ids_new"] == 1
    assert parted.stats["ids_retired"] == 0


def test_bad_input_is_a_clear_error():
    with pytest.raises(WorkbenchError, match="names 2 records"):
        _group(pd.concat([PEOPLE, PEOPLE.head(1)]))
    with pytest.raises(WorkbenchError, match="not in the data"):
        _group(PEOPLE, pd.DataFrame({"key": ["nope"], "cluster_id": ["x"]}))
    with pytest.raises(WorkbenchError, match="columns 'key' and 'cluster_id'"):
        _group(PEOPLE, pd.DataFrame({"id": ["P1"]}))
    with pytest.raises(WorkbenchError, match="key column"):
        group_households(PEOPLE, infer_schema(PEOPLE), key="missing")


def test_household_of_names_the_other_clusters():
    r = _group(PEOPLE, _clusters(PEOPLE, {"P9": "P1"}))
    got = household_of(r, ["P2"])
    assert got["size"].tolist() == [2] and got["other_clusters"].tolist() == [["P1"]]
    assert got["reasons"].tolist() == ["address"] and got["keys"].tolist() == [["P2"]]
    assert household_of(r, ["nope"]).empty


def test_golden_records_are_exported_with_their_household(tmp_path):
    from workbench.golden import GoldenResult

    r = _group(PEOPLE, _clusters(PEOPLE, {"P9": "P1"}))
    cross = pd.DataFrame({"record_key": PEOPLE["customer_id"], "golden_id": PEOPLE["customer_id"].replace("P9", "P1"),
                          "source": None})
    golden = pd.DataFrame({"golden_id": sorted(set(cross["golden_id"])) + ["P99"]})
    lineage = pd.DataFrame(columns=["golden_id", "field", "value", "record_key", "source", "rule"])
    g = with_households(GoldenResult(golden, lineage, cross, rules=None), r)
    h = _hh(r)
    by_id = g.golden.set_index("golden_id")
    assert by_id.loc["P1", "household_id"] == by_id.loc["P2", "household_id"] == h["P1"]
    assert by_id.loc["P1", "household_size"] == 2 and by_id.loc["P1", "household_kind"] == "person"
    assert pd.isna(by_id.loc["P99", "household_id"]) and g.stats["golden_without_household"] == 1
    assert g.crosswalk.set_index("record_key").loc["P9", "household_id"] == h["P1"]
    paths = g.export(tmp_path / "golden", formats=("csv",))
    assert "household_id" in pd.read_csv(paths["golden.csv"]).columns
    with pytest.raises(WorkbenchError, match="already have a column 'household_id'"):
        with_households(g, r)


# -- the workspace run and the dashboard --------------------------------------------------------------
@pytest.fixture(scope="module")
def households_ws(deduped_workspace, tmp_path_factory):
    import shutil

    path = tmp_path_factory.mktemp("households") / "ws"
    shutil.copytree(deduped_workspace, path)
    return path


def test_workspace_run_is_stored_and_ids_survive_a_rerun(households_ws):
    from workbench.review import current_clusters

    ws = Workspace(households_ws, user="tester")
    first = households_from_workspace(ws, "customers")
    clusters = current_clusters(ws, "customers")
    assert len(first.members) == len(clusters) and first.stats["multi_households"] > 50
    run = ws.latest_result("households", ws.dataset("customers"))
    stored = pd.read_parquet(ws.path / run["members"])
    pd.testing.assert_frame_equal(stored, first.members)
    assert run["sizes"] and run["previous_run"] is None and run["clusters_from"] == "review"
    again = households_from_workspace(ws, "customers")
    assert ws.latest_result("households", ws.dataset("customers"))["previous_run"] == first.stats["run_id"]
    assert again.stats["ids_kept"] == len(again.groups) and again.stats["ids_retired"] == 0
    key = first.groups.loc[first.groups["clusters"] > 1, "household_id"].iloc[0]
    one = first.members[first.members["household_id"] == key]["record_key"].iloc[0]
    from_ws = household_of(ws, [one], dataset="customers")
    assert from_ws["household_id"].tolist() == [key]
    assert len(from_ws["other_clusters"].iloc[0]) == from_ws["size"].iloc[0] - 1 >= 1
    ws.close()


def test_dashboard_shows_household_sizes_when_a_run_exists(deduped_workspace, households_ws):
    from workbench.dashboards import duplicates, render

    before = duplicates.build(Workspace(deduped_workspace))
    text = "".join(p for p in before if isinstance(p, str))
    assert "No households stored for customers yet" in text and "workbench households" in text
    assert not any(isinstance(p, go.Figure) and p.layout.title.text.startswith("Households per size")
                   for p in before)

    ws = Workspace(households_ws, user="tester")
    if ws.latest_result("households", ws.dataset("customers")) is None:
        households_from_workspace(ws, "customers")
    run = ws.latest_result("households", ws.dataset("customers"))
    parts = duplicates.build(ws)
    fig = next(p for p in parts if isinstance(p, go.Figure) and p.layout.title.text.startswith("Households per size"))
    multi = [s for s in run["sizes"] if s["size"] > 1 and s["kind"] == "person"]
    assert sum(fig.data[0].y) == sum(s["households"] for s in multi) == run["multi_households"]
    assert render.inline_ok(fig)
    text = "".join(p for p in parts if isinstance(p, str))
    assert "households of 2+ people" in text and f"{run['multi_households']:,}" in text
    ws.close()


def test_household_plot_builder_counts_groups_of_two_or_more():
    from workbench.dashboards import duplicate_plots as dplots

    sizes = pd.DataFrame({"kind": ["person", "person", "organization"], "size": [1, 3, 2],
                          "households": [40, 5, 2]})
    fig = dplots.household_sizes_chart(sizes)
    assert {b.name: list(b.y) for b in fig.data} == {"households (people)": [0, 5],
                                                     "organizations (branches)": [2, 0]}
    assert list(fig.data[0].x) == ["2", "3"]
    assert dplots.household_sizes_chart(sizes.head(1)).layout.title.text.endswith("no customers share a household")


def test_golden_records_carry_the_hierarchy_and_the_review_app_shows_the_household(households_ws, tmp_path):
    from workbench.golden.build import golden_from_workspace
    from workbench.review import ClusterReview
    from workbench.ui.review_app import ReviewApp

    ws = Workspace(households_ws, user="tester")
    result = households_from_workspace(ws, "customers")
    golden = golden_from_workspace(ws, "customers")
    tree = golden.extras["hierarchy"]
    assert list(tree.columns) == ["golden_id", "household_id", "kind", "household_size"]
    expected = result.members.drop_duplicates("cluster_id").set_index("cluster_id")["household_id"]
    assert tree.set_index("golden_id")["household_id"].to_dict() == expected.reindex(tree["golden_id"]).to_dict()
    paths = golden.export(tmp_path / "out", formats=("csv",))
    assert len(pd.read_csv(paths["hierarchy.csv"])) == len(tree)

    shared = result.groups[(result.groups["clusters"] > 1) & (result.groups["kind"] == "person")]
    house = shared["household_id"].iloc[0]
    member = result.members.loc[result.members["household_id"] == house, "record_key"].iloc[0]
    app = ReviewApp(ws, "customers")
    app._show(ClusterReview(ws, "customers").cluster_of(member))
    assert f"household <code>{house}</code>" in app.status.value and "other clusters" in app.status.value
    ws.close()


def test_households_command(households_ws, capsys):
    from workbench.cli import main

    assert main(["households", "customers", "--workspace", str(households_ws), "--user", "tester"]) == 0
    out = capsys.readouterr().out
    assert "households of 2+ people" in out and "ids kept" in out
