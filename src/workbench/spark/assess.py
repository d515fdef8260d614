"""Rule checks on a Spark DataFrame: the pandas path's rules, counts and first failures, past one machine.

::

    from workbench.spark.assess import run_checks_spark
    res = run_checks_spark(sdf, "rules.yaml", key="customer_id")      # or a RuleSet, or a list of rules
    res = run_checks_spark(sdf, schema=schema)                        # zero-config rules from the roles
    res.summary, res.counts(), res.failures

Every rule runs the one implementation ``workbench.checks.runner`` runs on
pandas (``rule_statuses``), so counts are those of ``run_checks`` on the same
rows:

- rules whose answer for a row depends only on that row (pandera's
  ``determined_by_unique``) run in ``mapInPandas``, on chunks of Arrow batches;
- ``grouped`` kinds (``unique``, ``consistent_mapping``) compare a row only with
  the rows sharing its first prepared value: a ``mapInPandas`` prepares each
  row with the check's own code and hashes that value into a bucket, and
  ``applyInPandas`` runs the check bucket by bucket, each bucket holding whole
  groups;
- per rule, Spark sums the chunks' counts and keeps the first ``examples``
  failures in row order; only those small rows reach the driver.

Expressions read a column as numbers, dates or text from its first distinct
values, guessed once on the driver as the pandas path guesses it. pandera's
pyspark backend is not used: its checks answer pass/fail per column
(``filter(~cond).limit(1).count() == 0``), not per row, and its built-ins are
Spark SQL (Java regexes, no blank folding), so counts could not match.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.checks import validators as v
from workbench.checks.defaults import MIN_CONFIDENCE, STALE_YEARS, confident_schema, default_rules
from workbench.checks.library import Context, Rule, checked_region
from workbench.checks.rules_file import RuleSet, load_rules
from workbench.checks.runner import (
    FAIL,
    UNTESTED,
    check_runnable,
    failure_values,
    guess_column_type,
    prepared_rows,
    rule_statuses,
    rule_summary,
)
from workbench.errors import WorkbenchError
from workbench.schema import Role, Schema
from workbench.spark.session import require_pyspark

__all__ = ["SparkCheckResults", "run_checks_spark", "spark_default_rules"]

#: Failures kept per rule, as ``workbench.assess`` stores them.
EXAMPLES = 5
_RID = "__workbench_rid"
_BUCKET = "__workbench_bucket"
#: Distinct values fetched to guess an expression column's type (the guess reads 2,000 non-blank ones).
_TYPE_SAMPLE = 2100
#: Rows a worker checks at once: Arrow batches (10,000 rows) are joined up to this many, because the
#: rules validate each distinct value of a chunk once and customer values recur across batches
#: (200k generated rows, 19 row-local rules, one process: 18 s whole, 21 s in 100k chunks, 53 s in 10k).
CHUNK_ROWS = 100_000
_PARTIAL = ("kind string, rule string, tested long, failed long, row_id long, key string, value string")


@dataclass
class SparkCheckResults:
    """What ``run_checks_spark`` gives: ``CheckResults``' summary and counts, and the first failures per rule."""

    rules: list[Rule]
    summary: pd.DataFrame
    #: Up to ``examples`` failures per rule, in row order: rule, key (as text), column, value, row_id
    #: (Spark's ``monotonically_increasing_id`` of the row, not a position).
    failures: pd.DataFrame
    as_of: pd.Timestamp
    default_region: str | None

    def __repr__(self) -> str:
        failed = int((~self.summary["passed"]).sum()) if self.rules else 0
        return f"<SparkCheckResults rules={len(self.rules)} not_passed={failed}>"

    def counts(self) -> pd.Series:
        """Failures per rule, as ``CheckResults.counts``."""
        return pd.Series(self.summary["failed"].to_numpy(), index=[r.name for r in self.rules], name="failed",
                         dtype="int64")


