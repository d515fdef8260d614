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

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

EVENTS = ("new", "merge", "split", "move", "retire")
REGISTRY_COLUMNS = ["cluster_id", "since_run", "status", "merged_into", "split_from"]
EVENT_COLUMNS = ["event", "cluster_id", "other_id", "records"]


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
              *, pinned: Iterable[str] = ()) -> StableIds:
    """``clusters`` (key, cluster_id: any label per cluster) with ids inherited from ``previous`` (key, cluster_id).

    ``registry``: the ids given so far (``registry_of(previous)`` when None); ``run_id`` dates new ids;
    ``pinned``: labels in ``clusters`` of clusters whose ids must not move (verified in review).
    """
    out = clusters.reset_index(drop=True).copy()
    out["key"] = out["key"].astype(str)
    label = out["cluster_id"].astype(str).to_numpy()
    if previous is None or previous.empty:
        previous = pd.DataFrame({"key": pd.Series(dtype=str), "cluster_id": pd.Series(dtype=str)})
    if registry is None:
        registry = registry_of(previous, run_id) if len(previous) else empty_registry()
    registry = registry.reset_index(drop=True)
    old = pd.Series(previous["cluster_id"].astype(str).to_numpy(), index=previous["key"].astype(str).to_numpy())
    old_of = old.reindex(out["key"]).to_numpy()

    # a cluster holding exactly the records of an old one keeps its id, whatever else moved: nothing else
    # overlaps either of them (most clusters, from run to run; found in a few passes over integer codes)
    same = _same_as_before(label, old_of, old)
    id_of: dict[str, str] = dict(zip(label[same], old_of[same], strict=True))
    taken: set[str] = set(id_of.values())
    rest = ~same
    label_rest, old_rest = label[rest], old_of[rest]

    overlap = (pd.DataFrame({"label": label_rest, "old": old_rest}).dropna()
               .groupby(["label", "old"], sort=False).size().rename("n").reset_index())
    since = pd.Series(registry["since_run"].to_numpy(), index=registry["cluster_id"].astype(str).to_numpy())
    overlap["since"] = since.reindex(overlap["old"]).fillna(run_id).to_numpy()
    pinned_set = {str(p) for p in pinned}
    overlap["pinned"] = overlap["label"].isin(pinned_set)
    overlap = overlap.sort_values(["pinned", "n", "since", "old", "label"], ascending=[False, False, True, True, True],
                                  kind="stable")
    for lab, o in zip(overlap["label"], overlap["old"], strict=True):
        if lab not in id_of and o not in taken:
            id_of[lab] = o
            taken.add(o)

    used = set(registry["cluster_id"].astype(str)) | set(old.unique())
    events: list[tuple[str, str, str | None, int]] = []
    new_rows: list[dict] = []
    # the old id that kept most of each label's records, for splits
    main_old = overlap.sort_values(["n", "since", "old"], ascending=[False, True, True], kind="stable") \
        .drop_duplicates("label").set_index("label")["old"]
    unclaimed = ~pd.Series(label_rest).isin(list(id_of)).to_numpy()
    keys = out["key"].to_numpy()[rest][unclaimed]
    ordered = pd.DataFrame({"label": label_rest[unclaimed], "key": keys}).sort_values(["label", "key"],
                                                                                      kind="stable")
    smallest = ordered.drop_duplicates("label").set_index("label")["key"]  # (a groupby min of text runs in Python)
    sizes = ordered["label"].value_counts()
    # the members of the clusters whose smallest key was an id already, to find another
    clash = smallest[smallest.isin(used)].index
    members = {k: g.to_numpy() for k, g in ordered[ordered["label"].isin(clash)].groupby("label")["key"]}
    for lab in pd.unique(label_rest[unclaimed]):  # in order of appearance
        first = str(smallest[lab])
        new_id = _fresh_id(members[lab], first, used) if first in used else first
        used.add(new_id)
        id_of[lab] = new_id
        parent = main_old.get(lab)
        split = parent is not None and parent in taken
        events.append(("split" if split else "new", new_id, parent if split else None, int(sizes[lab])))
        new_rows.append({"cluster_id": new_id, "since_run": run_id, "status": "active", "merged_into": None,
                         "split_from": parent if split else None})

    out["cluster_id"] = pd.Series(label).map(id_of).to_numpy()
    new_of = out["cluster_id"].to_numpy()

    # ids no cluster took: merged into where most of their records went, or retired with their records
    flow = (pd.DataFrame({"old": old_rest, "new": new_of[rest]}).dropna()
            .groupby(["old", "new"], sort=False).size().rename("n").reset_index())
    active_before = set(registry.loc[registry["status"] == "active", "cluster_id"].astype(str)) | set(old.unique())
    lost = active_before - taken
    best = (flow[flow["old"].isin(lost)].sort_values(["n", "new"], ascending=[False, True], kind="stable")
            .drop_duplicates("old").set_index("old"))
    lost_records = flow[flow["old"].isin(lost)].groupby("old")["n"].sum()
    old_sizes = old.value_counts()
    merged_into: dict[str, str] = {}
    for o in sorted(lost):
        if o in best.index:
            merged_into[o] = str(best.at[o, "new"])
            events.append(("merge", o, merged_into[o], int(lost_records[o])))
        else:
            events.append(("retire", o, None, int(old_sizes.get(o, 0))))
    # records from one surviving cluster into another (not as part of a split)
    moved = flow[(flow["old"] != flow["new"]) & flow["old"].isin(taken) & flow["new"].isin(taken)]
    for o, n, k in zip(moved["old"], moved["new"], moved["n"], strict=True):
        events.append(("move", str(n), str(o), int(k)))

    registry = pd.concat([registry, pd.DataFrame(new_rows, columns=REGISTRY_COLUMNS)], ignore_index=True) \
        if new_rows else registry.copy()
    gone = registry["cluster_id"].astype(str).isin(active_before - taken)
    registry.loc[gone, "status"] = "retired"
    registry.loc[gone, "merged_into"] = registry.loc[gone, "cluster_id"].map(merged_into)
    return StableIds(out, registry[REGISTRY_COLUMNS], pd.DataFrame(events, columns=EVENT_COLUMNS))


def _same_as_before(label: np.ndarray, old_of: np.ndarray, old: pd.Series) -> np.ndarray:
    """Per record: its cluster (``label``) holds exactly the records of one old cluster (ids ``old``, by key;
    ``old_of``: each record's old id, NaN for a new record)."""
    codes, uniques = pd.factorize(label)
    ids, id_uniques = pd.factorize(old_of)  # -1: a record new to the clustering
    size = np.bincount(codes, minlength=len(uniques))
    first = np.full(len(uniques), -1, dtype="int64")
    first[codes] = ids  # any one member's old id (the last written)
    agree = np.bincount(codes, weights=(ids >= 0) & (ids == first[codes]), minlength=len(uniques))
    old_size = old.value_counts().reindex(id_uniques).to_numpy()
    whole = (first >= 0) & (agree == size)
    whole[whole] = old_size[first[whole]] == size[whole]
    return whole[codes]


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


def _fresh_id(keys: np.ndarray, smallest: str, used: set[str]) -> str:
    """The cluster's smallest record key not used as an id before (readable); else that key with a suffix."""
    if smallest not in used:
        return smallest
    for k in sorted(keys):
        if k not in used:
            return str(k)
    n = 2
    while f"{smallest}~{n}" in used:
        n += 1
    return f"{smallest}~{n}"
