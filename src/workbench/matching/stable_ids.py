"""Cluster ids that stay put: a new clustering inherits the ids of the last one.

A cluster (and its golden record, whose id is the cluster's) keeps its id
across runs, whatever moved around it:

- each id goes to the new cluster holding most of its old records; a
  cluster claimed by several ids takes the one with most records there, a
  tie going to the oldest id; ids pinned in review (verified clusters) choose first;
- an id no cluster took is retired: ``merge`` into the cluster that took
  most of its records (lookups redirect there), or ``retire`` when its
  records left the data;
- a cluster that took no id gets a new one: its smallest record key not
  used as an id before (``new``), recorded as ``split`` from the id that
  kept the rest of its records when it came out of one;
- records that went from one surviving cluster to another are a ``move``.

The registry (every id ever given: since which run, active or retired,
merged into what, split from what) travels from run to run; the events are
the id history of a run.
"""

from __future__ import annotations

import functools
from collections.abc import Container, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

EVENTS = ("new", "merge", "split", "move", "retire")
REGISTRY_COLUMNS = ["cluster_id", "since_run", "status", "merged_into", "split_from"]
EVENT_COLUMNS = ["event", "cluster_id", "other_id", "records"]
#: Between a key and a number, an id made unique (``_fresh_id``): ``C-0001~2``.
SUFFIX = "~"


@dataclass
class StableIds:
    """A clustering with inherited ids, the registry after it, and what changed."""

    clusters: pd.DataFrame
    registry: pd.DataFrame
    events: pd.DataFrame

    def counts(self) -> dict[str, int]:
        """Events per kind (every kind named, zero when none)."""
        got = self.events["event"].value_counts()
        return {e: int(got.get(e, 0)) for e in EVENTS}


def empty_registry() -> pd.DataFrame:
    return pd.DataFrame({"cluster_id": pd.Series(dtype=object), "since_run": pd.Series(dtype="int64"),
                         "status": pd.Series(dtype=object), "merged_into": pd.Series(dtype=object),
                         "split_from": pd.Series(dtype=object)})


def registry_of(clusters: pd.DataFrame, run_id: int) -> pd.DataFrame:
    """A registry for a clustering made before ids were kept: its ids, all active since ``run_id``."""
    ids = pd.unique(clusters["cluster_id"].astype(str))
    return pd.DataFrame({"cluster_id": ids, "since_run": np.full(len(ids), run_id, dtype="int64"),
                         "status": "active", "merged_into": None, "split_from": None})


def stabilize(clusters: pd.DataFrame, previous: pd.DataFrame | None, registry: pd.DataFrame | None, run_id: int,
              *, pinned: Iterable[str] = (), used: IdSet | None = None) -> StableIds:
    """``clusters`` (key, cluster_id: any label per cluster) with ids inherited from ``previous`` (key, cluster_id).

    ``registry``: the ids given so far (``registry_of(previous)`` when None); ``run_id`` dates new ids;
    ``pinned``: labels in ``clusters`` of clusters whose ids must not move (verified in review);
    ``used``: ids given besides the registry's and ``previous``'s, never given again (a region of a
    clustering passes the whole registry here, its own part as ``registry``).
    """
    out = clusters.reset_index(drop=True).copy()
    out["key"] = out["key"].astype(str)
    if previous is None or previous.empty:
        previous = pd.DataFrame({"key": pd.Series(dtype=str), "cluster_id": pd.Series(dtype=str)})
    if registry is None:
        registry = registry_of(previous, run_id) if len(previous) else empty_registry()
    registry = registry.reset_index(drop=True)
    reg_ids = registry["cluster_id"].astype(str).to_numpy()

    # clusters and old ids as integer codes: a million records take a few passes, not a million lookups
    codes, labels = pd.factorize(out["cluster_id"].astype(str).to_numpy())
    labels = np.asarray(labels, dtype=object)
    old_all, old_ids = pd.factorize(previous["cluster_id"].astype(str).to_numpy())
    old_ids = np.asarray(old_ids, dtype=object)
    old_size = np.bincount(old_all, minlength=len(old_ids))
    at = _positions(previous["key"].astype(str).to_numpy(), out["key"].to_numpy())
    old_code = np.where(at >= 0, old_all[np.maximum(at, 0)], -1) if len(old_all) else np.full(len(out), -1)

    # a cluster holding exactly the records of an old one keeps its id, whatever else moved: nothing else
    # overlaps either of them (most clusters, from run to run)
    whole = _same_as_before(codes, len(labels), old_code, old_size)
    id_by_label = np.full(len(labels), None, dtype=object)
    id_by_label[whole >= 0] = old_ids[whole[whole >= 0]]
    kept_old = np.zeros(len(old_ids), dtype=bool)
    kept_old[whole[whole >= 0]] = True

    # the other clusters by the rules above: old ids claimed, new ids given, the ids left retired
    rest = whole[codes] < 0
    label_rest = labels[codes[rest]]
    old_rest = old_ids[old_code[rest]] if len(old_ids) else np.full(rest.sum(), None, dtype=object)
    old_rest[old_code[rest] < 0] = None
    known = _Known(reg_ids, old_ids, used)
    overlap = _overlap(label_rest, old_rest, registry, known, pinned, run_id)
    id_of, taken = _claim(overlap)
    events, new_rows = _new_ids(label_rest, out["key"].to_numpy()[rest], overlap, id_of, taken, known, run_id)
    rest_labels = np.flatnonzero(whole < 0)
    id_by_label[rest_labels] = [id_of[lab] for lab in labels[rest_labels]]
    out["cluster_id"] = id_by_label[codes]
    lost, merged_into, gone_events = _lost(old_rest, out["cluster_id"].to_numpy()[rest], old_ids[~kept_old],
                                           taken, registry, known, old_size)

    registry = pd.concat([registry, pd.DataFrame(new_rows, columns=REGISTRY_COLUMNS)], ignore_index=True) \
        if new_rows else registry.copy()
    retired = registry["cluster_id"].astype(str).isin(lost)
    registry.loc[retired, "status"] = "retired"
    registry.loc[retired, "merged_into"] = registry.loc[retired, "cluster_id"].map(merged_into)
    return StableIds(out, registry[REGISTRY_COLUMNS], pd.DataFrame(events + gone_events, columns=EVENT_COLUMNS))


