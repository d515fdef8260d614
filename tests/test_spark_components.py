"""Spark's connected components equal scipy's on both paths; Spark's clustering equals the single-machine engine's."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as scipy_components

from workbench import artifacts
from workbench.errors import WorkbenchError
from workbench.matching import scale


def _known_graphs() -> pd.DataFrame:
    """A chain with shuffled ids, a star, small components, a sparse random graph, nodes alone but for a self-loop."""
    rng = np.random.default_rng(7)
    chain = rng.permutation(np.arange(100, 140))              # 40 nodes, ids out of order along the chain
    star = [(200, leaf) for leaf in range(201, 230)] + [(231, 230)]  # centre 200, and 230-231 on the side
    star = [(230, 200)] + star                                # the side pair hangs on the centre
    small = [(5, 3), (3, 9), (50, 60), (61, 60), (70, 71), (72, 70), (71, 72)]  # a triangle among them
    loops = [(300, 300), (301, 301), (3, 3)]                 # 300 and 301 alone; 3 also has real edges
    sparse = [tuple(e) for e in rng.integers(400, 480, (60, 2))]  # 80 nodes, several components, repeats
    edges = list(zip(chain[:-1], chain[1:], strict=True)) + star + small + loops + sparse
    return pd.DataFrame(edges, columns=["l", "r"])


def _scipy_components(edges: pd.DataFrame) -> dict[int, int]:
    nodes, inv = np.unique(edges[["l", "r"]].to_numpy().T.ravel(), return_inverse=True)
    m = len(edges)
    _, labels = scipy_components(coo_matrix((np.ones(m), (inv[:m], inv[m:])), shape=(len(nodes),) * 2),
                                 directed=False)
    smallest = {}
    for node, label in zip(nodes, labels, strict=True):
        smallest.setdefault(label, node)  # nodes ascend: the first of a label is its smallest
    return {int(n): int(smallest[lab]) for n, lab in zip(nodes, labels, strict=True)}


#: Alone, a node above its only two neighbours: every other node sees only larger ones, so a check for
#: the end that only asked "has a smaller and a larger neighbour" would stop before the first round.
_V = pd.DataFrame({"l": [5, 5], "r": [1, 2]})


@pytest.mark.parametrize("graph", ["known", "v"])
@pytest.mark.parametrize("distributed", [False, True], ids=["collected", "large-star-small-star"])
def test_components_equal_scipys(spark, distributed, graph):
    from workbench.spark.components import connected_components

    edges = _known_graphs() if graph == "known" else _V
    found = connected_components(spark.createDataFrame(edges), distributed=distributed)
    got = found.frame.toPandas()
    assert got["node"].is_unique
    assert dict(zip(got["node"], got["component"], strict=True)) == _scipy_components(edges)
    assert found.distributed is distributed
    if distributed:  # the 40-node chain is the longest path: within the bound in alternations
        assert 1 <= found.rounds <= 2 * math.log2(40) + 2
    else:
        assert found.rounds == 0


def test_components_refuse_bad_edges(spark):
    from workbench.spark.components import connected_components

    with pytest.raises(WorkbenchError, match="no column 'r'"):
        connected_components(spark.createDataFrame(pd.DataFrame({"l": [1], "x": [2]})))
    with pytest.raises(WorkbenchError, match="integer node ids"):
        connected_components(spark.createDataFrame(pd.DataFrame({"l": [1], "r": ["b"]})))
    with pytest.raises(WorkbenchError, match="1 edge"):
        connected_components(spark.createDataFrame([(1, 2), (2, None)], "l long, r long"))


def _synthetic_edges() -> pd.DataFrame:
    """Scored pairs as blocking and scoring leave them: true clusters with strong and weak pairs inside,
    weak bridges between them, lone pairs (one exactly at the threshold), a score equal to float32(0.7),
    and two large clusters joined by one pair just over the threshold (an oversized component)."""
    rng = np.random.default_rng(11)
    pairs: dict[tuple[int, int], float] = {}
    start = 0
    for size in rng.integers(2, 9, 120):
        members = np.arange(start, start + size)
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                if rng.uniform() < 0.8:
                    pairs[(a, b)] = rng.uniform(0.72, 1.0) if rng.uniform() < 0.75 else rng.uniform(0.05, 0.69)
        start += size + int(rng.integers(0, 3))  # gaps: records with no pair at all
    for _ in range(60):  # weak links across clusters, some strong enough to chain two clusters
        a, b = sorted(rng.integers(0, start, 2))
        if a != b:
            pairs[(a, b)] = rng.uniform(0.3, 0.75)
    base = start + 10
    pairs[(base, base + 1)] = 0.9            # a lone pair: a cluster of two
    pairs[(base + 2, base + 3)] = 0.7        # a lone pair at the threshold (float32 0.7): no cluster (score > t)
    pairs[(base + 4, base + 5)] = 0.69       # below: no component at all
    for offset in (base + 10, base + 60):    # two clusters of 25 joined by one pair, over max_component=30
        for a in range(offset, offset + 25):
            for b in range(a + 1, offset + 25):
                if rng.uniform() < 0.5:
                    pairs[(a, b)] = rng.uniform(0.8, 1.0) if rng.uniform() < 0.8 else rng.uniform(0.1, 0.6)
        for a in range(offset, offset + 24):
            pairs[(a, a + 1)] = rng.uniform(0.85, 1.0)  # each cluster stays connected
    pairs[(base + 34, base + 60)] = 0.71
    frame = pd.DataFrame([(a, b, s) for (a, b), s in pairs.items()], columns=["l", "r", "score"])
    frame["score"] = frame["score"].astype("f4")
    return frame.astype({"l": "int64", "r": "int64"})


def test_clustering_equals_the_single_machine_engines(spark):
    from workbench.spark.clustering import spark_cluster_edges

    edges = _synthetic_edges()
    n = int(edges[["l", "r"]].to_numpy().max()) + 5
    want_cluster, want_conf, want_report = scale.cluster_edges(edges, n, 0.7, max_component=30, progress=False)
    assert want_report["oversized_components"] == 1 and (want_cluster != np.arange(n)).sum() > 300
    ours = spark_cluster_edges(spark.createDataFrame(edges), 0.7, max_component=30, buckets=3, distributed=True)
    cluster, conf = ours.arrays(n)
    np.testing.assert_array_equal(cluster, want_cluster)
    np.testing.assert_allclose(conf, want_conf, rtol=0, atol=1e-9)
    assert ours.report == want_report


def test_clustering_reproduces_a_stored_run(spark, deduped_workspace):
    """The sample's deduplication run: its scored pairs (EDGES) clustered on Spark give its stored clustering."""
    from workbench import Workspace
    from workbench.spark.clustering import spark_cluster_edges

    ws = Workspace(deduped_workspace, read_only=True)
    result = ws.latest_result("dedupe", ws.dataset("customers"))
    folder = deduped_workspace / result["folder"]
    stored = pd.read_parquet(folder / artifacts.CLUSTERS_MODEL)  # key, cluster_id, confidence in position order
    pos = pd.Series(np.arange(len(stored)), index=stored["key"])
    by_key = pd.read_parquet(folder / artifacts.EDGES)
    edges = pd.DataFrame({"l": pos[by_key["left_key"]].to_numpy(), "r": pos[by_key["right_key"]].to_numpy(),
                          "score": by_key["score"].to_numpy()})
    ours = spark_cluster_edges(spark.createDataFrame(edges), result["threshold"])
    cluster, conf = ours.arrays(len(stored))
    keys = stored["key"].to_numpy()
    assert (cluster != np.arange(len(stored))).sum() > 100  # the sample holds hundreds of duplicates
    np.testing.assert_array_equal(keys[cluster], stored["cluster_id"].to_numpy())
    np.testing.assert_allclose(conf, stored["confidence"].to_numpy(), rtol=0, atol=1e-9)
    want = scale.cluster_edges(edges, len(stored), result["threshold"], progress=False)[2]
    assert ours.report == want


def test_clustering_refuses_bad_edges(spark):
    from workbench.spark.clustering import spark_cluster_edges

    with pytest.raises(WorkbenchError, match="lack column"):
        spark_cluster_edges(spark.createDataFrame(pd.DataFrame({"l": [1], "r": [2]})), 0.5)
    with pytest.raises(WorkbenchError, match="negative record position"):
        spark_cluster_edges(spark.createDataFrame(pd.DataFrame({"l": [-3], "r": [2], "score": [0.9]})), 0.5)
