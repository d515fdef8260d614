"""Cluster review: an analyst's split, merge and verify decisions, kept apart from the model.

Decisions are stored in the workspace the moment they are made (with analyst
and time, and in the audit log) and are replayed over every clustering, so
they survive re-clustering, a new threshold or more labels. Undo marks a
decision undone (an analyst undoes only their own decisions); nothing is deleted.

    rv = ClusterReview(ws, "customers")
    rv.queue(sort="confidence")          # clusters to look at, weakest first
    rv.members(cid), rv.links(cid)       # records side by side, the scored pairs that joined them
    rv.split(key); rv.merge(cid, other); rv.verify(cid); rv.undo()
    current_clusters(ws, "customers")    # latest clustering with every decision applied

How decisions apply (oldest first, each on the partition the previous ones left;
keys no longer in the data are ignored):

- **split** ``[k, *others]``: record ``k`` becomes a cluster of its own. The
  others (its cluster when it was split) stay together as the model grouped
  them; a later merge or verify that names ``k`` can bring it back.
- **merge** ``keys``: every cluster holding one of ``keys`` becomes one
  cluster (records the model has since added to those clusters come along).
- **verify** ``keys``: exactly ``keys`` form one cluster: members the model
  now puts elsewhere are pulled back, records it now adds are left out (they
  stay together as the model grouped them, and come up for review).

A cluster formed by a decision gets ``decision`` = that action (the newest
one that formed it), ``reviewed`` True and confidence 1 (an analyst is
certain, as a label beats the model); records left behind by a split or a
verify keep their model cluster and stay unreviewed. ``cluster_id`` is the
smallest key of a re-formed cluster; clusters no decision touched keep the
model's id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from workbench import access, artifacts, store
from workbench.annotations import Annotation, Annotations, check_tag
from workbench.cluster_ids import restabilized
from workbench.errors import WorkbenchError
from workbench.schema import Role

ACTIONS = ("split", "merge", "verify")
#: Queue orders: weakest clusters first, or biggest first.
SORTS = ("confidence", "size")
CLUSTER_COLUMNS = ["key", "cluster_id", "confidence", "cluster_size", "decision", "reviewed"]

__all__ = [
    "ACTIONS",
    "ClusterReview",
    "Decision",
    "ReviewDecisions",
    "SORTS",
    "apply_decisions",
    "cluster_summary",
    "current_clusters",
    "review_queue",
    "summary_figure",
]


@dataclass(frozen=True)
class Decision:
    """One review decision: what, about which record keys, who, when."""

    id: int
    action: str
    keys: tuple[str, ...]
    note: str | None
    analyst: str
    at: Any
    undone_at: Any = None


class ReviewDecisions:
    """The review decisions of one matching task (``"dedupe:customers"``), in the workspace store."""

    def __init__(self, ws, task: str):
        self.ws = ws
        self.task = task

    # -- making decisions ------------------------------------------------------------
    def split(self, key: str, cluster: Iterable[str] = (), *, note: str | None = None) -> Decision:
        """Take record ``key`` out of its cluster (``cluster``: the members it is split from, kept for the record)."""
        key = str(key)
        others = [k for k in dict.fromkeys(str(c) for c in cluster) if k != key]
        return self._add("split", [key, *others], note)

    def merge(self, keys: Iterable[str], other: Iterable[str] = (), *, note: str | None = None) -> Decision:
        """Join the clusters holding ``keys`` and ``other`` (the members of two clusters, usually)."""
        both = sorted({str(k) for k in keys} | {str(k) for k in other})
        if len(both) < 2:
            raise WorkbenchError("a merge needs at least two records")
        return self._add("merge", both, note)

    def verify(self, keys: Iterable[str], *, note: str | None = None) -> Decision:
        """Confirm that exactly ``keys`` are one customer."""
        members = sorted({str(k) for k in keys})
        if not members:
            raise WorkbenchError("nothing to verify: the cluster has no records")
        return self._add("verify", members, note)

    def _add(self, action: str, keys: list[str], note: str | None) -> Decision:
        if action not in ACTIONS:
            raise WorkbenchError(f"unknown review action {action!r}; use one of {', '.join(ACTIONS)}")
        access.require(self.ws, "analyst", f"a review decision ({action})")
        at = store.now()
        t = store.decisions_table
        with store.write_transaction(self.ws.engine) as conn:
            new_id = store.inserted_id(conn.execute(t.insert().values(
                task=self.task, action=action, keys_json=store.dumps(keys), note=note, analyst=self.ws.user, at=at)))
            self.ws.record(f"review:{action}", self.task, conn=conn, decision=new_id, keys=keys, note=note)
        return Decision(new_id, action, tuple(keys), note, self.ws.user, at)

    def undo(self, decision_id: int | None = None) -> Decision | None:
        """Mark the user's own newest active decision (or ``decision_id``) undone and return it.

        None when the user has none left. Another analyst's decisions are never
        undone: naming one is refused.
        """
        t = store.decisions_table
        query = sa.select(t).where(t.c.task == self.task, t.c.undone_at.is_(None))
        if decision_id is not None:
            query = query.where(t.c.id == int(decision_id))
        else:
            query = query.where(t.c.analyst == self.ws.user)
        with store.write_transaction(self.ws.engine) as conn:
            row = conn.execute(query.order_by(t.c.id.desc()).limit(1)).mappings().first()
            if row is None:
                if decision_id is not None:
                    raise WorkbenchError(f"no active review decision {decision_id} in task {self.task!r}")
                return None
            if row["analyst"] != self.ws.user:
                raise WorkbenchError(f"review decision {row['id']} was made by {row['analyst']}; "
                                     f"only they can undo it")
            done = conn.execute(t.update().where(t.c.id == row["id"], t.c.undone_at.is_(None))
                                .values(undone_at=store.now())).rowcount
            dec = _decision(row)
            if done:
                self.ws.record("review:undo", self.task, conn=conn, decision=dec.id, undone=dec.action,
                               keys=list(dec.keys))
        if not done:  # undone from another window a moment ago
            return None
        return dec

    # -- reading ---------------------------------------------------------------------
    def stamp(self) -> str:
        """Changes whenever a decision is made or undone (one cheap query; for caches of what they change)."""
        t = store.decisions_table
        with self.ws.engine.connect() as conn:
            n, last, undone = conn.execute(sa.select(sa.func.count(), sa.func.max(t.c.id), sa.func.max(t.c.undone_at))
                                           .where(t.c.task == self.task)).one()
        return f"{n}:{last}:{undone}"

    def active(self) -> list[Decision]:
        """Decisions in force, oldest first (the order they are applied in)."""
        t = store.decisions_table
        with self.ws.engine.connect() as conn:
            rows = conn.execute(sa.select(t).where(t.c.task == self.task, t.c.undone_at.is_(None))
                                .order_by(t.c.id)).mappings().all()
        return [_decision(r) for r in rows]

    def frame(self, *, include_undone: bool = False) -> pd.DataFrame:
        """Decisions as a table: id, action, keys, note, analyst, at, undone_at."""
        t = store.decisions_table
        query = sa.select(t).where(t.c.task == self.task).order_by(t.c.id)
        if not include_undone:
            query = query.where(t.c.undone_at.is_(None))
        with self.ws.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        cols = ["id", "action", "keys", "note", "analyst", "at", "undone_at"]
        return pd.DataFrame([{c: getattr(_decision(r), c) for c in cols} for r in rows], columns=cols)

    def __len__(self) -> int:
        return len(self.active())


def _decision(row: Mapping[Any, Any]) -> Decision:
    return Decision(row["id"], row["action"], tuple(json.loads(row["keys_json"])), row["note"], row["analyst"],
                    row["at"], row["undone_at"])


# -- applying decisions to a clustering ----------------------------------------------------
def apply_decisions(clusters: pd.DataFrame, decisions: Iterable[Decision | tuple[str, Sequence[str]]]
                    ) -> pd.DataFrame:
    """``clusters`` (key, cluster_id, confidence) with review decisions applied, oldest first.

    ``decisions`` are ``Decision`` objects or ``(action, keys)`` tuples. The
    result is again a partition of the same keys, with ``cluster_size``
    recomputed and ``decision``/``reviewed`` marking the clusters an analyst
    formed (semantics in the module docstring). Only clusters a decision
    touches are rebuilt, so this stays cheap on millions of records.
    """
    out = clusters.reset_index(drop=True).copy()
    out["key"] = out["key"].astype(str)
    out["cluster_id"] = out["cluster_id"].astype(str)
    if "confidence" not in out:
        out["confidence"] = 1.0
    if "decision" not in out:
        out["decision"] = None
    out["decision"] = out["decision"].astype(object)
    steps = [(d.action, [str(k) for k in d.keys]) if isinstance(d, Decision) else (d[0], [str(k) for k in d[1]])
             for d in decisions]
    for action, _ in steps:
        if action not in ACTIONS:
            raise WorkbenchError(f"unknown review action {action!r}; use one of {', '.join(ACTIONS)}")
    named = {k for _, keys in steps for k in keys}
    touched = False
    if steps and named:
        present = out["key"].isin(named)
        touched_ids = set(out.loc[present, "cluster_id"])
        rows = out.index[out["cluster_id"].isin(touched_ids)]
        touched = len(rows) > 0
        label: dict[str, Any] = dict(zip(out.loc[rows, "key"], out.loc[rows, "cluster_id"], strict=True))
        members: dict[Any, set[str]] = {}
        for k, c in label.items():
            members.setdefault(c, set()).add(k)
        tags: dict[Any, str] = {}
        for i, (action, keys) in enumerate(steps):
            if action == "split" and keys and keys[0] not in label:
                continue  # the split record is gone from the data
            keys = [k for k in dict.fromkeys(keys) if k in label]
            if not keys:
                continue
            token = ("decision", i)
            if action == "split":
                moved = {keys[0]}
            elif action == "verify":
                moved = set(keys)
            else:  # merge: whole clusters
                moved = set().union(*(members[label[k]] for k in keys))
            for k in moved:
                old = label[k]
                members[old].discard(k)
                if not members[old]:
                    del members[old]
                    tags.pop(old, None)
                label[k] = token
            members[token] = moved
            tags[token] = action
        # a model cluster keeps its id while the id's record is still in it; others take the smallest key
        new_id = {lab: lab if not isinstance(lab, tuple) and lab in keys else min(keys)
                  for lab, keys in members.items()}
        labs = [label[k] for k in out.loc[rows, "key"]]
        out.loc[rows, "cluster_id"] = [new_id[lab] for lab in labs]
        decided = np.array([tags.get(lab) for lab in labs], dtype=object)
        is_decided = pd.notna(decided)
        out.loc[rows[is_decided], "decision"] = decided[is_decided]
        out.loc[rows[is_decided], "confidence"] = 1.0
        out.loc[rows[~is_decided], "decision"] = None
    if touched or "cluster_size" not in out:  # else the partition, and so its sizes, are the input's
        out["cluster_size"] = cluster_sizes(out["cluster_id"].to_numpy())
    out["reviewed"] = out["decision"].notna()
    rest = [c for c in out.columns if c not in CLUSTER_COLUMNS]
    return out[CLUSTER_COLUMNS + rest]


# -- the latest clustering of a dataset ----------------------------------------------------
def _dataset(ws, dataset):
    return ws.dataset(dataset) if isinstance(dataset, str) else dataset


def _model_clusters(ws, run: Mapping[str, Any]) -> pd.DataFrame:
    """The model's clustering of a run (before decisions); older runs stored only ``clusters.parquet``."""
    folder = ws.path / run["folder"]
    for path in (folder / artifacts.CLUSTERS_MODEL, folder / artifacts.CLUSTERS):
        if path.exists():
            return pd.read_parquet(path)
    raise WorkbenchError(f"the latest clustering lost its files in {folder}; run cluster() again")