def _overlap(label_rest: np.ndarray, old_rest: np.ndarray, registry: pd.DataFrame, known: _Known,
             pinned: Iterable[str], run_id: int) -> pd.DataFrame:
    """Records shared by each (cluster label, old id), with the old id's age and whether the cluster is pinned,
    in the order claims are settled: pinned first, then most records, then the oldest id."""
    overlap = (pd.DataFrame({"label": label_rest, "old": old_rest}).dropna()
               .groupby(["label", "old"], sort=False).size().rename("n").reset_index())
    since = registry["since_run"].to_numpy()
    pos = known.registry_positions(overlap["old"].to_numpy())
    overlap["since"] = np.where(pos >= 0, since[np.maximum(pos, 0)] if len(since) else run_id, run_id)
    overlap["pinned"] = overlap["label"].isin({str(p) for p in pinned})
    return overlap.sort_values(["pinned", "n", "since", "old", "label"], ascending=[False, False, True, True, True],
                               kind="stable")


def _claim(overlap: pd.DataFrame) -> tuple[dict[str, str], set[str]]:
    """Each cluster's inherited id (greedily, in ``overlap``'s order), and the old ids so taken."""
    id_of: dict[str, str] = {}
    taken: set[str] = set()
    for lab, o in zip(overlap["label"], overlap["old"], strict=True):
        if lab not in id_of and o not in taken:
            id_of[lab] = o
            taken.add(o)
    return id_of, taken


def _new_ids(label_rest: np.ndarray, key_rest: np.ndarray, overlap: pd.DataFrame, id_of: dict[str, str],
             taken: set[str], known: _Known, run_id: int) -> tuple[list[tuple], list[dict]]:
    """A new id for each cluster that claimed none (added to ``id_of``): its smallest key not given before;
    the ``new`` or ``split`` events and the registry rows."""
    events: list[tuple[str, str, str | None, int]] = []
    new_rows: list[dict] = []
    # the old id that kept most of each label's records, for splits
    main_old = overlap.sort_values(["n", "since", "old"], ascending=[False, True, True], kind="stable") \
        .drop_duplicates("label").set_index("label")["old"]
    unclaimed = np.fromiter((lab not in id_of for lab in label_rest), dtype=bool, count=len(label_rest))
    ordered = pd.DataFrame({"label": label_rest[unclaimed], "key": key_rest[unclaimed]}) \
        .sort_values(["label", "key"], kind="stable")
    smallest = ordered.drop_duplicates("label").set_index("label")["key"]  # (a groupby min of text runs in Python)
    sizes = ordered["label"].value_counts()
    # the members of the clusters whose smallest key was an id already, to find another
    given = known.isin(ordered["key"].to_numpy(dtype=object))  # asked at once: the registry may be huge
    used_keys = _Asked(set(ordered["key"].to_numpy(dtype=object)[given]), set(ordered["key"]), known)
    clash = smallest.index[smallest.isin(used_keys.given)]
    members = {k: g.to_numpy() for k, g in ordered[ordered["label"].isin(clash)].groupby("label")["key"]}
    smallest_of, size_of, parent_of = smallest.to_dict(), sizes.to_dict(), main_old.to_dict()  # quick lookups
    for lab in pd.unique(label_rest[unclaimed]):  # in order of appearance
        first = str(smallest_of[lab])
        new_id = first
        if lab in members or first in known.added:
            keys = members[lab] if lab in members else ordered.loc[ordered["label"] == lab, "key"].to_numpy()
            new_id = _fresh_id(keys, first, used_keys)
        known.add(new_id)
        id_of[lab] = new_id
        parent = parent_of.get(lab)
        split = parent is not None and parent in taken
        events.append(("split" if split else "new", new_id, parent if split else None, int(size_of[lab])))
        new_rows.append({"cluster_id": new_id, "since_run": run_id, "status": "active", "merged_into": None,
                         "split_from": parent if split else None})
    return events, new_rows