def run_checks_spark(
    frame: Any,
    rules: RuleSet | Iterable[Rule] | str | Path | None = None,
    *,
    schema: Schema | None = None,
    key: str | None = None,
    as_of: pd.Timestamp | str | None = None,
    references: Mapping[str, Any] | Callable[[str], Any] | None = None,
    default_region: str | None = None,
    examples: int = EXAMPLES,
    buckets: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> SparkCheckResults:
    """``run_checks`` on a Spark DataFrame: the same rules, the same counts, the first failures per rule.

    ``rules``: a ``RuleSet``, rules, a rules YAML path, or None for the
    zero-config rules of ``schema`` (``spark_default_rules``). ``key`` (default:
    the schema's) names the column failures are reported by. ``references``
    are resolved on the driver and shipped as values. ``buckets``: groups of
    rows per grouped rule (default ``spark.sql.shuffle.partitions``);
    ``chunk_rows``: rows a worker checks at once (memory against repeated
    work on values that recur). A rule no Spark plan exists for raises
    ``WorkbenchError`` naming it; a rule that cannot run raises what
    ``run_checks`` raises.
    """
    require_pyspark()
    columns = [str(c) for c in frame.columns]
    if rules is None:
        if schema is None:
            raise WorkbenchError("zero-config rules need the dataset's schema: pass schema= "
                                 "(workbench.schema.infer_schema on a sample, or the workspace dataset's)")
        rules = spark_default_rules(frame, schema, default_region=default_region)
    elif isinstance(rules, str | Path):
        rules = load_rules(rules, columns=columns)
    if key is None and schema is not None:
        key = schema.key
    if default_region is None and isinstance(rules, RuleSet):
        default_region = rules.default_region
    if default_region is not None:
        default_region = checked_region(default_region)
    rule_list = list(rules)
    check_runnable(rule_list, columns, key)
    stamp = pd.Timestamp.now() if as_of is None else pd.Timestamp(as_of)
    plan = _Plan.make(frame, rule_list, stamp, references, default_region, key, examples, chunk_rows)
    tested, failed, found = plan.run(frame, buckets)
    failures = _failures_frame(rule_list, found)
    return SparkCheckResults(rule_list, rule_summary(rule_list, tested, failed), failures, stamp, default_region)


def spark_default_rules(frame: Any, schema: Schema, *, default_region: str | None = None,
                        min_confidence: float = MIN_CONFIDENCE, stale_years: float = STALE_YEARS) -> RuleSet:
    """``default_rules(schema, frame)`` for a Spark DataFrame: the country counts come from Spark."""
    if default_region is None:
        country = confident_schema(schema, min_confidence).column_for(Role.COUNTRY)
        if country is not None and country in frame.columns:
            default_region = _common_region(frame, country)
    return default_rules(schema, None, default_region=default_region, min_confidence=min_confidence,
                         stale_years=stale_years)


def _common_region(frame: Any, column: str) -> str | None:
    """``standardize.common_region`` over Spark's counts per distinct value: the most rows, ties to the first code."""
    from workbench.standardize import country_code

    counts = frame.groupBy(column).count().toPandas()
    codes = counts[column].map(lambda x: None if x is None else country_code(x))
    per_code = counts.assign(code=codes).dropna(subset=["code"]).groupby("code")["count"].sum()
    if per_code.empty:
        return None
    return str(sorted(per_code[per_code == per_code.max()].index)[0])


# --------------------------------------------------------------------------
# the plan: which rules run row by row, which group by group


@dataclass
class _Plan:
    rules: list[Rule]
    local: list[Rule]
    grouped: list[Rule]
    key: str | None
    examples: int
    as_of: pd.Timestamp
    references: dict[str, Any] | None
    default_region: str | None
    types: dict[str, str]
    chunk_rows: int

    @classmethod
    def make(cls, frame: Any, rules: list[Rule], as_of: pd.Timestamp, references: Any, region: str | None,
             key: str | None, examples: int, chunk_rows: int) -> _Plan:
        rules = [_portable(r) for r in rules]
        ctx = Context(as_of=as_of, references=references, default_region=region)
        local, grouped = [], []
        for rule in rules:
            if _row_local(rule, ctx):
                local.append(rule)
            elif rule.kind.grouped:
                grouped.append(rule)
            else:
                raise WorkbenchError(f"rule {rule.name!r} ({rule.check}) cannot run on Spark: a row's answer "
                                     "depends on other rows in a way no partitioning captures; "
                                     "run it with workbench.checks.run_checks on pandas")
        expression_cols = sorted({c for r in _flat(rules) if r.check == "expression" for c in r.columns})
        types = {c: _column_type(frame, c) for c in expression_cols}
        return cls(rules, local, grouped, key, max(int(examples), 0), as_of, _shipped_references(rules, references),
                   region, types, max(int(chunk_rows), 1))

    def run(self, frame: Any, buckets: int | None) -> tuple[list[int], list[int], list[dict[str, Any]]]:
        from pyspark.sql import Window
        from pyspark.sql import functions as F
        from pyspark.sql.types import LongType, StructField, StructType

        with_id = frame.withColumn(_RID, F.monotonically_increasing_id())
        parts = []
        if self.local:
            cols = _needed(self.local, self.key)
            parts.append(with_id.select(*cols, _RID).mapInPandas(self._chunk_fn(self.local), _PARTIAL))
        if self.grouped:
            n = int(buckets or frame.sparkSession.conf.get("spark.sql.shuffle.partitions"))
        for rule in self.grouped:
            rows = with_id.select(*_needed([rule], self.key), _RID)
            schema = StructType([*rows.schema.fields, StructField(_BUCKET, LongType())])
            keyed = rows.mapInPandas(self._bucket_fn(rule, n), schema).where(F.col(_BUCKET).isNotNull())
            parts.append(keyed.groupBy(_BUCKET).applyInPandas(self._group_fn(rule), _PARTIAL))
        if not parts:
            return [], [], []  # no rules
        partials = reduce(lambda a, b: a.unionByName(b), parts)
        # one pass over the partials: a second reference to them would run every rule twice
        first = Window.partitionBy("rule", "kind").orderBy("row_id")
        kept = (partials.withColumn("n", F.row_number().over(first))
                .where((F.col("kind") != "example") | (F.col("n") <= self.examples)).drop("n"))
        return self._totals([r.asDict() for r in kept.collect()])

    def _totals(self, rows: list[dict[str, Any]]) -> tuple[list[int], list[int], list[dict[str, Any]]]:
        order = {r.name: i for i, r in enumerate(self.rules)}
        errors = sorted((order[r["rule"]], r["value"]) for r in rows if r["kind"] == "error")
        if errors:  # the first rule in order that could not run, as run_checks reports it
            raise WorkbenchError(errors[0][1])
        tested, failed = {}, {}
        for r in rows:
            if r["kind"] == "count":
                tested[r["rule"]] = tested.get(r["rule"], 0) + r["tested"]
                failed[r["rule"]] = failed.get(r["rule"], 0) + r["failed"]
        found = [r for r in rows if r["kind"] == "example"]
        names = list(order)
        return [tested.get(n, 0) for n in names], [failed.get(n, 0) for n in names], found

    # -- what runs on the workers (closures over plain data) -----------------------

    def _statuses(self, data: pd.DataFrame, rules: list[Rule]) -> np.ndarray:
        return rule_statuses(data, rules, as_of=self.as_of, references=self.references,
                             default_region=self.default_region, column_type=self.types.__getitem__)

    def _partials(self, pdf: pd.DataFrame, rules: list[Rule], status: np.ndarray,
                  kept: list[int]) -> list[dict[str, Any]]:
        """Example rows for the failures of ``pdf`` (up to ``examples`` per rule minus those ``kept``)."""
        out = []
        for i, rule in enumerate(rules):
            pos = np.flatnonzero(status[i] == FAIL)[: self.examples - kept[i]]
            if not len(pos):
                continue
            kept[i] += len(pos)
            values = failure_values(pdf, rule.columns, pos, labelled=len(rule.columns) > 1 or rule.column is None)
            ids = pdf[_RID].to_numpy()[pos]
            keys = pdf[self.key].iloc[pos] if self.key is not None else [None] * len(pos)
            for rid, k, val in zip(ids, keys, values, strict=True):
                out.append({"kind": "example", "rule": rule.name, "tested": 0, "failed": 0, "row_id": int(rid),
                            "key": None if _missing(k) else str(k), "value": val})
        return out

    def _evaluate(self, batches: Iterable[pd.DataFrame], rules: list[Rule]) -> pd.DataFrame:
        tested = np.zeros(len(rules), dtype=np.int64)
        failed = np.zeros(len(rules), dtype=np.int64)
        kept = [0] * len(rules)
        rows: list[dict[str, Any]] = []
        try:
            for pdf in batches:
                pdf = pdf.reset_index(drop=True)
                status = self._statuses(pdf, rules)
                tested += (status != UNTESTED).sum(axis=1)
                failed += (status == FAIL).sum(axis=1)
                rows += self._partials(pdf, rules, status, kept)
        except WorkbenchError:  # reported on the driver with the pandas path's message
            return _frame([self._first_error(pdf, rules)])
        rows += [{"kind": "count", "rule": r.name, "tested": int(t), "failed": int(f)}
                 for r, t, f in zip(rules, tested, failed, strict=True)]
        return _frame(rows)

    def _first_error(self, pdf: pd.DataFrame, rules: list[Rule]) -> dict[str, Any]:
        for rule in rules:  # one by one, to name the first rule that cannot run on these rows
            try:
                self._statuses(pdf, [rule])
            except WorkbenchError as exc:
                return {"kind": "error", "rule": rule.name, "value": str(exc)}
        raise AssertionError("a rule failed together with the others but not alone")

    def _chunk_fn(self, rules: list[Rule]) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
        def chunks(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            yield self._evaluate(_joined(batches, self.chunk_rows), rules)
        return chunks

    def _group_fn(self, rule: Rule) -> Callable[[pd.DataFrame], pd.DataFrame]:
        def group(pdf: pd.DataFrame) -> pd.DataFrame:
            return self._evaluate([pdf.sort_values(_RID, kind="stable")], [rule])
        return group

    def _bucket_fn(self, rule: Rule, n: int) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
        ctx = Context(as_of=self.as_of, references=self.references, default_region=self.default_region,
                      column_type=self.types.__getitem__)

        def bucket(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            for pdf in batches:
                pdf = pdf.reset_index(drop=True)
                prepared = prepared_rows(rule, pdf[rule.columns], ctx)
                first = (prepared if isinstance(prepared, pd.Series) else prepared.iloc[:, 0]).dropna()
                out = pd.Series(pd.NA, index=pdf.index, dtype="Int64")
                if len(first):  # the value as text: equal values (2134 and 2134.0) share a bucket
                    texts = np.asarray([v.as_text(x) for x in first], dtype=object)
                    out.loc[first.index] = (pd.util.hash_array(texts) % np.uint64(n)).astype(np.int64)
                yield pdf.assign(**{_BUCKET: out})
        return bucket


# --------------------------------------------------------------------------
# helpers


def _joined(batches: Iterable[pd.DataFrame], rows: int) -> Iterator[pd.DataFrame]:
    """The batches concatenated into chunks of about ``rows`` rows, in order."""
    held: list[pd.DataFrame] = []
    size = 0
    for batch in batches:
        held.append(batch)
        size += len(batch)
        if size >= rows:
            yield pd.concat(held, ignore_index=True)
            held, size = [], 0
    if held:
        yield pd.concat(held, ignore_index=True)


def _row_local(rule: Rule, ctx: Context) -> bool:
    if rule.check == "any_valid":
        return all(_row_local(sub, ctx) for sub in rule.params["rules"])
    return bool(rule.kind.compile(rule, ctx).check.determined_by_unique)


def _flat(rules: Iterable[Rule]) -> Iterator[Rule]:
    for rule in rules:
        yield rule
        if rule.check == "any_valid":
            yield from _flat(rule.params["rules"])


def _portable(rule: Rule) -> Rule:
    """``rule`` with a callable ``values`` called here, so workers get values, not the caller's objects."""
    if rule.check == "any_valid":
        return dataclasses.replace(rule, params={**rule.params, "rules": [_portable(r) for r in rule.params["rules"]]})
    if rule.check == "referential" and callable(rule.params.get("values")):
        return dataclasses.replace(rule, params={**rule.params, "values": _values(rule.params["values"]())})
    return rule


def _shipped_references(rules: list[Rule], references: Any) -> dict[str, Any] | None:
    """The reference values the rules name, as plain lists (a workspace resolver cannot travel)."""
    if references is None:
        return None
    sources = {r.params["source"] for r in _flat(rules) if r.check == "referential" and r.params.get("source")}
    if callable(references):
        return {s: _values(references(s)) for s in sources}
    return {s: _values(references[s]) for s in sources if s in references}


def _values(values: Any) -> list[Any]:
    other = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    return list(pd.unique(other.dropna()))


def _column_type(frame: Any, column: str) -> str:
    """The pandas path's guess, on the column's first distinct values in row order."""
    from pyspark.sql import functions as F

    first = (frame.select(F.col(column).alias("v"), F.monotonically_increasing_id().alias(_RID))
             .where(F.col("v").isNotNull()).groupBy("v").agg(F.min(_RID).alias(_RID))
             .orderBy(_RID).limit(_TYPE_SAMPLE).toPandas())
    return guess_column_type(pd.DataFrame({column: first["v"]}), column)


def _needed(rules: list[Rule], key: str | None) -> list[str]:
    cols = [c for r in rules for c in r.columns]
    return list(dict.fromkeys(cols + ([key] if key is not None else [])))


def _missing(x: Any) -> bool:
    return x is None or (not isinstance(x, str) and bool(pd.isna(x)))


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Partial rows in ``_PARTIAL``'s shape (integers stay exact: no float detour for missing ones)."""
    cols = {c: [r.get(c) for r in rows] for c in ("kind", "rule", "tested", "failed", "row_id", "key", "value")}
    return pd.DataFrame({c: pd.array(vals, dtype="Int64") if c in ("tested", "failed", "row_id")
                         else pd.Series(vals, dtype=object) for c, vals in cols.items()})


def _failures_frame(rules: list[Rule], found: list[dict[str, Any]]) -> pd.DataFrame:
    by_name = {r.name: r for r in rules}
    order = {r.name: i for i, r in enumerate(rules)}
    found = sorted(found, key=lambda r: (order[r["rule"]], r["row_id"]))
    return pd.DataFrame({
        "rule": pd.Series([r["rule"] for r in found], dtype=object),
        "key": pd.Series([r["key"] for r in found], dtype=object),
        "column": pd.Series([by_name[r["rule"]].column or ", ".join(by_name[r["rule"]].columns) for r in found],
                            dtype=object),
        "value": pd.Series([r["value"] for r in found], dtype=object),
        "row_id": pd.Series([r["row_id"] for r in found], dtype="int64"),
    })
