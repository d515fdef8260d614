"""Link an acquired list against the master: which of its records do we already have?

Same labeling protocol as the deduper (pairs are acquired record vs master
record); ``link()`` then gives, for every acquired record, its best master
match or "new", and ``overlap()`` the figures a buyer asks for.
"""

from __future__ import annotations

import time
from functools import partial

import numpy as np
import pandas as pd

from workbench import artifacts
from workbench.matching.clustering import check_engine
from workbench.matching.pipeline import learn_plan, run_folder, run_scoring
from workbench.matching.session import MatchingSession
from workbench.schema import Role
from workbench.workspace import slug

#: A second master candidate this close to the best makes the link ambiguous.
AMBIGUITY_MARGIN = 0.1


class Linker(MatchingSession):
    """Active-learning record linkage of ``acquired`` (left) against ``master`` (right)."""

    symmetric = False
    run_kind = "link"
    finish_verb = "Linking"

    def __init__(self, ws, acquired, master, **options):
        task = options.pop("task", None) or f"link:{acquired.name}->{master.name}"
        super().__init__(ws, task, acquired, master, **options)

    def finish(self, *, progress=True) -> pd.DataFrame:
        """The labeling app's Finish: link every acquired record (``link``)."""
        return self.link(progress=progress)

    def link(self, threshold: float | None = None, *, progress: bool = True,
             workers: int | None = None, engine: str = "local", spark=None) -> pd.DataFrame:
        """For every acquired record: best master key (or None), score, status match/ambiguous/new.

        ``progress``: as for ``Deduper.cluster`` (True, False, or a function ``(stage, done, total)``).
        ``engine="spark"`` runs block keys, candidate pairs and scoring on Spark (``spark``: a SparkSession,
        default ``workbench.spark.local_session()``), as ``Deduper.cluster`` does; learning blocking stays here.

        Also stored in the workspace as a ``link`` run with a Parquet of the links.
        """
        check_engine(engine)
        model = self.model(threshold)
        with self.ws.run("link", self.left_ds, task=self.task, threshold=model.threshold,
                         master=self.right_ds.label) as run:
            folder = run_folder(self.ws.path / "matching" / slug(self.task), run.id)
            learn = partial(learn_plan, self)
            if engine == "spark":
                from workbench.spark import local_session
                from workbench.spark.linking import spark_link_scoring

                scored = spark_link_scoring(spark if spark is not None else local_session(), model, self.left_raw,
                                            self.right_raw, folder, labels=self.labels.active(), learn=learn,
                                            progress=progress)
            else:
                scored = run_scoring(model, self.left_raw, self.right_raw, folder, labels=self.labels.active(),
                                     learn=learn, progress=progress, workers=workers)
            t = time.perf_counter()
            links = _best_links(scored.edges, scored.left_keys, scored.right_keys, model.threshold)
            scored.log.time("assign", t)
            links.to_parquet(folder / artifacts.LINKS, index=False)
            model.save(folder / artifacts.MODEL)
            run.result = {"task": self.task, "threshold": model.threshold,
                          "overlap": self.overlap(links).to_dict("records"),
                          "folder": folder.relative_to(self.ws.path).as_posix(),
                          "labels": self.labels.counts(), "plan": [f.to_dict() for f in self.fields],
                          "seconds": scored.log.seconds, "figures": scored.log.figures,
                          "model": (folder / artifacts.MODEL).relative_to(self.ws.path).as_posix(),
                          "labels_sha256": model.labels_sha256}
        self.last_links = links
        self.last_run = run.result
        return links

    def overlap(self, links: pd.DataFrame | None = None) -> pd.DataFrame:
        """Counts and shares of already-ours / ambiguous / new, overall and per source of the acquired list."""
        links = self.last_links if links is None else links
        source_col = self.left_ds.schema.column_for(Role.SOURCE)
        frame = links.copy()
        if source_col is not None:
            src = self.left_raw[source_col].reindex(frame["acquired_key"]).to_numpy()
            frame["source"] = pd.Series(src).fillna("(none)").to_numpy()
        else:
            frame["source"] = "(all)"
        table = pd.crosstab(frame["source"], frame["status"])
        for col in ("match", "ambiguous", "new"):
            if col not in table:
                table[col] = 0
        table = table[["match", "ambiguous", "new"]]
        table.loc["all"] = table.sum()
        table["records"] = table.sum(axis=1)
        table["already_ours_pct"] = (100 * table["match"] / table["records"]).round(1)
        table["new_pct"] = (100 * table["new"] / table["records"]).round(1)
        return table.reset_index().rename(columns={"source": "source"})


    def new_records(self, links: pd.DataFrame | None = None) -> pd.DataFrame:
        """The acquired records no master record matches: the ones to onboard (raw values, keyed)."""
        links = self.last_links if links is None else links
        keys = links.loc[links["status"] == "new", "acquired_key"]
        return self.left_raw.loc[keys.to_numpy()].reset_index(drop=True)


def _best_links(edges: pd.DataFrame, left_keys: np.ndarray, right_keys: np.ndarray,
                threshold: float) -> pd.DataFrame:
    offset = len(left_keys)
    # a tie on the best score (the master's own duplicates) goes to the first master record: whatever
    # order the engine's join gave the edges in, the same link
    e = edges[edges["score"] >= threshold].sort_values(["l", "score", "r"], ascending=[True, False, True])
    best = e.groupby("l").head(1)
    second = e.groupby("l").nth(1)
    second_score = pd.Series(second["score"].to_numpy(), index=second["l"].to_numpy())
    out = pd.DataFrame({"acquired_key": left_keys, "master_key": None, "score": np.nan, "status": "new"})
    if len(best):
        li = best["l"].to_numpy()
        out.loc[li, "master_key"] = right_keys[best["r"].to_numpy() - offset]
        out.loc[li, "score"] = best["score"].to_numpy()
        out.loc[li, "status"] = "match"
        close = second_score.reindex(li).to_numpy()
        ambiguous = ~np.isnan(close) & (best["score"].to_numpy() - close < AMBIGUITY_MARGIN)
        out.loc[li[ambiguous], "status"] = "ambiguous"
    out["master_key"] = out["master_key"].astype(object)
    return out