def _lost(old_rest: np.ndarray, new_rest: np.ndarray, not_carried: np.ndarray, taken: set[str],
          registry: pd.DataFrame, known: _Known, old_size: np.ndarray
          ) -> tuple[set[str], dict[str, str], list[tuple]]:
    """The ids no cluster took (``not_carried``: old ids not kept whole), each merged into where most of its
    records went, or retired with its records; and records moved between surviving clusters. The lost ids,
    where the merged ones went, and the ``merge``, ``retire`` and ``move`` events."""
    flow = (pd.DataFrame({"old": old_rest, "new": new_rest}).dropna()
            .groupby(["old", "new"], sort=False).size().rename("n").reset_index())
    lost = {o for o in not_carried if o not in taken}
    reg_ids = registry["cluster_id"].astype(str).to_numpy()
    active = reg_ids[(registry["status"] == "active").to_numpy()]
    lost |= {o for o in active[~known.is_old(active)] if o not in taken}  # active ids that held no record
    best = (flow[flow["old"].isin(lost)].sort_values(["n", "new"], ascending=[False, True], kind="stable")
            .drop_duplicates("old").set_index("old"))
    lost_records = flow[flow["old"].isin(lost)].groupby("old")["n"].sum()
    events: list[tuple[str, str, str | None, int]] = []
    merged_into: dict[str, str] = {}
    for o in sorted(lost):
        if o in best.index:
            merged_into[o] = str(best.at[o, "new"])
            events.append(("merge", o, merged_into[o], int(lost_records[o])))
        else:
            events.append(("retire", o, None, int(known.old_size(o, old_size))))
    # records from one surviving cluster into another (not as part of a split)
    moved = flow[(flow["old"] != flow["new"]) & flow["old"].isin(taken) & flow["new"].isin(taken)]
    for o, n, k in zip(moved["old"], moved["new"], moved["n"], strict=True):
        events.append(("move", str(n), str(o), int(k)))
    return lost, merged_into, events


