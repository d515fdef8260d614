"""Match engine: labeling protocol, persistence of labels, clustering, linking, bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from dedupe import clustering as dd_clustering
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SAMPLES
from workbench import WorkbenchError, Workspace, artifacts
from workbench.matching import comparators, scale
from workbench.matching.fields import fields_from_schema
from workbench.schema import infer_schema

TRUTH = pd.read_csv(SAMPLES / "truth" / "customers_truth.csv", dtype=str).set_index("customer_id")["entity_id"]
ACQ_TRUTH = pd.read_csv(SAMPLES / "truth" / "acquired_truth.csv", dtype=str).set_index("lead_id")["entity_id"]


def label_from_truth(session, n, same=lambda a, b: TRUTH[a] == TRUTH[b]):
    for _ in range(n):
        pair = session.next_pair()
        if pair is None:
            break
        session.mark(pair, "match" if same(pair.left_id, pair.right_id) else "distinct")


def clustered_sample(path, labels: int = 25):
    """A workspace at ``path`` holding the sample customers, ``labels`` truth labels and one clustering:
    (workspace, dataset, deduper, clustering)."""
    ws = Workspace(path, user="ann")
    ds = ws.load(SAMPLES / "customers.csv", key="customer_id", name="customers")
    dd = ws.deduper(ds)
    label_from_truth(dd, labels)
    return ws, ds, dd, dd.cluster(progress=False)


@pytest.fixture(scope="module")
def sample_ws(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("match") / "ws", user="ann")
    ws.load(SAMPLES / "customers.csv", key="customer_id", name="customers")
    ws.load(SAMPLES / "acquired.csv", key="lead_id", name="acquired")
    return ws


def test_comparators():
    assert comparators.compare_dates("1985-03-07", "1985-03-07") == 0
    assert comparators.compare_dates("1985-03-07", "1985-07-03") == 0.25  # day and month swapped
    assert comparators.compare_dates("1985-03-07", "1958-03-07") == 1.0
    assert comparators.compare_names("sarah", "saera") < comparators.compare_names("amanda", "victoria")
    assert comparators.compare_names("j", "john") < 1.0
    assert comparators.compare_token_sets("smith john", "john smith") == 0
    assert comparators.compare_dates("1985-03-07", "1985-03-08") == 0.25
    assert comparators.compare_emails("a@x.com", "a@x.com") == 0


LEVELS = [
    # namesakes' mailboxes differ by digits; a one-letter slip or another provider is the same person
    ("compare_emails", "jennifer.miller@gmail.com", "jennifer.miller93@gmail.com", 1.0),
    ("compare_emails", "sherry.webstwr@gmail.com", "sherry.webster@gmail.com", 0.3),
    ("compare_emails", "christinaf73@yahoo.com", "christinaf73@aol.com", 0.3),
    # related names (twins, siblings) are not typos, however alike; two letters swapped are one slip
    ("compare_names", "daniel", "danielle", 0.7),
    ("compare_names", "joseph", "josephine", 0.7),
    ("compare_names", "chistina", "christina", 0.25),
    ("compare_names", "tnia", "tina", 0.25),
    # first names: masculine and feminine forms are two people; an ambiguous nickname is compatible
    ("compare_given_names", "paul", "paula", 1.0),
    ("compare_given_names", "eric", "erica", 1.0),
    ("compare_given_names", "joseph", "josephine", 1.0),
    ("compare_given_names", "kim", "kimberly", 0.4),
    ("compare_given_names", "tina", "christina", 0.4),
    ("compare_given_names", "alex", "alexandra", 0.4),
    ("compare_given_names", "sarah", "saera", 0.25),
    # a given name with and without its middle name: compatible
    ("compare_given_names", "abhishek pramod", "abhishek", 0.4),
    ("compare_given_names", "mary ann", "mary", 0.4),
    # ... and with its middle name once written out, once as an initial: closer still
    ("compare_given_names", "mark alan", "mark a", 0.25),
    ("compare_given_names", "mark alan", "mark b", 0.7),
    ("compare_given_names", "mark alan", "mary a", 0.7),
    # surnames keep the plain levels: a lost last letter may be a slip there
    ("compare_names", "garci", "garcia", 0.25),
    # same year, another day: another person
    ("compare_dates", "1956-03-25", "1956-10-05", 1.0),
]


@pytest.mark.parametrize(("comparator", "left", "right", "level"), LEVELS)
def test_comparator_levels_tell_look_alikes_apart(comparator, left, right, level):
    compare = getattr(comparators, comparator)
    assert compare(left, right) == level
    assert compare(right, left) == level


def test_swapped_first_and_last_names_agree():
    from workbench.matching.fields import MatchField
    from workbench.matching.model import Featurizer

    f = Featurizer([MatchField("first_name", "a", "Name"), MatchField("last_name", "b", "Name")])
    X = f([{"first_name": "johnson", "last_name": "sarah"}, {"first_name": "sarah", "last_name": "johnson"}],
          [{"first_name": "sarah", "last_name": "johnson"}, {"first_name": "sarah", "last_name": "jones"}])
    assert X[0, :2].tolist() == [0.0, 0.0]  # swapped: same person
    assert X[1, 1] > 0  # straight comparison kept where it agrees better


def test_a_full_name_in_either_order_agrees_on_its_word_set():
    from workbench.matching.fields import prepare_records
    from workbench.matching.model import Featurizer

    frame = pd.DataFrame({"id": ["1", "2", "3"], "name": ["Mason Caitlin", "caitlin mason", "Caitlin Masters Jr"],
                          "zip": ["3035", "3036", "3035"]})
    fields = fields_from_schema(infer_schema(frame, key="id"), frame=frame)
    names = [f.name for f in fields]
    assert "full_name" in names and "name_set" in names and "name_suffix" in names
    prepared = prepare_records(frame, "id", fields)
    assert prepared.loc["1", "name_set"] == prepared.loc["2", "name_set"] == "caitlin mason"
    assert prepared.loc["3", "name_suffix"] == "jr" and prepared.loc["1", "name_suffix"] is None
    X = Featurizer(fields).frame_pairs(prepared, prepared, ["1", "1"], ["2", "3"])
    k = names.index("name_set")
    assert X[0, k] == 0.0 and X[1, k] > 0.0  # swapped words agree; another surname does not


def test_classifier_keeps_the_prior_where_labels_are_silent():
    from workbench.matching.model import PairClassifier

    prior = np.array([-8.0, -2.0, 3.0, 1.0])  # field A decisive, field B weak
    # labels that only ever vary field B
    X = np.array([[0, 0, 1, 1], [0, 1, 1, 1], [0, 0, 1, 1], [0, 1, 1, 1]], dtype=float)
    y = np.array([1, 0, 1, 0])
    clf = PairClassifier(prior).fit(X, y)
    assert clf.coef_[1] < prior[1]  # learned: field B disagreement matters more than the prior said
    assert abs(clf.coef_[0] - prior[0]) < 1e-6  # nothing said about A: the prior stands
    plain = PairClassifier(None).fit(X, y)
    assert plain.coef_[0] == pytest.approx(0.0, abs=1e-6)  # a zero-centred model knows nothing of A


def test_each_label_counts_once():
    """No class re-weighting: summed over the labeled pairs, the predicted match probability is the
    number of labeled matches (what an unweighted logistic fit gives; balanced, a few matches
    among many non-matches weigh several times each and drag the intercept up)."""
    from workbench.matching.model import PairClassifier

    rng = np.random.default_rng(0)
    X = np.hstack([rng.random((50, 3)), np.ones((50, 3))])
    y = (X[:, 0] + 0.3 * rng.standard_normal(50) < 0.2).astype(float)
    assert 3 <= y.sum() <= 15
    clf = PairClassifier(np.array([-4.0, -2.0, -1.0, 2.0, 1.0, 0.5])).fit(X, y)
    assert clf.predict(X).sum() == pytest.approx(y.sum(), abs=0.05)


def test_the_training_pool_holds_namesakes():
    """Whole-key pairs (same full name) and random pairs never show two people who share the start of
    a given name but not a surname; the pool must, or no label ever says a shared or look-alike given
    name is not enough ("Hiroki" and "Hiroaki" are one insertion apart, and two people)."""
    from workbench.matching.candidates import training_pool

    first = ["hiroki", "hiroki", "hiroki", "hiroaki", "mark", "mark", "david", "david", "ana", "bo"] * 10
    last = ["kikuchi", "kikuchi", "yamashita", "yamada", "horowitz", "vreeke", "tyvoll", "rosmann", "lee",
            "lee"] * 10
    prepared = pd.DataFrame({"first_name": first, "last_name": last},
                            index=[f"k{i}" for i in range(len(first))])
    pool = training_pool(prepared, rng=np.random.default_rng(0))
    assert set(pool["origin"]) == {"shared key", "random", "namesake"}
    assert not pool.duplicated(["left_key", "right_key"]).any()
    part = pool[pool["origin"] == "namesake"]
    lf, rf = prepared.loc[part["left_key"]], prepared.loc[part["right_key"]]
    same_first = lf["first_name"].to_numpy() == rf["first_name"].to_numpy()
    same_last = lf["last_name"].to_numpy() == rf["last_name"].to_numpy()
    first_start = lf["first_name"].str[:4].to_numpy() == rf["first_name"].str[:4].to_numpy()
    last_start = lf["last_name"].str[:4].to_numpy() == rf["last_name"].str[:4].to_numpy()
    assert (first_start | last_start).all() and not (same_first & same_last).any()  # never both names
    assert (same_first & ~same_last).any()  # "hiroki kikuchi" beside "hiroki yamashita"
    assert (~same_first & first_start & ~last_start).any()  # "hiroki kikuchi" beside "hiroaki yamada"
    assert (~same_first & same_last).any()


def test_the_prior_is_loose_where_the_expert_and_the_data_disagree():
    """Expert and data-estimated weights are two opinions; where they differ the labels decide.

    On inventors a different surname all but rules a match out (the data), among customers who marry
    it is weak evidence (the expert): held tight on the expert's view, labels of namesakes could
    not teach it, and "Hiroaki Yamada" and "Hiroki Yamashita" at one employer scored 0.998."""
    from workbench.matching.fields import MatchField
    from workbench.matching.model import PRIOR_BY_NAME, Featurizer, PairClassifier, prior_weights

    f = Featurizer([MatchField("first_name", "a", "GivenName"), MatchField("last_name", "b", "Name"),
                    MatchField("employer", "c", "OrgName")])
    mean, var = prior_weights(f, {"first_name": (3.0, 5.0), "last_name": (4.5, 6.0), "employer": (4.0, 1.5)})
    agree, disagree = PRIOR_BY_NAME["last_name"]
    assert mean[1] == -(agree + disagree) and mean[4] == agree  # centred on the expert's view
    assert var[1] == pytest.approx(1 + (10.5 - agree - disagree) ** 2) and var[4] == pytest.approx(1 + 3.0 ** 2)
    assert var[0] == var[3] == 1.0  # expert and data agree on the given name
    assert var[2] == var[5] == 1.0  # one opinion only (the data's): as sure as before
    assert mean[2] == -5.5 and mean[5] == 4.0
    # labeled namesakes at one employer: the given name and the employer agree, the surname does not
    # (distances, "both present" flags, name commonness and its flag)
    X = np.array([[0, 1, 0, 1, 1, 1, 0, 0], [0, 0, 0, 1, 1, 1, 0.5, 1]] * 4, dtype=float)
    y = np.array([0, 1] * 4)
    tight = PairClassifier(mean).fit(X, y)
    loose = PairClassifier(mean, prior_variance=var).fit(X, y)
    assert loose.coef_[1] < tight.coef_[1] - 1.0  # the surname's disagreement learned, not held back
    assert loose.predict(X[:1])[0] < tight.predict(X[:1])[0]
    assert PairClassifier(mean, prior_variance=var).clone().prior_variance is not None


def test_unscored_pairs_inside_a_component_are_scored():
    edges = pd.DataFrame({"l": [0, 0], "r": [1, 2], "score": np.array([0.9, 0.9], dtype="f4")})
    asked = []

    def score(li, ri):
        asked.extend(zip(li.tolist(), ri.tolist(), strict=True))
        return np.full(len(li), 0.8)

    out = scale.complete_components(edges, 0.5, score)
    assert asked == [(1, 2)]
    assert len(out) == 3 and out.iloc[-1]["score"] == pytest.approx(0.8)


def test_fields_follow_roles_and_overrides():
    frame = pd.DataFrame({"id": ["1"], "first_name": ["a"], "last_name": ["b"], "zip": ["1"], "notes": ["x"]})
    schema = infer_schema(frame, key="id")
    names = [f.name for f in fields_from_schema(schema)]
    assert names[:3] == ["first_name", "last_name", "postcode"] and "name_set" in names
    extra = fields_from_schema(schema, {"notes": "String", "zip": None})
    assert "notes" in [f.name for f in extra] and "postcode" not in [f.name for f in extra]
    with pytest.raises(WorkbenchError, match="no usable field"):
        fields_from_schema(infer_schema(pd.DataFrame({"id": ["1"], "notes": ["x"]}), key="id"))


def test_labeling_protocol_persists_and_resumes(sample_ws):
    ds = sample_ws.dataset("customers")
    dd = sample_ws.deduper(ds, task="dedupe:protocol")
    pair = dd.next_pair()
    assert pair.left_id != pair.right_id and pair.left["customer_id"] == pair.left_id
    assert dd.next_pair().left_id == pair.left_id, "the same pair until it is labeled"
    dd.mark(pair, "match" if TRUTH[pair.left_id] == TRUTH[pair.right_id] else "distinct")
    label_from_truth(dd, 11)
    p = dd.progress
    assert p.total == 12 and p.enough
    second = dd.next_pair()
    dd.mark(second, "unsure")
    assert dd.progress.unsure == 1
    assert dd.undo().left_id == second.left_id and dd.progress.unsure == 0
    labels = dd.labels.frame()
    assert set(labels["analyst"]) == {"ann"} and len(labels) == 12

    # A new deduper (a new kernel) resumes with every label, and never asks a labeled pair again.
    again = Workspace(sample_ws.path, user="bob").deduper(ds, task="dedupe:protocol")
    assert again.progress.total == 12
    asked = {(x.left_key, x.right_key) for x in again.labels.active()}
    nxt = again.next_pair()
    assert (nxt.left_id, nxt.right_id) not in asked
    assert nxt.score is not None and 0 <= nxt.score <= 1


def test_cluster_is_a_partition_and_accurate_enough(sample_ws):
    ds = sample_ws.dataset("customers")
    dd = sample_ws.deduper(ds, task="dedupe:cluster")
    label_from_truth(dd, 30)
    clusters = dd.cluster(progress=False).clusters
    assert sorted(clusters["key"]) == sorted(ds.frame["customer_id"])
    assert clusters["confidence"].between(0, 1).all()
    # cluster ids are member keys, and every cluster contains its id
    assert set(clusters["cluster_id"]) <= set(clusters["key"])
    ids = clusters.groupby("cluster_id")["key"].apply(set)
    assert all(cid in members for cid, members in ids.items())
    # precision against ground truth: clustered pairs are mostly the same person
    multi = clusters[clusters["cluster_size"] > 1]
    same = multi.groupby("cluster_id")["key"].apply(lambda k: TRUTH[k].nunique() == 1).mean()
    assert same > 0.85
    run = sample_ws.runs("dedupe", ds).iloc[0]
    assert run["status"] == "done" and run["result"]["figures"]["pairs"] > 0
    assert (sample_ws.path / run["result"]["folder"] / artifacts.CLUSTERS).exists()
    curve = dd.threshold_curve()
    assert list(curve.columns) == ["threshold", "precision", "recall", "f1"]
    expl = dd.explain(multi["key"].iloc[0], multi["cluster_id"].iloc[0]) if multi["key"].iloc[0] != multi[
        "cluster_id"].iloc[0] else dd.explain(multi["key"].iloc[1], multi["cluster_id"].iloc[1])
    assert {"field", "left", "right", "distance", "contribution"} <= set(expl.columns)
    assert 0 <= expl.attrs["score"] <= 1


def test_training_json_round_trip_and_stale_labels(sample_ws, tmp_path):
    ds = sample_ws.dataset("customers")
    dd = sample_ws.deduper(ds, task="dedupe:export")
    label_from_truth(dd, 8)
    path = dd.labels.export_training(tmp_path / "training.json")
    doc = json.loads(path.read_text())
    assert len(doc["match"]) + len(doc["distinct"]) == 8
    # labels naming a record that is gone: reported, and still used from their snapshot
    doc["distinct"].append([{**doc["distinct"][0][0], "customer_id": "GONE"}, doc["distinct"][0][1]])
    path.write_text(json.dumps(doc))
    other = sample_ws.deduper(ds, task="dedupe:import")
    assert other.labels.import_training(path, key="customer_id") == 9
    again = sample_ws.deduper(ds, task="dedupe:import")
    assert any("GONE" in s for s in again.stale_labels)
    assert again.progress.total == 9


def test_linker_finds_known_customers(sample_ws):
    acq, master = sample_ws.dataset("acquired"), sample_ws.dataset("customers")
    lk = sample_ws.linker(acq, master, task="link:test")
    label_from_truth(lk, 30, same=lambda a, b: ACQ_TRUTH[a] == TRUTH[b])
    links = lk.link(progress=False)
    assert len(links) == acq.rows_kept and set(links["status"]) <= {"match", "ambiguous", "new"}
    matched = links[links["status"] == "match"]
    correct = (ACQ_TRUTH[matched["acquired_key"]].to_numpy() == TRUTH[matched["master_key"]].to_numpy()).mean()
    assert correct > 0.9
    overlap = lk.overlap(links)
    assert overlap.iloc[-1]["source"] == "all" and overlap.iloc[-1]["records"] == acq.rows_kept
    new = lk.new_records(links)
    assert len(new) == (links["status"] == "new").sum() and list(new.columns) == list(acq.frame.columns)


@pytest.mark.parametrize(
    "csv, message",
    [
        ("customer_id,first_name,last_name\n1,Ann,Lee\n", "at least 2"),
        ("customer_id,first_name,last_name\n1,Ann,Lee\n2,Ann,Lee\n3,Ann,Lee\n", "first_name: holds one value"),
        ("customer_id,first_name,notes\n1,,\n2,,\n", r"first_name: present in 0\.0% of records"),
        ("customer_id,notes\n1,x\n2,x\n", "notes: holds one value"),
    ],
)
def test_bad_input_gives_clear_messages(tmp_path, csv, message):
    path = tmp_path / "c.csv"
    path.write_text(csv)
    ws = Workspace(tmp_path / "ws")
    ds = ws.load(path, key="customer_id")
    with pytest.raises(WorkbenchError, match=message):
        ws.deduper(ds)


def test_a_field_list_naming_a_missing_column_is_named_back(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("customer_id,first_name,last_name\n1,Ann,Lee\n2,Bob,Ray\n")
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(WorkbenchError, match="'surname', which the dataset does not have"):
        ws.deduper(ws.load(path, key="customer_id"), fields={"surname": "Name"})


def test_not_enough_labels_to_cluster(sample_ws):
    dd = sample_ws.deduper(sample_ws.dataset("customers"), task="dedupe:few")
    with pytest.raises(WorkbenchError, match="not enough labels"):
        dd.cluster(progress=False)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 29), st.integers(0, 29), st.floats(0, 1)), max_size=60))
def test_clustering_is_a_partition(edges):
    edges = [(min(a, b), max(a, b), s) for a, b, s in edges if a != b]
    frame = pd.DataFrame(edges, columns=["l", "r", "score"]).drop_duplicates(["l", "r"])
    frame["score"] = frame["score"].astype("f4")
    cluster, confidence, _ = scale.cluster_edges(frame, 30, 0.5, progress=False)
    assert len(cluster) == 30 and np.all((confidence >= 0) & (confidence <= 1.0001))
    for cid in np.unique(cluster):
        members = np.flatnonzero(cluster == cid)
        assert cid == members.min()
    # records joined only by edges below the threshold stay apart
    strong = frame[frame["score"] >= 0.5]
    linked = set(strong["l"]) | set(strong["r"])
    for i in range(30):
        if i not in linked:
            assert cluster[i] == i


@settings(max_examples=80, deadline=None)
@given(st.integers(2, 14).flatmap(lambda n: st.tuples(
    st.lists(st.integers(0, 10_000), min_size=n - 1, max_size=n - 1),
    st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n),
    st.lists(st.floats(0.0078125, 0.9921875, width=32), min_size=4 * n, max_size=4 * n),
    st.sampled_from([0.3, 0.5, 0.8]))))
def test_component_clustering_equals_dedupes(case):
    parents, extra, scores, threshold = case
    # a connected component: a random tree over n records (spread ids) plus extra edges
    ids = [7 * i + 3 for i in range(len(parents) + 1)]
    pairs = {(min(ids[p % (i + 1)], ids[i + 1]), max(ids[p % (i + 1)], ids[i + 1])) for i, p in enumerate(parents)}
    pairs |= {(ids[min(a, b)], ids[max(a, b)]) for a, b in extra if a != b}
    arr = np.empty(len(pairs), dtype=[("pairs", "int64", 2), ("score", "f4")])
    arr["pairs"] = sorted(pairs)
    arr["score"] = scores[:len(pairs)]
    ours = sorted((tuple(int(i) for i in m), tuple(np.round(c, 6))) for m, c in scale.cluster_component(arr, threshold))
    theirs = sorted((tuple(int(i) for i in m), tuple(np.round(c, 6)))
                    for m, c in dd_clustering.cluster(arr.copy(), threshold=threshold))
    assert ours == theirs


def _edges(pairs, scores):
    arr = np.empty(len(pairs), dtype=[("pairs", "int64", 2), ("score", "f4")])
    arr["pairs"] = pairs
    arr["score"] = scores
    return arr


def test_an_oversized_component_is_cut_only_at_its_weakest_links():
    # two true clusters of 30 records (strong pairs, and some weak ones inside) joined by one
    # pair just over the threshold: with room for 40 records, only that pair goes
    rng = np.random.default_rng(0)
    pairs, scores = [], []
    for base in (0, 100):
        for a in range(base, base + 30):
            for b in range(a + 1, base + 30):
                pairs.append((a, b))
                scores.append(rng.uniform(0.75, 1.0) if rng.uniform() < 0.7 else rng.uniform(0.05, 0.4))
    pairs.append((29, 100))
    scores.append(0.55)
    cut, parts = scale.split_oversized(_edges(pairs, scores), 0.5, 40)
    strong = np.float32(scores)[np.float32(scores) >= 0.75]
    assert 0.55 < cut <= strong.min()  # the bridge goes, the lowest strong pair inside stays
    assert sorted(np.unique(p["pairs"]).tolist() for p in parts) == [list(range(30)), list(range(100, 130))]
    assert sum(len(p) for p in parts) == len(pairs) - 1  # every inner pair kept, weak ones too
    # and through cluster_edges both clusters come out whole
    frame = pd.DataFrame({"l": [a for a, _ in pairs], "r": [b for _, b in pairs], "score": np.float32(scores)})
    cluster, _, report = scale.cluster_edges(frame, 130, 0.5, max_component=40, progress=False)
    assert report["oversized_components"] == 1
    assert len(set(cluster[:30])) == 1 and len(set(cluster[100:130])) == 1 and cluster[0] != cluster[100]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 39), st.integers(0, 39), st.floats(0, 1, width=32)), min_size=1,
                max_size=150), st.integers(2, 12))
def test_cut_parts_fit_and_the_cut_is_the_lowest_that_fits(edges, bound):
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    seen = {}
    for a, b, sc in edges:
        if a != b:
            seen[(min(a, b), max(a, b))] = sc
    if not seen:
        return
    arr = _edges(list(seen), list(seen.values()))
    cut, parts = scale.split_oversized(arr, 0.5, bound)

    def largest(at):
        keep = arr["score"] >= at
        graph = coo_matrix((np.ones(keep.sum()), (arr["pairs"][keep, 0], arr["pairs"][keep, 1])), shape=(40, 40))
        return np.bincount(connected_components(graph, directed=False)[1]).max()

    assert cut >= 0.5 and largest(cut) <= bound
    lower = arr["score"][(arr["score"] >= 0.5) & (arr["score"] < cut)]
    if len(lower):
        assert largest(lower.max()) > bound  # any lower cut leaves a part too large
    nodes = [set(np.unique(p["pairs"]).tolist()) for p in parts]
    assert all(not (x & y) for i, x in enumerate(nodes) for y in nodes[i + 1:])  # parts are disjoint


@settings(max_examples=80, deadline=None)
@given(st.integers(2, 40).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.sampled_from([0.1, 0.25, 0.5, 0.75, 1.0]) | st.floats(0, 1), min_size=n * (n - 1) // 2,
                         max_size=n * (n - 1) // 2), st.sampled_from([0.25, 0.5, 0.7]))))
def test_flat_clusters_partition_as_fcluster(case):
    from scipy.cluster import hierarchy

    n, distances, cutoff = case
    linkage = hierarchy.linkage(np.asarray(distances), method="centroid")
    ours = scale.flat_clusters(linkage, cutoff)
    theirs = hierarchy.fcluster(linkage, cutoff, criterion="distance")
    # the same partition: equal labels exactly where fcluster's are equal
    assert np.array_equal(ours[:, None] == ours[None, :], theirs[:, None] == theirs[None, :])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text("abcdeé .@-|", min_size=1, max_size=12), st.text("abcdeé .@-|", min_size=1,
                                                                                   max_size=12)),
                min_size=1, max_size=20))
def test_vectorized_comparators_agree_with_scalar(pairs):
    from workbench.matching.kinds import KINDS

    a = np.array([x for x, _ in pairs], dtype=object)
    b = np.array([y for _, y in pairs], dtype=object)
    text_kinds = [k for k in KINDS.values() if k.vectorized is not None and k.name not in ("Numeric", "DateSpan")]
    assert {"Name", "GivenName", "Email", "Address", "TokenSet", "Exact", "Date", "OrgName", "Set"} <= {
        k.name for k in text_kinds}
    for kind in text_kinds:
        fast = kind.vectorized(a, b)
        slow = np.array([kind.scalar(x, y) for x, y in pairs])
        assert np.allclose(fast, slow, atol=1e-6), kind.name


@given(st.lists(st.tuples(st.floats(-1e6, 1e6, allow_nan=False), st.floats(-1e6, 1e6, allow_nan=False)),
                min_size=1, max_size=20),
       st.lists(st.tuples(st.dates(), st.dates()), min_size=1, max_size=20))
def test_vectorized_numbers_and_date_spans_agree_with_scalar(numbers, dates):
    from workbench.matching.kinds import KINDS

    a = np.array([repr(x) for x, _ in numbers], dtype=object)
    b = np.array([repr(y) for _, y in numbers], dtype=object)
    slow = np.array([KINDS["Numeric"].scalar(x, y) for x, y in zip(a, b, strict=True)])
    assert np.allclose(KINDS["Numeric"].vectorized(a, b), slow, atol=1e-6)
    a = np.array([x.isoformat() for x, _ in dates], dtype=object)
    b = np.array([y.isoformat() for _, y in dates], dtype=object)
    slow = np.array([KINDS["DateSpan"].scalar(x, y) for x, y in zip(a, b, strict=True)])
    assert np.allclose(KINDS["DateSpan"].vectorized(a, b), slow, atol=1e-6)


@given(st.lists(st.tuples(st.sampled_from(["kim", "kimberly", "tina", "christina", "paul", "paula", "pauline",
                                           "al", "alex", "alexa", "alexandra", "sam", "samantha", "tnia"]),
                          st.text("kimtnaelu", min_size=1, max_size=9)), min_size=1, max_size=20))
def test_vectorized_given_names_agree_with_scalar(pairs):
    from workbench.matching import vectorized

    a = np.array([x for x, _ in pairs], dtype=object)
    b = np.array([y for _, y in pairs], dtype=object)
    for left, right in ((a, b), (b, a), (a, a[::-1].copy())):
        slow = np.array([comparators.compare_given_names(x, y) for x, y in zip(left, right, strict=True)])
        assert np.allclose(vectorized.given_names(left, right), slow, atol=1e-6)


def test_cli_dedupe_applies_saved_labels_headless(sample_ws, tmp_path, capsys):
    from workbench.cli import main

    dd = sample_ws.deduper(sample_ws.dataset("customers"), task="dedupe:cli-export")
    label_from_truth(dd, 20)
    labels = dd.labels.export_training(tmp_path / "training.json")
    out = tmp_path / "clusters.csv"
    code = main(["dedupe", str(SAMPLES / "customers.csv"), "--key", "customer_id", "--labels", str(labels),
                 "--out", str(out)])
    assert code == 0 and "clusters" in capsys.readouterr().out
    clusters = pd.read_csv(out, dtype=str)
    assert list(clusters.columns) == ["key", "cluster_id", "confidence"] and len(clusters) == 5000
    from workbench.export import read_manifest, verify_manifest

    manifest = read_manifest(tmp_path, "clusters.csv.manifest.json")  # written last, beside the file
    assert manifest["files"]["clusters.csv"]["rows"] == 5000 and manifest["source"]["task"].startswith("dedupe:cli")
    assert verify_manifest(tmp_path, "clusters.csv.manifest.json") == []
    assert main(["dedupe", str(SAMPLES / "customers.csv"), "--key", "customer_id", "--labels", str(labels),
                 "--out", str(tmp_path / "x.txt")]) == 2


def test_cluster_reports_its_stages_to_a_progress_function(sample_ws):
    dd = sample_ws.deduper("customers", task="dedupe:stages")
    label_from_truth(dd, 12, same=lambda a, b: TRUTH[a] == TRUTH[b])
    seen = []
    dd.cluster(progress=lambda stage, done, total: seen.append((stage, done, total)))
    stages = [s for s, _, _ in seen]
    assert {"standardize", "block keys", "score pairs"} <= set(stages)
    last = {s: (d, t) for s, d, t in seen}
    assert last["standardize"] == (5000, 5000)  # every stage runs to its total


def test_suggested_threshold_is_the_middle_of_the_near_best_within_its_band():
    from workbench.matching.model import suggest_threshold

    t = np.round(np.arange(0.05, 1.0, 0.05), 2)
    # F1 peaks at 0.7 (noise of a few labels); nothing above 0.45 (nor below 0.35) is suggested
    f1 = np.where(t == 0.7, 0.95, np.where((t >= 0.3) & (t <= 0.5), 0.90, 0.5))
    curve = pd.DataFrame({"threshold": t, "f1": f1})
    assert suggest_threshold(curve) == 0.4
    f1 = np.where(t <= 0.3, 0.99, np.where(t >= 0.5, 0.98, 0.5))  # outside the band, however good
    assert 0.35 <= suggest_threshold(pd.DataFrame({"threshold": t, "f1": f1})) <= 0.45
    # within one label's worth of the best, thresholds are equally good: the middle of them
    f1 = np.array([{0.3: 0.80, 0.35: 0.82, 0.4: 0.81, 0.45: 0.84, 0.5: 0.70}.get(x, 0.5) for x in t])
    assert suggest_threshold(pd.DataFrame({"threshold": t, "f1": f1})) == 0.4
    assert suggest_threshold(pd.DataFrame({"threshold": t, "f1": f1}), tolerance=0.0) == 0.45
    f1 = np.array([{0.35: 0.70, 0.4: 0.80, 0.45: 0.81}.get(x, 0.5) for x in t])
    assert suggest_threshold(pd.DataFrame({"threshold": t, "f1": f1})) == 0.45  # of two near-best, the upper


def test_a_component_too_large_to_complete_is_completed_in_parts():
    """Two true clusters chained by one weak link above the threshold: each is completed, not left sparse."""
    groups = [np.arange(0, 30), np.arange(30, 60)]
    rows = [(int(g[i]), int(g[i + 1]), 0.9) for g in groups for i in range(len(g) - 1)]  # a chain: sparse inside
    rows.append((29, 30, 0.55))  # the weak link joining them into one component of 60
    edges = pd.DataFrame(rows, columns=["l", "r", "score"]).astype({"score": "f4"})

    def score(li, ri):
        return np.where((li < 30) == (ri < 30), 0.9, 0.05)

    out = scale.complete_components(edges, 0.5, score, max_size=40)
    seen = set(zip(out["l"].tolist(), out["r"].tolist(), strict=True))
    for g in groups:
        assert all((int(a), int(b)) in seen for i, a in enumerate(g) for b in g[i + 1:])  # every inner pair scored
    assert not any((a < 30) != (b < 30) for a, b in seen - {(29, 30)})  # across the cut: not scored
    cluster, _, _ = scale.cluster_edges(out, 60, 0.5, progress=False)
    assert len(set(cluster[:30])) == 1 and len(set(cluster[30:])) == 1 and cluster[0] != cluster[30]