class _Members:
    """Member keys per cluster id, from one sort of the clustering (no per-cluster objects built).

    A groupby-apply took 20 s on a million records and one array per cluster 4 s;
    this takes well under one.
    """

    def __init__(self, clusters: pd.DataFrame):
        codes, self.ids = pd.factorize(clusters["cluster_id"])
        order = np.argsort(codes, kind="stable")
        self.keys = clusters["key"].to_numpy(dtype=object)[order]
        self.starts = np.searchsorted(codes[order], np.arange(len(self.ids) + 1))

    def get(self, cluster_id: str) -> list[str] | None:
        i = self.ids.get_indexer([cluster_id])[0]
        return None if i < 0 else self.keys[self.starts[i]:self.starts[i + 1]].tolist()


def current_clusters(ws, dataset) -> pd.DataFrame:
    """The latest dedupe run's clusters of ``dataset`` with every active review decision applied.

    Columns: key, cluster_id (persistent: ``workbench.cluster_ids``), confidence, cluster_size, decision,
    reviewed.
    Raises WorkbenchError when the dataset has not been clustered yet.
    """
    ds = _dataset(ws, dataset)
    runs = ws.runs("dedupe", ds)
    done = runs[runs["status"] == "done"]
    if done.empty:
        raise WorkbenchError(f"{ds.label} has not been clustered yet: label pairs and run "
                             f"ws.deduper({ds.name!r}).cluster() first")
    run_id, run = int(done.iloc[0]["id"]), done.iloc[0]["result"]
    clusters = apply_decisions(_model_clusters(ws, run), ReviewDecisions(ws, run["task"]).active())
    return restabilized(ws, run, run_id, clusters)


