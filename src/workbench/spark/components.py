"""Connected components of an edge DataFrame on Spark: on the driver when small, large-star/small-star when not.

The distributed path alternates the large-star and small-star steps of
Kiveris et al., "Connected Components in MapReduce and Beyond" (SoCC 2014) in
the DataFrame API, with no extra jar (graphframes cannot be had here). Plain
min-label propagation needs as many rounds as the longest path in a component
(a chain of a million records: a million rounds; tried here, it did not
converge and ran the driver out of memory); the alternation needs O(log n)
rounds in practice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.spark.session import require_pyspark

#: Edges up to which components are found on the driver: collected over Arrow and solved by
#: scipy. Measured on local[2] (bench_spark_components.py) on random graphs: 1M edges 11-25 s
#: collected against 120 s distributed (6 rounds), 5M edges 23 s against 409 s, the driver's
#: Python peaking under 0.9 GB. Past this the driver's memory, not the time, is the limit,
#: so the graph stays distributed.
COLLECT_MAX_EDGES = 5_000_000


@dataclass
class Components:
    """Each node's component (its smallest node), and how it was found."""

    #: Spark DataFrame ``node`` (long), ``component`` (long, the smallest node of the component).
    frame: Any
    #: Large-star/small-star alternations run (0 on the collected path); each is two star steps.
    rounds: int
    #: Whether the distributed path ran.
    distributed: bool


def connected_components(edges: Any, *, src: str = "l", dst: str = "r", distributed: bool | None = None,
                         max_rounds: int | None = None) -> Components:
    """The connected components of an undirected graph given as a Spark DataFrame of integer ``src``, ``dst``.

    Every node of an edge gets a row; nodes in no edge are not there (a record
    alone is its own component). ``distributed=None`` collects to the driver up
    to :data:`COLLECT_MAX_EDGES` edges and distributes above; True or False
    forces a path (tests, benchmarks). ``max_rounds`` (default
    :func:`round_limit`) guards the distributed loop.
    """
    require_pyspark()
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    for name in (src, dst):
        if name not in edges.columns:
            raise WorkbenchError(f"edges have no column {name!r} (columns: {', '.join(edges.columns)})")
        if not isinstance(edges.schema[name].dataType, T.IntegralType):
            raise WorkbenchError(f"edge column {name!r} must hold integer node ids, not {edges.schema[name].dataType}")
    pairs = edges.select(F.col(src).cast("long").alias("a"), F.col(dst).cast("long").alias("b"))
    n_edges, n_null = pairs.agg(F.count(F.lit(1)), F.count(F.when(F.col("a").isNull() | F.col("b").isNull(), 1))).first()
    if n_null:
        raise WorkbenchError(f"{n_null} edge(s) lack a node id in {src!r} or {dst!r}")
    if distributed is None:
        distributed = n_edges > COLLECT_MAX_EDGES
    if not distributed:
        return Components(_collected(pairs), 0, False)
    frame, rounds = _star_alternation(pairs, round_limit(n_edges) if max_rounds is None else max_rounds)
    return Components(frame, rounds, True)


def round_limit(n_edges: int) -> int:
    """A generous guard on the alternation's rounds: Kiveris et al. prove O(log² n) and observe O(log n)."""
    return max(10, math.ceil(math.log2(n_edges + 2)) ** 2)


def checkpoint(df: Any) -> Any:
    """``df`` materialized with its lineage cut: a reliable checkpoint when the session has a checkpoint dir.

    Without one, a local checkpoint (executors' block storage): as fast and it
    cuts the lineage too (each round otherwise plans over every round before it),
    but a lost executor then fails the job instead of being recomputed.
    """
    has_dir = df.sparkSession.sparkContext.getCheckpointDir() is not None
    return df.checkpoint() if has_dir else df.localCheckpoint()


def _collected(pairs: Any) -> Any:
    """Components on the driver: collect the edges, scipy's connected_components, back to Spark."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as scipy_components

    spark = pairs.sparkSession
    local = pairs.toPandas()
    m = len(local)
    nodes, inverse = np.unique(np.concatenate([local["a"].to_numpy("int64"), local["b"].to_numpy("int64")]),
                               return_inverse=True)
    graph = coo_matrix((np.ones(m, dtype="int8"), (inverse[:m], inverse[m:])), shape=(len(nodes), len(nodes)))
    _, labels = scipy_components(graph, directed=False)
    first = np.unique(labels, return_index=True)[1]  # nodes are sorted: a label's first node is its smallest
    out = pd.DataFrame({"node": nodes, "component": nodes[first][labels]})
    return spark.createDataFrame(out, schema="node long, component long")


def _star_alternation(pairs: Any, max_rounds: int) -> tuple[Any, int]:
    """Large-star then small-star until the graph is a star per component centred on its smallest node.

    Edges are kept directed from the larger node to the smaller (``v`` -> ``p``).
    Each step is one window over a node's edges (one shuffle, no join). The
    fixed point is read off the large-star's window: the graph is stars on
    their minima exactly when no node has two smaller neighbours and none has
    both a smaller and a larger one (then neither step would change an edge),
    so no extra pass compares edge sets.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    directed = pairs.select(F.greatest("a", "b").alias("v"), F.least("a", "b").alias("p"))
    loops_only = directed.where(F.col("v") == F.col("p")).select(F.col("v").alias("node")).distinct()
    edges = checkpoint(directed.where(F.col("v") != F.col("p")).distinct())
    by_u, by_v = Window.partitionBy("u"), Window.partitionBy("v")
    rounds = 0
    while True:
        both = edges.select(F.col("v").alias("u"), F.col("p").alias("w")).unionByName(
            edges.select(F.col("p").alias("u"), F.col("v").alias("w")))
        # a node's neighbourhood: smallest, largest, and largest below the node (its second parent if > lo);
        # min/max ignore the duplicate edges the steps leave, and dropping them after the window by u
        # needs no shuffle of its own
        hood = (both.select("u", "w", F.min("w").over(by_u).alias("lo"), F.max("w").over(by_u).alias("hi"),
                            F.max(F.when(F.col("w") < F.col("u"), F.col("w"))).over(by_u).alias("below"))
                .dropDuplicates(["u", "w"]).persist())
        unsettled = hood.where((F.col("lo") < F.col("u")) & ((F.col("below") > F.col("lo")) | (F.col("hi") > F.col("u"))))
        if unsettled.limit(1).count() == 0:
            break
        if rounds >= max_rounds:
            hood.unpersist()
            raise WorkbenchError(f"connected components did not converge in {max_rounds} rounds")
        rounds += 1
        # large star: every neighbour above u is linked to the smallest of u's closed neighbourhood
        large = hood.where(F.col("w") > F.col("u")).select(F.col("w").alias("v"), F.least("u", "lo").alias("p"))
        # small star: v and its smaller neighbours are linked to the smallest of them
        small = (large.select("v", "p", F.min("p").over(by_v).alias("m")).dropDuplicates(["v", "p"])
                 .select(F.when(F.col("p") == F.col("m"), F.col("v")).otherwise(F.col("p")).alias("v"),
                         F.col("m").alias("p")))
        edges = checkpoint(small)
        hood.unpersist()
    labels = (hood.select(F.col("u").alias("node"), F.least("u", "lo").alias("component"))
              .dropDuplicates(["node"]))
    alone = loops_only.join(labels, "node", "left_anti").select("node", F.col("node").alias("component"))
    frame = checkpoint(labels.unionByName(alone))
    hood.unpersist()
    return frame, rounds
