"""The matching stages on Spark: block keys, candidate pairs, scoring, then clustering, as one machine runs them.

Preparing the records and learning blocking stay on the driver and are shared
with the single-machine engine (``pipeline.prepare_and_plan``: blocking is
learned from a sample). Then:

- block keys with ``mapInPandas``, by ``blocking.block_keys`` and ``scale.sort_keys``
  per partition (one implementation of the keys);
- candidate pairs with ``scale.candidate_pairs``' caps: blocks up to ``MAX_BLOCK``
  paired in full, larger ones windowed in ``sk`` order (keys shuffled once by block,
  paired per partition in ``mapInPandas``, then one ``distinct``);
- scoring with the model's featurizer and classifier in ``mapInPandas`` over
  Arrow; the model travels to the workers as its document (never a pickle of it);
- the kept edges are collected: the run's store writes them from the driver on
  both engines. Components are then completed on the driver's edges exactly as
  one machine does (``scale.complete_components``), the added pairs scored on
  Spark; labels applied; then components and clustering per component on Spark
  (``workbench.spark.clustering``).
"""

from __future__ import annotations

import time
import uuid
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench import artifacts
from workbench.errors import WorkbenchError
from workbench.matching import scale
from workbench.matching.blocking import BlockingPlan, block_keys
from workbench.matching.labels import Label
from workbench.matching.pipeline import PlanLearner, ScoredRun, _apply_labels, prepare_and_plan
from workbench.matching.prepared_store import write_prepared
from workbench.matching.trained import MatchModel
from workbench.spark.session import require_pyspark