def review_queue(clusters: pd.DataFrame, *, sort: str = "confidence", sources: pd.Series | None = None,
                 source: str | None = None, include_reviewed: bool = True) -> pd.DataFrame:
    """One row per cluster of two or more records, in review order.

    ``sort`` "confidence" puts the weakest clusters first (a cluster's
    confidence is its least confident member's), "size" the biggest.
    ``sources`` maps record key -> source; with ``source`` only clusters
    having a record from that source are kept.
    Columns: cluster_id, cluster_size, confidence, decision, reviewed, sources.
    """
    if sort not in SORTS:
        raise WorkbenchError(f"unknown queue order {sort!r}; use one of {', '.join(SORTS)}")
    multi = multi_record(clusters)
    if not include_reviewed:
        multi = multi[~multi["reviewed"]]
    src = multi["key"].map(sources) if sources is not None else pd.Series(None, index=multi.index, dtype=object)
    if source is not None:
        keep = multi.loc[src == source, "cluster_id"].unique()
        multi, src = multi[multi["cluster_id"].isin(keep)], src[multi["cluster_id"].isin(keep)]
    cols = ["cluster_id", "cluster_size", "confidence", "decision", "reviewed", "sources"]
    if multi.empty:
        return pd.DataFrame(columns=cols)
    g = multi.groupby("cluster_id", sort=False)
    queue = pd.DataFrame({
        "cluster_size": g["key"].size(),
        "confidence": g["confidence"].min().astype(float),
        "decision": g["decision"].first(),
        "reviewed": g["reviewed"].first(),
    })
    queue["sources"] = _source_lists(queue.index, multi["cluster_id"], src)
    queue = queue.reset_index()
    by = ["confidence", "cluster_size", "cluster_id"] if sort == "confidence" else [
        "cluster_size", "confidence", "cluster_id"]
    asc = [True, False, True] if sort == "confidence" else [False, True, True]
    return queue.sort_values(by, ascending=asc, kind="stable").reset_index(drop=True)[cols]


