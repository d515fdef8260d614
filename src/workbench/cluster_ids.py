"""Persistent cluster ids in the workspace: each clustering run inherits the last one's ids.

A run's folder holds its clusters with their stable ids, the id registry
(``cluster_ids.parquet``: every id given for the task, active or retired,
merged into what, split from what) and the run's id changes
(``id_history.parquet``). The rules are ``workbench.matching.stable_ids``'s.

    id_history(ws, "customers")                  # every id change, run by run (new, merge, split, move, retire)
    resolve_cluster_id(ws, "customers", "C17")   # a retired id's survivor, or the id itself
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from workbench import artifacts, store
from workbench.errors import WorkbenchError
from workbench.matching.stable_ids import StableIds, registry_of, resolve, stabilize


def stable_clusters(ws: Any, task: str, run_id: int, clusters: pd.DataFrame, folder: Path) -> StableIds:
    """Give ``clusters`` (review decisions applied) the ids of the task's previous clustering; write the
    registry and the run's id history into ``folder`` and a summary into the audit log."""
    previous, registry = previous_clustering(ws, task, run_id)
    result = stabilize(clusters[["key", "cluster_id"]], previous, registry, run_id, pinned=verified(clusters))
    write_ids(ws, task, run_id, folder, result.registry, result)
    return result


def write_ids(ws: Any, task: str, run_id: int, folder: Path, registry: pd.DataFrame | pa.Table,
              result: StableIds) -> None:
    """Write a run's id registry (a frame or an Arrow table) and id history into ``folder``; summarize the
    changes in the audit log."""
    artifacts.write_table(registry, folder / artifacts.CLUSTER_IDS)
    history = result.events.assign(run_id=run_id, at=store.now().isoformat())
    artifacts.write_table(history, folder / artifacts.ID_HISTORY)
    changes = {k: v for k, v in result.counts().items() if v}
    ws.record("cluster ids", task, run=run_id, **changes)


def previous_clustering(ws: Any, task: str, before_run: int) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The newest finished clustering of ``task`` before ``before_run``: (key, cluster_id) and its id registry
    (made from its ids when it predates the registry); (None, None) when there is none."""
    for rid, result in ws.finished_runs("dedupe", task=task, before=before_run):
        folder = ws.path / result["folder"]
        if not (folder / artifacts.CLUSTERS).exists():
            continue  # its files were removed (erasure, clean-up): nothing to inherit from
        clusters = pd.read_parquet(folder / artifacts.CLUSTERS, columns=["key", "cluster_id"])
        ids = folder / artifacts.CLUSTER_IDS
        return clusters, pd.read_parquet(ids) if ids.exists() else registry_of(clusters, int(rid))
    return None, None


def restabilized(ws: Any, run: dict[str, Any], run_id: int, clusters: pd.DataFrame) -> pd.DataFrame:
    """``clusters`` (a run's model clustering with today's review decisions) with the run's stable ids:
    unchanged clusters keep theirs, decisions made since move ids by the same rules (nothing is written)."""
    folder = ws.path / run["folder"]
    ids = folder / artifacts.CLUSTER_IDS
    if not ids.exists():
        return clusters  # a run from before stable ids: its ids are its smallest keys
    stored = pd.read_parquet(folder / artifacts.CLUSTERS, columns=["key", "cluster_id"])
    result = stabilize(clusters[["key", "cluster_id"]], stored, pd.read_parquet(ids), run_id,
                       pinned=verified(clusters))
    out = clusters.reset_index(drop=True).copy()
    out["cluster_id"] = result.clusters["cluster_id"].to_numpy()
    return out


def id_history(ws: Any, dataset: Any) -> pd.DataFrame:
    """Every cluster id change of the dataset's clusterings, oldest run first:
    run_id, at, task, event, cluster_id, other_id, records."""
    ds = ws.dataset(dataset) if isinstance(dataset, str) else dataset
    parts = []
    for _, result in ws.finished_runs("dedupe", name=ds.name):
        path = ws.path / result["folder"] / artifacts.ID_HISTORY
        if path.exists():
            parts.append(pd.read_parquet(path).assign(task=result.get("task")))
    cols = ["run_id", "at", "task", "event", "cluster_id", "other_id", "records"]
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts, ignore_index=True)[cols].sort_values("run_id", kind="stable").reset_index(drop=True)


def resolve_cluster_id(ws: Any, dataset: Any, cluster_id: str) -> str:
    """The cluster an id names today: itself while active, the survivor of a merge when retired."""
    ds = ws.dataset(dataset) if isinstance(dataset, str) else dataset
    run = ws.latest_result("dedupe", ds)
    if not run:
        raise WorkbenchError(f"{ds.label} has not been clustered yet")
    path = ws.path / run["folder"] / artifacts.CLUSTER_IDS
    if not path.exists():
        raise WorkbenchError(f"{ds.label}: its latest clustering predates persistent ids; cluster it again")
    found = resolve(pd.read_parquet(path), str(cluster_id))
    if found is None:
        raise WorkbenchError(f"cluster id {cluster_id!r} is not one of {ds.label}'s (or was retired with its records)")
    return found


def verified(clusters: pd.DataFrame) -> list[str]:
    """The cluster ids (labels) of clusters verified in review: their ids never move."""
    if "decision" not in clusters:
        return []
    return list(pd.unique(clusters.loc[clusters["decision"] == "verify", "cluster_id"].astype(str)))