#: Models rebuilt from their document in this Python worker, by broadcast id (workers are reused).
_MODELS: dict[str, MatchModel] = {}
#: Broadcast record fields rebuilt in this Python worker, by their broadcast (while PySpark keeps it here).
_FIELDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: Most records whose fields are broadcast to the Python workers for scoring by position (each
#: worker holds them: distinct values once, an int32 code per record and field); past it pairs
#: are joined to the records' text.
BROADCAST_RECORDS = 2_000_000
#: Rows per row group of the prepared records' file (``artifacts.SPARK_RECORDS``).
RECORDS_ROW_GROUP = 100_000


def spark_scoring(spark: Any, model: MatchModel, raw: pd.DataFrame, folder: Path, *, labels: Sequence[Label] = (),
                  learn: PlanLearner | None = None, progress: Any = True) -> ScoredRun:
    """``pipeline.run_scoring`` of one dataset (deduplication) with the keys, pairs and scores worked on Spark."""
    require_pyspark()
    left_all, right_all, plan, log = prepare_and_plan(model, raw, None, folder, learn=learn, progress=progress)
    keys_arr = left_all.index.to_numpy()
    t = time.perf_counter()
    write_prepared(folder, left_all, model.featurizer.names)  # what the next update pairs its new records with
    log.time("keep prepared", t)
    records = ship_records(spark, left_all[model.featurizer.names], folder)
    del left_all, right_all  # shipped: the prepared strings that are not the raw records' own go (1M: ~0.25 GB)
    edges, scorer = score_stages(spark, model, records, plan, log, spark_candidate_pairs)
    threshold = model.threshold

    # Complete components as one machine does, on the driver's copy of the edges (the store writes
    # them from there anyway): exact parity. Only the pairs it adds are scored, on Spark.
    t = _stage(spark, "complete components")
    n_before = len(edges)
    edges = scale.complete_components(edges, threshold, scorer.positions)
    log.time("complete components", t)
    log.figures["component_pairs_added"] = len(edges) - n_before
    spark.sparkContext.setJobDescription(None)
    (folder / artifacts.SPARK_RECORDS).unlink(missing_ok=True)  # every pair is scored
    edges = _apply_labels(labels, edges, keys_arr, keys_arr, len(keys_arr), True)
    return ScoredRun(folder, keys_arr, keys_arr, edges, plan, log, threshold, model)


def score_stages(spark: Any, model: MatchModel, records: ShippedRecords, plan: BlockingPlan, log: scale.StageLog,
                 pairs_of: Callable[[Any], tuple[Any, dict]]) -> tuple[pd.DataFrame, PairScorer]:
    """Block keys, candidate pairs (``pairs_of(keys)``: the Spark pairs and their counts) and scores of the
    shipped prepared ``records`` (the model's fields, by position) on Spark, each stage timed in ``log``: the
    kept edges (``l``, ``r``, ``score`` at least half the threshold, in ``l, r`` order) and the scorer (for
    more pairs)."""
    names = model.featurizer.names

    t = _stage(spark, "block keys")
    keys = keys_frame(records.frame, plan.predicates, names).persist()
    log.figures["block_keys"] = keys.count()  # materialized here, so the stage's time is its own
    log.time("block keys", t)

    t = _stage(spark, "candidate pairs")
    pairs, counts = pairs_of(keys)
    pairs = pairs.persist()
    counts["pairs"] = pairs.count()
    keys.unpersist()
    log.time("candidate pairs", t)
    log.figures.update(counts)

    t = _stage(spark, "score")
    scorer = PairScorer(spark, model, records)
    edges = scorer.scored(pairs, min_score=min(0.5, model.threshold) / 2).toPandas()
    edges = edges.sort_values(["l", "r"], kind="stable", ignore_index=True)
    pairs.unpersist()
    log.time("score", t)
    log.figures.update({"scored": int(counts["pairs"]), "kept": len(edges), "engine": "spark"})
    return edges, scorer


def cluster_on_spark(spark: Any, scored: ScoredRun) -> tuple[np.ndarray, np.ndarray, dict]:
    """``scale.cluster_edges`` of a run's edges on Spark: (cluster position, confidence, report) per record."""
    from workbench.spark.clustering import spark_cluster_edges

    _stage(spark, "cluster")
    edges = spark.createDataFrame(scored.edges[["l", "r", "score"]].astype({"l": "int64", "r": "int64",
                                                                              "score": "float32"}),
                                  schema="l long, r long, score float")
    result = spark_cluster_edges(edges, scored.threshold)
    cluster, confidence = result.arrays(len(scored.left_keys))
    spark.sparkContext.setJobDescription(None)
    return cluster, confidence, result.report


def _stage(spark: Any, stage: str) -> float:
    """Start a stage: its Spark jobs are described ``workbench: <stage>`` (the UI and benchmarks read it); the time."""
    spark.sparkContext.setJobDescription(f"workbench: {stage}")
    return time.perf_counter()


# -- stages ------------------------------------------------------------------------
@dataclass
class ShippedRecords:
    """Prepared records handed to Spark (:func:`ship_records`): nothing in it holds their text as Python strings."""

    #: :func:`records_frame`: ``rid`` (position), ``c0``.. (the fields in order).
    frame: Any
    n_fields: int
    #: Per field, :func:`_factorized` (for :class:`PairScorer`'s broadcast); None to join the records instead.
    fields: list[tuple[np.ndarray, Any]] | None


def ship_records(spark: Any, prepared: pd.DataFrame, folder: Path | None = None, *,
                 broadcast: bool | None = None) -> ShippedRecords:
    """``prepared`` (the model's fields in order, by position) for Spark: the records frame, and the fields
    factorized for scoring by position if ``broadcast`` (default: up to :data:`BROADCAST_RECORDS` records).

    On a local master with a run ``folder``, the records frame reads them from a Parquet file there
    (``artifacts.SPARK_RECORDS``, which the caller deletes once scored) instead of the driver's JVM holding them
    (:func:`records_frame`). Neither keeps the driver's strings alive (the distinct values go to Arrow), so
    a caller that drops ``prepared`` afterwards gets that memory back.
    """
    local = str(spark.sparkContext.master).startswith("local")
    frame = records_frame(spark, prepared, folder / artifacts.SPARK_RECORDS if local and folder is not None else None)
    if broadcast is None:
        broadcast = len(prepared) <= BROADCAST_RECORDS
    columns = list(prepared.columns)
    fields = [_factorized(values) for values in scale.to_columns(prepared, columns)] if broadcast else None
    return ShippedRecords(frame, len(columns), fields)


def records_frame(spark: Any, prepared: pd.DataFrame, path: Path | None = None) -> Any:
    """Prepared records as a Spark DataFrame ``rid`` (position), ``c0``.. (fields in order, text or null).

    Columns are renamed: a field's name need not be a valid Spark column name. Without ``path``,
    ``createDataFrame``: the driver's JVM holds the records for the frame's lifetime. At 1M records with
    Spark's default 1g heap that made no difference to the JVM's peak (1,463 MB against 1,424 MB from a
    file), but 5M generated customers ran it out of heap (``OutOfMemoryError`` in
    ``readArrowStreamFromFile``). With ``path`` (a new Parquet file Spark's executors can read), the
    records are written there a row group at a time and Spark streams them from it.
    """
    cols = {"rid": np.arange(len(prepared), dtype="int64")}
    for i, name in enumerate(prepared.columns):
        values = scale.to_columns(prepared, [name])[0]
        odd = next((v for v in values if v is not None and not isinstance(v, str)), None)
        if odd is not None:
            raise WorkbenchError(f"prepared field {name!r} holds a {type(odd).__name__} ({odd!r}), not text: "
                                 "the Spark engine ships prepared fields as text")
        cols[f"c{i}"] = values
    schema = ", ".join(["rid long"] + [f"c{i} string" for i in range(len(prepared.columns))])
    if path is None:
        return spark.createDataFrame(pd.DataFrame(cols), schema=schema)
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow_schema = pa.schema([("rid", pa.int64())] + [(f"c{i}", pa.string()) for i in range(len(prepared.columns))])
    with pq.ParquetWriter(path, arrow_schema) as writer:  # a row group at a time: bounded Arrow memory
        for start in range(0, len(prepared), RECORDS_ROW_GROUP):
            writer.write_table(pa.table({c: pa.array(v[start:start + RECORDS_ROW_GROUP],
                                                     type=arrow_schema.field(c).type)
                                         for c, v in cols.items()}, schema=arrow_schema))
    return spark.read.schema(schema).parquet(str(path))


def _fields(batch: pd.DataFrame, prefix: str, n_fields: int) -> list[np.ndarray]:
    """A batch's fields as ``scale.to_columns`` gives them: one object array each, None for missing."""
    return scale.to_columns(batch, [f"{prefix}{i}" for i in range(n_fields)])


def keys_frame(records: Any, predicates: Sequence, names: Sequence[str]) -> Any:
    """Block keys of every record (``rid``, ``pred``, ``key``, ``sk``), as ``scale.write_block_keys`` writes them.

    ``names``: the fields of ``records``' columns ``c0``.. in order (the predicates read them by name).
    """
    names = list(names)

    def keyed(batches):
        for batch in batches:
            fields = _fields(batch, "c", len(names))
            chunk = pd.DataFrame(dict(zip(names, fields, strict=True)))
            keys = block_keys(chunk, predicates)
            pos = keys["rid"].to_numpy()
            yield pd.DataFrame({"rid": batch["rid"].to_numpy("int64")[pos], "pred": keys["pred"].astype("int32"),
                                "key": keys["key"].astype(object),
                                "sk": scale.sort_keys(chunk).to_numpy()[pos]})

    return records.mapInPandas(keyed, "rid long, pred int, key string, sk string")


def spark_candidate_pairs(keys: Any, *, max_block: int = scale.MAX_BLOCK, window: int | None = None) -> tuple[Any, dict]:
    """Distinct pairs (``l`` < ``r``) of a dedupe join on block keys, and the windowed blocks' counts.

    ``scale.candidate_pairs``' rule: blocks up to ``max_block`` records are
    paired in full; in a larger one each record is paired with the ``window``
    records after it in ``sk, rid`` order. The keys are shuffled once by block
    and each partition, sorted by block, ``sk`` and ``rid``, is paired in
    ``mapInPandas`` (:func:`_block_pairs`); then one ``distinct``. The
    equivalent self-join in Spark SQL shuffled the keys four times and took
    2.5x as long (100k records, local[2]).
    """
    from pyspark.sql import functions as F

    window = scale.WINDOW if window is None else window

    def paired(batches):
        carry = None  # a partition's batches cut blocks anywhere: the last block waits for the next batch
        for batch in batches:
            batch = batch if carry is None else pd.concat([carry, batch], ignore_index=True)
            pred, key = batch["pred"].to_numpy(), batch["key"].to_numpy()
            last = len(batch) - 1
            while last > 0 and pred[last - 1] == pred[-1] and key[last - 1] == key[-1]:
                last -= 1
            yield _block_pairs(batch.iloc[:last], max_block, window)
            carry = batch.iloc[last:]
        if carry is not None:
            yield _block_pairs(carry, max_block, window)

    pairs = (keys.where(F.col("key").isNotNull()).select("pred", "key", "rid", "sk")
             .repartition("pred", "key").sortWithinPartitions("pred", "key", "sk", "rid")
             .mapInPandas(paired, "l long, r long").distinct())
    n_blocks, n_records = (keys.where(F.col("key").isNotNull()).groupBy("pred", "key").agg(F.count(F.lit(1)).alias("n"))
                           .where(F.col("n") > max_block)
                           .agg(F.count(F.lit(1)), F.coalesce(F.sum("n"), F.lit(0))).first())
    return pairs, {"windowed_blocks": int(n_blocks), "windowed_block_records": int(n_records)}


def _block_pairs(keys: pd.DataFrame, max_block: int, window: int) -> pd.DataFrame:
    """Pairs ``l`` < ``r`` of whole blocks of ``keys`` (``pred``, ``key``, ``rid``), sorted by block, ``sk``, ``rid``.

    As ``scale.candidate_pairs``' SQL: every pair of distinct records in a block
    of 2 to ``max_block`` rows; in a larger block each row with the ``window``
    rows after it. Duplicates across blocks are left to the caller's distinct.
    """
    pred, key, rid = keys["pred"].to_numpy(), keys["key"].to_numpy(), keys["rid"].to_numpy("int64")
    n = len(rid)
    ls, rs = [np.empty(0, "int64")], [np.empty(0, "int64")]
    if n > 1:
        new = np.ones(n, dtype=bool)
        new[1:] = (pred[1:] != pred[:-1]) | (key[1:] != key[:-1])
        starts = np.flatnonzero(new)
        sizes = np.diff(np.append(starts, n))
        for size in np.unique(sizes[(sizes > 1) & (sizes <= max_block)]):
            i, j = np.triu_indices(size, 1)
            first = starts[sizes == size][:, None]
            ls.append(rid[(first + i).ravel()])
            rs.append(rid[(first + j).ravel()])
        if (sizes > max_block).any():
            in_big = np.repeat(sizes > max_block, sizes)
            end = np.repeat(starts + sizes, sizes)
            at = np.arange(n)
            for step in range(1, window + 1):
                a = np.flatnonzero(in_big & (at + step < end))
                ls.append(rid[a])
                rs.append(rid[a + step])
    left, right = np.concatenate(ls), np.concatenate(rs)
    distinct = left != right
    left, right = left[distinct], right[distinct]
    return pd.DataFrame({"l": np.minimum(left, right), "r": np.maximum(left, right)})


class PairScorer:
    """Scores pairs of record positions on Spark with a model, its document broadcast to the workers.

    When ``records`` carry their fields factorized (:func:`ship_records`, up to
    :data:`BROADCAST_RECORDS` records), the fields are broadcast too and each
    Python worker scores pairs by position with ``scale.score_positions``, as one
    machine does: only ``l``, ``r`` travel over Arrow. Otherwise the pairs are
    joined to the records frame twice and every pair carries both records' text
    (100k records: 49 s against 23 s, local[2]).
    """

    def __init__(self, spark: Any, model: MatchModel, records: ShippedRecords):
        freq = model.featurizer.name_freq
        document = {
            "doc": model.to_dict(),
            "names": None if freq is None else freq.index.astype(str).to_numpy(object),
            "frequencies": None if freq is None else freq.to_numpy(dtype=float),
            "min_freq": float(model.featurizer.min_freq),
        }
        self.spark, self.records, self.n_fields = spark, records.frame, records.n_fields
        self.model_id = uuid.uuid4().hex
        self.document = spark.sparkContext.broadcast(document)
        self.fields = None if records.fields is None else spark.sparkContext.broadcast(records.fields)

    def scored(self, pairs: Any, *, min_score: float | None = None, keep: str | None = None) -> Any:
        """``pairs`` (``l``, ``r`` and an optional ``keep`` column) with ``score`` (float), those >= ``min_score``."""
        from pyspark.sql import functions as F

        n = self.n_fields
        document, model_id, fields = self.document, self.model_id, self.fields
        extra = [keep] if keep else []

        def out(batch: pd.DataFrame, scores: np.ndarray) -> pd.DataFrame:
            frame = pd.DataFrame({"l": batch["l"].to_numpy("int64"), "r": batch["r"].to_numpy("int64"),
                                  **{c: batch[c].to_numpy() for c in extra}, "score": scores.astype("f4")})
            return frame if min_score is None else frame[frame["score"].to_numpy() >= min_score]

        def by_position(batches):
            model = _worker_model(model_id, document.value)
            columns = _worker_fields(fields)
            for batch in batches:
                yield out(batch, scale.score_positions(batch["l"].to_numpy("int64"), batch["r"].to_numpy("int64"),
                                                       columns, columns, model.featurizer.columns, model.predict))

        def by_text(batches):
            model = _worker_model(model_id, document.value)
            featurize, predict = model.featurizer.columns, model.predict
            for batch in batches:
                yield out(batch, predict(featurize(_fields(batch, "a", n), _fields(batch, "b", n))))

        schema = "l long, r long, " + "".join(f"{c} long, " for c in extra) + "score float"
        if fields is not None:
            return pairs.select("l", "r", *extra).mapInPandas(by_position, schema)
        left = self.records.select(F.col("rid").alias("l"), *[F.col(f"c{i}").alias(f"a{i}") for i in range(n)])
        right = self.records.select(F.col("rid").alias("r"), *[F.col(f"c{i}").alias(f"b{i}") for i in range(n)])
        return pairs.join(left, "l").join(right, "r").mapInPandas(by_text, schema)

    def positions(self, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
        """Scores of the pairs at positions ``li``, ``ri``, in their order (``scale.score_positions`` on Spark)."""
        if not len(li):
            return np.empty(0, dtype="f8")
        todo = self.spark.createDataFrame(pd.DataFrame({"l": np.asarray(li, "int64"), "r": np.asarray(ri, "int64"),
                                                        "i": np.arange(len(li), dtype="int64")}),
                                          schema="l long, r long, i long")
        out = self.scored(todo, keep="i").select("i", "score").toPandas()
        scores = np.empty(len(li), dtype="f8")
        scores[out["i"].to_numpy()] = out["score"].to_numpy()
        return scores


def _factorized(values: np.ndarray) -> tuple[np.ndarray, Any]:
    """A field as (codes, distinct values with null last, an Arrow string array): what repeats (cities,
    names) travels once, and the distinct values are copied out of the driver's Python strings."""
    import pyarrow as pa

    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    codes[codes < 0] = len(uniques)
    return codes.astype("int32"), pa.array([*uniques, None], type=pa.string())


class _Coded:
    """A factorized field that indexes like its object array (``scale.to_columns``' form): ``column[positions]``
    gives the values, built per batch instead of a Python object per record held for the whole run."""

    def __init__(self, codes: np.ndarray, uniques: np.ndarray):
        self.codes, self.uniques = codes, uniques

    def __getitem__(self, positions: np.ndarray) -> np.ndarray:
        return self.uniques[self.codes[positions]]

    def __len__(self) -> int:
        return len(self.codes)


def _worker_fields(fields: Any) -> list[_Coded]:
    """The broadcast fields (a Broadcast of :func:`_factorized` fields) as columns that index like
    ``scale.to_columns``' object arrays, rebuilt once per Python worker and freed with the broadcast:
    PySpark drops a broadcast from a worker as soon as it runs a task without it, so the clustering that
    follows the scoring does not carry the records' fields in every worker."""
    columns = _FIELDS.get(fields)
    if columns is None:
        columns = [_Coded(codes, uniques.to_numpy(zero_copy_only=False)) for codes, uniques in fields.value]
        _FIELDS[fields] = columns
    return columns


def _worker_model(model_id: str, document: dict) -> MatchModel:
    """The model of a broadcast document, rebuilt once per Python worker as ``MatchModel.load`` rebuilds it."""
    model = _MODELS.get(model_id)
    if model is None:
        from workbench.matching import vectorized

        vectorized.THREADS = 1  # Spark's tasks are the parallelism, as the process pool's workers are
        model = MatchModel.from_dict(document["doc"], source="the Spark engine's model")
        if document["names"] is not None:
            model.featurizer.name_freq = pd.Series(document["frequencies"], index=document["names"])
            model.featurizer.min_freq = document["min_freq"]
        _MODELS.clear()
        _MODELS[model_id] = model
    return model