def _source_lists(cluster_ids: pd.Index, member_cluster: pd.Series, member_source: pd.Series) -> np.ndarray:
    """Per cluster, its members' distinct sources sorted and joined ("crm, pos").

    Built one source at a time over all clusters (a few sources, a vectorized
    step each): a Python function per cluster took over 5 s for a million records.
    """
    pairs = pd.DataFrame({"cluster_id": member_cluster.to_numpy(), "source": member_source.to_numpy()})
    pairs = pairs[pairs["source"].notna()]
    pairs = pairs.assign(source=pairs["source"].astype(str)).drop_duplicates()
    out = np.full(len(cluster_ids), "", dtype=object)
    for name, group in pairs.groupby("source", sort=True):
        has = np.zeros(len(cluster_ids), dtype=bool)
        has[cluster_ids.get_indexer(group["cluster_id"])] = True
        out[has] = [f"{v}, {name}" if v else name for v in out[has]]
    return out


def cluster_sizes(cluster_ids: np.ndarray) -> np.ndarray:
    """Per record, the number of records sharing its cluster id (integer codes: quick on millions)."""
    codes, _ = pd.factorize(cluster_ids, use_na_sentinel=False)
    return sizes_of_codes(codes)


def sizes_of_codes(codes: np.ndarray) -> np.ndarray:
    """Per record, the number of records sharing its cluster's integer code."""
    return np.bincount(codes, minlength=1)[codes].astype("int64") if len(codes) else np.empty(0, dtype="int64")