def _positions(before: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Each key's position in ``before`` (unique keys), -1 when absent; at once when ``keys`` starts with
    ``before`` in its order (an update that only added records)."""
    n = len(before)
    if n <= len(keys) and (keys[:n] == before).all():
        return np.concatenate([np.arange(n), np.full(len(keys) - n, -1)]).astype("int64")
    return pd.Index(before).get_indexer(keys)


def _same_as_before(codes: np.ndarray, n_labels: int, old_code: np.ndarray, old_size: np.ndarray) -> np.ndarray:
    """Per cluster (``codes``: each record's cluster): the code of the old cluster it holds exactly the records
    of, or -1 (``old_code``: each record's old cluster, -1 for a record new to the clustering)."""
    size = np.bincount(codes, minlength=n_labels)
    first = np.full(n_labels, -1, dtype="int64")
    first[codes] = old_code  # any one member's old cluster (the last written)
    agree = np.bincount(codes, weights=(old_code >= 0) & (old_code == first[codes]), minlength=n_labels)
    whole = (first >= 0) & (agree == size)
    whole[whole] = old_size[first[whole]] == size[whole]
    return np.where(whole, first, -1)


class IdSet:
    """Ids held in Arrow arrays (a whole registry: a million ids, never a Python set of them), asked about in
    batches: the few ids asked are hashed and the many held scanned once per batch."""

    def __init__(self, *ids: pa.Array | pa.ChunkedArray):
        self.ids = [(i.combine_chunks() if isinstance(i, pa.ChunkedArray) else i).cast(pa.string()) for i in ids]

    def isin(self, values: np.ndarray) -> np.ndarray:
        """Per value: is it one of the ids?"""
        asked = pa.array(values, type=pa.string())
        found = [ids.filter(pc.is_in(ids, value_set=asked)) for ids in self.ids]  # the asked ones held
        return pc.is_in(asked, value_set=pa.concat_arrays(found)).to_numpy(zero_copy_only=False)

    def __contains__(self, cluster_id: object) -> bool:
        if isinstance(cluster_id, str) and SUFFIX in cluster_id:
            return cluster_id in self.suffixed  # ``_fresh_id`` tries these one by one: no scan each
        return bool(self.isin(np.asarray([cluster_id], dtype=object))[0])

    @functools.cached_property
    def suffixed(self) -> set[str]:
        """The ids held that have the suffix mark (few, unless the keys themselves hold it), found in one scan."""
        return {i for ids in self.ids for i in ids.filter(pc.match_substring(ids, SUFFIX)).to_pylist()}


class _Known:
    """The ids given so far (the registry's, the old clustering's and ``used``) and those given in this run."""

    def __init__(self, registry_ids: np.ndarray, old_ids: np.ndarray, used: IdSet | None = None):
        rows = pd.Series(np.arange(len(registry_ids), dtype="int64"), index=pd.Index(registry_ids, dtype=object))
        self.rows = rows[~rows.index.duplicated()]
        self.registry = self.rows.index
        self.old = pd.Index(old_ids, dtype=object)
        self.used = used
        self.added: set[str] = set()

    def __contains__(self, cluster_id: object) -> bool:
        return (cluster_id in self.added or cluster_id in self.registry or cluster_id in self.old
                or (self.used is not None and cluster_id in self.used))

    def isin(self, ids: np.ndarray) -> np.ndarray:
        """Per id: was it given before (the ``in`` test for many ids at once)?"""
        asked = pd.Index(ids, dtype=object)
        found = asked.isin(self.registry) | asked.isin(self.old)
        found |= np.fromiter((i in self.added for i in ids), dtype=bool, count=len(ids))
        if self.used is not None and len(ids):
            found |= self.used.isin(ids)
        return found

    def add(self, cluster_id: str) -> None:
        self.added.add(cluster_id)

    def registry_positions(self, ids: np.ndarray) -> np.ndarray:
        """Each id's row in the registry, -1 for none."""
        return self.rows.reindex(pd.Index(ids, dtype=object)).fillna(-1).to_numpy("int64")

    def is_old(self, ids: np.ndarray) -> np.ndarray:
        """Per id: was it an id of the old clustering?"""
        return pd.Index(ids, dtype=object).isin(self.old)

    def old_size(self, cluster_id: str, sizes: np.ndarray) -> int:
        return int(sizes[self.old.get_loc(cluster_id)]) if cluster_id in self.old else 0


class _Asked:
    """Ids given before, among keys asked about at once (``given``: those that were; ``asked``: all of them),
    and this run's: the ``in`` test ``_fresh_id`` makes, without asking the registry one key at a time."""

    def __init__(self, given: set[str], asked: set[str], known: _Known):
        self.given, self.asked, self.known = given, asked, known

    def __contains__(self, cluster_id: object) -> bool:
        if cluster_id in self.known.added or cluster_id in self.given:
            return True
        return cluster_id not in self.asked and cluster_id in self.known


def resolve(registry: pd.DataFrame, cluster_id: str) -> str | None:
    """The active id a (possibly retired) id now lives on: merges followed to the survivor; None if retired
    without a successor or never given."""
    by_id = registry.set_index(registry["cluster_id"].astype(str))
    seen: set[str] = set()
    current = str(cluster_id)
    while current in by_id.index and current not in seen:
        seen.add(current)
        row = by_id.loc[current]
        if row["status"] == "active":
            return current
        nxt = row["merged_into"]
        if nxt is None or (isinstance(nxt, float) and np.isnan(nxt)):
            return None
        current = str(nxt)
    return None


def _fresh_id(keys: np.ndarray, smallest: str, used: Container[str]) -> str:
    """The cluster's smallest record key not used as an id before (readable); else that key with a suffix."""
    if smallest not in used:
        return smallest
    for k in sorted(keys):
        if k not in used:
            return str(k)
    n = 2
    while f"{smallest}{SUFFIX}{n}" in used:
        n += 1
    return f"{smallest}{SUFFIX}{n}"
