"""Matching data nobody here prepared: the comparison plan, priors from the data, blocking for recall."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench import WorkbenchError, artifacts
from workbench.matching import priors, scale
from workbench.matching.blocking import learn_blocking
from workbench.matching.fields import MatchField, plan_fields, prepare_records
from workbench.matching.kinds import KINDS
from workbench.matching.model import Featurizer
from workbench.schema import Role, infer_schema
from workbench.standardize import standardize_org_name


def _frame(n=200):
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "site_id": [f"S{i:05d}" for i in range(n)],
        "Site Name": [f"Blue Cafe {i % 50}" for i in range(n)],
        "Website": [f"https://www.site{i % 60}.com/" for i in range(n)],
        "coworkers": [f"ann lee; bob {i % 7}" for i in range(n)],
        "program": rng.choice(["A", "B", "C"], n),
        "employees": rng.integers(1, 10_000, n).astype(str),
        "revenue": (rng.random(n) * 1e6).round(2).astype(str),
        "ref": [f"R{i}" for i in range(n)],
        "constant": ["x"] * n,
        "mostly_empty": [None] * (n - 1) + ["y"],
        "notes": [" ".join(rng.choice(["lorem", "ipsum", "dolor", "sit", "amet"], 8)) for _ in range(n)],
    })


def test_every_column_with_signal_is_compared_and_the_rest_say_why():
    frame = _frame()
    schema = infer_schema(frame, key="site_id")
    fields, skipped = plan_fields(schema, frame=frame)
    kinds = {f.column: f.kind for f in fields}
    assert kinds["Site Name"] == "OrgName" and schema["Site Name"].role == Role.ORGANIZATION
    assert kinds["Website"] == "Exact" and schema["Website"].role == Role.WEBSITE
    assert kinds["coworkers"] == "Set"
    assert kinds["program"] == "Exact"
    assert kinds["employees"] == "String"  # whole numbers: codes
    assert kinds["revenue"] == "Numeric"
    assert kinds["notes"] == "TokenSet"
    why = {s.column: s.reason for s in skipped}
    assert "identifier" in why["ref"]
    assert "one value" in why["constant"]
    assert "present in" in why["mostly_empty"]
    assert all(0 < f.confidence <= 1 and f.reason for f in fields)


def test_the_analyst_changes_the_plan_and_bad_names_are_named():
    frame = _frame()
    schema = infer_schema(frame, key="site_id")
    fields, skipped = plan_fields(schema, {"notes": None, "ref": "String"}, frame)
    assert "notes" not in {f.column for f in fields} and "ref" in {f.column for f in fields}
    assert any(s.column == "notes" and "analyst" in s.reason for s in skipped)
    with pytest.raises(WorkbenchError, match="'nope', which the dataset does not have"):
        plan_fields(schema, {"nope": "String"}, frame)
    with pytest.raises(WorkbenchError, match="unknown comparator kind 'Fuzzy'"):
        plan_fields(schema, {"notes": "Fuzzy"}, frame)


def test_organization_names_lose_legal_forms_the_and_ampersands():
    got = standardize_org_name(pd.Series(["The Blue Cafe, Inc.", "Blue Cafe", "Rossi & Figli S.r.l.",
                                          "Rossi and Figli", "Müller Maschinenbau GmbH",
                                          "Müller Maschinenbau Gesellschaft mit beschränkter Haftung", None]))
    assert got[0] == got[1] == "blue cafe"
    assert got[2] == got[3] == "rossi and figli"
    assert got[4] == got[5] == "muller maschinenbau"
    assert got[6] is None
    assert KINDS["OrgName"].scalar("blue cafe", "blue cafe santa monica") == pytest.approx(0.2)


def test_lists_are_compared_as_sets_and_block_on_each_item():
    prepared = KINDS["Set"].prepare(pd.Series(["Kiyoo Itoh; Jun Koyama", ["Jun Koyama"], None]))
    assert prepared.tolist() == ["jun koyama|kiyoo itoh", "jun koyama", None]
    assert KINDS["Set"].scalar(prepared[0], prepared[1]) == pytest.approx(0.5)
    (pred,) = KINDS["Set"].predicates("coworkers")
    assert pred({"coworkers": prepared[0]}) & pred({"coworkers": prepared[1]}) == {"jun koyama"}


def test_local_phones_are_read_in_the_data_s_country():
    frame = pd.DataFrame({"id": ["1", "2", "3"], "phone": ["020 7946 0018", "+44 20 7946 0018", "555-0101"],
                          "country": ["UK", "GB", "USA"]})
    fields = plan_fields(infer_schema(frame, key="id"), frame=frame)[0]
    prepared = prepare_records(frame, "id", fields)
    assert prepared.loc["1", "phone"] == prepared.loc["2", "phone"] == "+442079460018"
    assert prepared.loc["3", "phone"] == "5550101"  # a local number: compared by its digits


def test_priors_from_the_data_weigh_a_telling_field_and_ignore_a_field_everyone_shares():
    rng = np.random.default_rng(0)
    n_dup, n_random = 300, 600
    # field 0 (an id-like code): duplicates agree, random pairs do not;
    # field 1 (a country everyone shares): everyone agrees.
    dist = np.vstack([np.c_[rng.random(n_dup) < 0.05, np.zeros(n_dup)],
                      np.c_[rng.random(n_random) < 0.98, np.zeros(n_random)]]).astype("f4")
    X = np.hstack([dist, np.ones_like(dist)])
    random_rows = np.r_[np.zeros(n_dup, bool), np.ones(n_random, bool)]
    weights = priors.estimate(X, random_rows, 2)
    assert weights[0][0] > 2.5 and weights[0][1] > 1.0
    assert weights[1][0] < 0.1 and weights[1][1] < 0.1


def test_blocking_covers_likely_matches_only_through_blocks_it_will_really_pair():
    # 3,000 records in one country: a country key is one block far above the cap (only
    # windowed, sorted by leading fields that differ here), so it cannot promise the
    # likely matches; the first word of the name can.
    fields = [MatchField("name", "name", "String"), MatchField("country", "country", "Exact")]
    featurizer = Featurizer(fields)
    from workbench.matching.blocking import candidate_predicates

    preds = candidate_predicates(featurizer.data_model, {"name", "country"}, featurizer.extra_predicates)
    records = [{"name": f"acme{i // 2:05d}{'ab'[i % 2]}", "country": "us"} for i in range(3000)]
    positives = [(records[i], records[i + 1]) for i in range(0, 400, 2)]
    plan = learn_blocking(preds, positives, records, None, 3000, None, max_pairs=1e6)
    assert all("country" not in d or "AND" in d for d in plan.describe())
    assert plan.estimated_recall == 1.0 and plan.warning() is None
    plan = learn_blocking([p for p in preds if p.field == "country"], positives, records, None, 3000, None,
                          max_pairs=1e6)
    assert plan.estimated_recall == 0.0 and "0% of the likely matches" in plan.warning()


def test_oversized_blocks_are_windowed_so_a_large_cluster_stays_connected(tmp_path):
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = 1_200  # one block far above MAX_BLOCK: one company's sites, one prolific inventor
    keys = pd.DataFrame({"rid": np.arange(n, dtype="int64"), "pred": np.zeros(n, "int16"), "key": "acme",
                         "sk": [f"{i % 37:03d}" for i in range(n)]})
    (tmp_path / "keys").mkdir()
    keys.to_parquet(tmp_path / "keys" / "k.parquet", index=False)
    counts = scale.candidate_pairs(tmp_path / "keys", None, tmp_path / artifacts.PAIRS, max_block=500, window=3)
    pairs = pd.read_parquet(tmp_path / artifacts.PAIRS)
    assert counts["windowed_blocks"] == 1 and counts["windowed_block_records"] == n
    assert len(pairs) == counts["pairs"] <= n * 3
    graph = coo_matrix((np.ones(len(pairs)), (pairs["l"], pairs["r"])), shape=(n, n))
    assert connected_components(graph, directed=False)[0] == 1


def test_organizations_from_another_generator_are_matched_end_to_end(tmp_path):
    # Zero-config on international business records: no person-name columns, local phone
    # formats, one-line addresses, legal forms. A sanity bound, not a tuned target.
    from workbench import Workspace
    from workbench.oracle import TruthLabeler
    from workbench.samples_business import generate_business_customers

    records, truth = generate_business_customers(n_entities=300, seed=1)
    path = tmp_path / "crm.csv"
    records.to_csv(path, index=False)
    ws = Workspace(tmp_path / "ws", user="t")
    dd = ws.deduper(ws.load(path, key="record_id"))
    kinds = dict(zip(dd.plan["column"], dd.plan["compared as"], strict=True))
    assert kinds["company_name"] == "OrgName" and kinds["address_line"] == "Address"
    TruthLabeler(truth.set_index("record_id")["entity_id"]).label(dd, budget=30)
    clusters = dd.cluster(progress=False).clusters
    assert {f["column"] for f in dd.last_run["plan"]} >= {"company_name", "address_line", "phone"}
    assert 0.0 < dd.last_run["figures"]["blocking_estimated_recall"] <= 1.0
    entity = truth.set_index("record_id")["entity_id"].reindex(clusters["key"]).to_numpy()
    same_pred = clusters["cluster_id"].to_numpy()[:, None] == clusters["cluster_id"].to_numpy()[None, :]
    same_true = entity[:, None] == entity[None, :]
    upper = np.triu(np.ones_like(same_true), 1).astype(bool)
    tp = (same_pred & same_true & upper).sum()
    precision, recall = tp / max((same_pred & upper).sum(), 1), tp / max((same_true & upper).sum(), 1)
    assert precision > 0.8 and recall > 0.8, (precision, recall)