def multi_record(clusters: pd.DataFrame) -> pd.DataFrame:
    """The records in clusters of two or more (the duplicates), from a clustering with ``cluster_size``."""
    return clusters[clusters["cluster_size"] > 1]


def cluster_summary(clusters: pd.DataFrame) -> pd.DataFrame:
    """Per cluster size: clusters, records, mean and lowest confidence, reviewed clusters."""
    per = clusters.groupby("cluster_id").agg(size=("key", "size"), confidence=("confidence", "min"),
                                             reviewed=("reviewed", "first"))
    out = per.groupby("size").agg(clusters=("confidence", "size"), mean_confidence=("confidence", "mean"),
                                  lowest_confidence=("confidence", "min"), reviewed=("reviewed", "sum"))
    out["records"] = out.index * out["clusters"]
    return out.reset_index()[["size", "clusters", "records", "mean_confidence", "lowest_confidence", "reviewed"]]


def summary_figure(clusters: pd.DataFrame):
    """Plotly figure: clusters per size, and how confident the multi-record clusters are."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    summary = cluster_summary(clusters)
    per = multi_record(clusters).groupby("cluster_id")["confidence"].min()
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Clusters per size", "Confidence of clusters of 2+"))
    fig.add_trace(go.Bar(x=summary["size"].astype(str), y=summary["clusters"], name="clusters",
                         marker_color="#2a9d8f"), row=1, col=1)
    fig.add_trace(go.Histogram(x=per, nbinsx=20, name="confidence", marker_color="#e76f51"), row=1, col=2)
    fig.update_xaxes(title_text="records in cluster", row=1, col=1)
    fig.update_xaxes(title_text="lowest member confidence", range=[0, 1.02], row=1, col=2)
    fig.update_yaxes(title_text="clusters", row=1, col=1)
    fig.update_layout(showlegend=False, height=340, margin={"t": 40, "b": 40, "l": 50, "r": 20})
    return fig


class ClusterReview:
    """Review of one dataset's latest clustering: the queue, members, links and decisions.

    What the review widget and notebooks call; holds no UI. Without a
    clustering yet it is empty and ``message`` says what to do.
    """

    def __init__(self, ws, dataset):
        self.ws = ws
        self.dataset = _dataset(ws, dataset)
        self.run = ws.latest_result("dedupe", self.dataset) or None
        self.task = self.run["task"] if self.run else f"dedupe:{self.dataset.name}"
        self.threshold = float(self.run["threshold"]) if self.run else None
        self.decisions = ReviewDecisions(ws, self.task)
        self.annotations = Annotations(ws, self.dataset)
        self.message = "" if self.run else (
            f"{self.dataset.label} has not been clustered yet: label pairs and run "
            f"ws.deduper({self.dataset.name!r}).cluster() (notebook 02), then review here.")
        self.source_column = self.dataset.schema.column_for(Role.SOURCE)
        self._records: pd.DataFrame | None = None
        self._deduper = None
        self._model = _model_clusters(ws, self.run) if self.run else pd.DataFrame(
            {"key": pd.Series(dtype=str), "cluster_id": pd.Series(dtype=str), "confidence": pd.Series(dtype=float)})
        # The model's clustering, read once; a refresh re-applies the decisions to the
        # clusters they touch only (exactly what apply_decisions over everything gives).
        self._base = apply_decisions(self._model, [])
        self._base_members = _Members(self._base)
        self._base_of = dict(zip(self._base["key"], self._base["cluster_id"], strict=True))
        self._positions = pd.Index(self._base["key"])
        self.refresh()

    @property
    def folder(self) -> Path | None:
        return self.ws.path / self.run["folder"] if self.run else None

    def refresh(self) -> pd.DataFrame:
        """Re-apply the stored decisions (after a decision here or by another analyst)."""
        decisions = self.decisions.active()
        named = {str(k) for d in decisions for k in d.keys}
        base = self._base
        self._touched = {self._base_of[k] for k in named if k in self._base_of}
        rows = np.flatnonzero(base["cluster_id"].isin(self._touched).to_numpy()) if self._touched else np.empty(0, int)
        changed = apply_decisions(base.iloc[rows], decisions) if len(rows) else base.iloc[rows]
        clusters = base.copy()
        for col in CLUSTER_COLUMNS:
            values = clusters[col].to_numpy(copy=True)
            values[rows] = changed[col].to_numpy()
            clusters[col] = values
        self.clusters = clusters
        self._changed_members = _Members(changed)
        self._changed_of = dict(zip(changed["key"], changed["cluster_id"], strict=True))
        return self.clusters

    # -- reading ---------------------------------------------------------------------
    @property
    def records(self) -> pd.DataFrame:
        """The dataset's records indexed by key (as text), original values."""
        if self._records is None:
            frame = self.dataset.frame
            self._records = frame.set_index(frame[self.dataset.key].astype(str).rename("__key__"))
        return self._records

    def sources(self) -> list[str]:
        """Distinct values of the dataset's ``source`` column (empty without one)."""
        if not self.source_column:
            return []
        return sorted({str(v) for v in self.records[self.source_column].dropna().unique()})

    def queue(self, sort: str = "confidence", source: str | None = None, *,
              include_reviewed: bool = True, tag: str | None = None) -> pd.DataFrame:
        """Clusters of two or more records in review order (see ``review_queue``); with ``tag``, only
        clusters with a record (or a cluster) an analyst tagged so."""
        sources = self.records[self.source_column] if self.source_column and not self.clusters.empty else None
        queue = review_queue(self.clusters, sort=sort, sources=sources, source=source,
                             include_reviewed=include_reviewed)
        if tag is None:
            return queue
        tagged = [k for k, tags in self.annotations.tags_by_key().items() if check_tag(tag) in tags]
        hit = self.clusters.loc[self.clusters["key"].isin(tagged), "cluster_id"].unique()
        return queue[queue["cluster_id"].isin(hit)].reset_index(drop=True)

    def notes(self, cluster_id: str) -> list[Annotation]:
        """Notes and tags on the cluster's records, or on a cluster sharing a record with it."""
        return self.annotations.for_keys(self.member_keys(cluster_id))

    def cluster_of(self, key: str) -> str:
        """The current cluster id of record ``key``."""
        found = self._current_cluster(str(key))
        if found is None:
            raise WorkbenchError(f"no record {key!r} in the clustering of {self.dataset.label}")
        return found

    def _current_cluster(self, key: str) -> str | None:
        return self._changed_of.get(key) or self._base_of.get(key)

    def member_keys(self, cluster_id: str) -> list[str]:
        """Keys of a cluster, its id first, then in key order."""
        cluster_id = str(cluster_id)
        keys = self._changed_members.get(cluster_id)
        if keys is None and cluster_id not in self._touched:  # a cluster no decision changed
            keys = self._base_members.get(cluster_id)
        if keys is None:
            raise WorkbenchError(f"no cluster {cluster_id!r} in the clustering of {self.dataset.label}")
        return sorted(keys, key=lambda k: (k != cluster_id, k))

    def members(self, cluster_id: str) -> pd.DataFrame:
        """The cluster's records (original values), indexed by key, with each member's confidence."""
        keys = self.member_keys(cluster_id)
        recs = self.records.reindex(keys)
        conf = self.clusters["confidence"].to_numpy(dtype=float)[self._positions.get_indexer(keys)]
        return recs.assign(_confidence=conf)

    def _edges(self, filters) -> pd.DataFrame:
        folder = self.folder
        cols = ["left_key", "right_key", "score"]
        if folder is None:
            return pd.DataFrame(columns=cols)
        if (folder / artifacts.EDGES).exists():
            return pd.read_parquet(folder / artifacts.EDGES, filters=filters)[cols]
        # older runs: scores by record position, positions in the model clustering's order
        keys = self._model["key"].astype(str).to_numpy()
        pos = {k: i for i, k in enumerate(keys)}
        pf = [[(("l" if c == "left_key" else "r"), op, [pos[v] for v in vals if v in pos]) for c, op, vals in f]
              for f in filters]
        raw = pd.read_parquet(folder / artifacts.SCORES, filters=pf)
        return pd.DataFrame({"left_key": keys[raw["l"].to_numpy()], "right_key": keys[raw["r"].to_numpy()],
                             "score": raw["score"].astype(float)})

    def links(self, cluster_id: str) -> pd.DataFrame:
        """The scored pairs inside a cluster, strongest first: left_key, right_key, score, joined, label.

        ``joined`` is True for pairs at or above the run's threshold (the links
        that put the records together); ``label`` is the analyst's label of the
        pair, if any (a label overrides the model's score).
        """
        keys = self.member_keys(cluster_id)
        cols = ["left_key", "right_key", "score", "joined", "label"]
        if len(keys) < 2:
            return pd.DataFrame(columns=cols)
        edges = self._edges([[("left_key", "in", keys), ("right_key", "in", keys)]])
        return self._annotate(edges)[cols]

    def neighbours(self, cluster_id: str, limit: int = 10) -> pd.DataFrame:
        """Other clusters that scored against this one (merge candidates): cluster_id, score, via."""
        keys = self.member_keys(cluster_id)
        edges = self._edges([[("left_key", "in", keys)], [("right_key", "in", keys)]])
        inside = set(keys)
        out_key = edges["right_key"].where(edges["left_key"].isin(inside), edges["left_key"])
        edges = edges.assign(other=out_key)[~(edges["left_key"].isin(inside) & edges["right_key"].isin(inside))]
        cols = ["cluster_id", "score", "via"]
        if edges.empty:
            return pd.DataFrame(columns=cols)
        edges = edges.assign(cluster_id=[self._current_cluster(k) for k in edges["other"]],
                             via=edges["left_key"] + " – " + edges["right_key"])
        best = edges.sort_values("score", ascending=False).drop_duplicates("cluster_id")
        return best[cols].head(limit).reset_index(drop=True)

    def _annotate(self, edges: pd.DataFrame) -> pd.DataFrame:
        labels = self.pair_labels()
        edges = edges.assign(score=edges["score"].astype(float))
        edges["joined"] = edges["score"] >= (self.threshold if self.threshold is not None else 0.5)
        edges["label"] = [labels.get(tuple(sorted((a, b)))) for a, b in
                          zip(edges["left_key"], edges["right_key"], strict=True)]
        return edges.sort_values(["score", "left_key", "right_key"], ascending=[False, True, True]) \
            .reset_index(drop=True)

    def pair_labels(self) -> dict[tuple[str, str], str]:
        """This task's pair labels by (smaller key, larger key), settled as for training.

        Analysts who agree give their label, a steward's resolution stands, and
        a pair labeled differently by two analysts reads ``"conflict"``
        (``LabelStore`` holds the rule).
        """
        from workbench.matching.labels import LabelStore

        out: dict[tuple[str, str], str] = {}
        for (a, b), label in LabelStore(self.ws, self.task).settled().items():
            out[(a, b) if a <= b else (b, a)] = label
        return out

    def explain(self, left_key: str, right_key: str) -> pd.DataFrame:
        """Per field: both standardized values, similarity and contribution (builds the model on first use)."""
        if self._deduper is None:
            self._deduper = self.ws.deduper(self.dataset, task=self.task)
        return self._deduper.explain(str(left_key), str(right_key))

    # -- deciding --------------------------------------------------------------------
    def split(self, key: str, *, note: str | None = None) -> Decision:
        """Take ``key`` out of its cluster."""
        cid = self.cluster_of(key)
        members = self.member_keys(cid)
        if len(members) < 2:
            raise WorkbenchError(f"record {key} is already on its own")
        dec = self.decisions.split(key, members, note=note)
        self.refresh()
        return dec

    def merge(self, cluster_id: str, other: str, *, note: str | None = None) -> Decision:
        """Merge cluster ``cluster_id`` with the cluster of ``other`` (a cluster id or any record key)."""
        mine, theirs = self.cluster_of(cluster_id), self.cluster_of(str(other).strip())
        if mine == theirs:
            raise WorkbenchError(f"{other} is already in cluster {mine}")
        dec = self.decisions.merge(self.member_keys(mine), self.member_keys(theirs), note=note)
        self.refresh()
        return dec

    def verify(self, cluster_id: str, *, note: str | None = None) -> Decision:
        """Confirm the cluster as it is now."""
        dec = self.decisions.verify(self.member_keys(self.cluster_of(cluster_id)), note=note)
        self.refresh()
        return dec

    def undo(self) -> Decision | None:
        """Take back the user's own newest decision of this task (never another analyst's)."""
        dec = self.decisions.undo()
        self.refresh()
        return dec
