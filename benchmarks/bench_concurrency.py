"""Benchmark: analysts labeling and reviewing at once in one workspace.

Prints figures; asserts nothing (tests live in tests/test_collaboration.py).
N analyst processes open the same workspace (SQLite, or PostgreSQL with
``--db-url``), each builds its own labeling session over the sample
customers, then all start together: each takes the next pair, answers it from
the samples' truth, now and then undoes and answers again, and records a
review decision (verify, undone now and then). Afterwards the store is read
back. A second run ("store" mode) leaves the model out, so the store's own
writes (lease, label, audit, undo, decision) run as fast as they can. Then:

- labels/s: labels stored by all analysts per second of wall time;
- lost: labels (and decisions) an analyst was told were stored but that are
  not in the store afterwards (must be 0);
- shared: pairs handed to more than one analyst (leases should make it 0);
- audit chain: the hash-chained audit log verified afterwards;
- errors: what an analyst would have been shown; "retry" counts one-line
  "busy, retry" messages, "other" anything else (must be 0).

    .venv/bin/python benchmarks/bench_concurrency.py --analysts 2 4
    .venv/bin/python benchmarks/bench_concurrency.py --analysts 2 4 8 --db-url postgresql+psycopg://wb@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"


def analyst(path: str, db_url: str | None, user: str, task: str, dataset: str, labels: int,
            start, out, mode: str = "session") -> None:
    """One analyst's process: build a session, wait for the others, label and review.

    ``mode`` "store" skips the model: pairs come from a list every analyst walks
    in the same order, each claimed with a lease, so the store's writes (lease,
    label, audit, undo, decision) are all that runs, as fast as they go.
    """
    from workbench import Workspace
    from workbench.errors import WorkbenchError
    from workbench.oracle import TruthLabeler
    from workbench.review import ReviewDecisions

    report = {"user": user, "labels": set(), "undone": set(), "decisions": set(), "decisions_undone": set(),
              "pairs": [], "retry": 0, "other": 0, "messages": [], "latency": [], "setup": 0.0}

    def attempt(action, *args, **kwargs):
        """Run an analyst's action as the app would; return its result or None after an error."""
        try:
            return action(*args, **kwargs)
        except WorkbenchError as exc:
            kind = "retry" if "retry" in str(exc).lower() else "other"
            report[kind] += 1
            report["messages"].append(f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # what an analyst would see as a crash
            report["other"] += 1
            report["messages"].append(f"{type(exc).__name__}: {exc}")
        return None

    try:
        t0 = time.perf_counter()
        ws = Workspace(path, user=user, db_url=db_url)
        session = ws.deduper(dataset, task=task) if mode == "session" else _StoreOnly(ws, task, user)
        truth = TruthLabeler.for_samples(SAMPLES, "dedupe")
        review = ReviewDecisions(ws, task)
        report["setup"] = time.perf_counter() - t0
    except Exception as exc:
        report["other"] += 1
        report["messages"].append(f"setup: {type(exc).__name__}: {exc}")
        out.put(report)
        return
    start.wait()
    report["t0"] = time.time()
    for n in range(labels):
        t = time.perf_counter()
        pair = attempt(session.next_pair, analyst=user)
        if pair is None:
            break
        answer = truth.answer(pair)
        if attempt(session.mark, pair, answer) is None:
            continue
        report["latency"].append(time.perf_counter() - t)
        report["pairs"].append((pair.left_id, pair.right_id))
        mine = session.labels.last(user)
        report["labels"].add(mine.id)
        if n % 7 == 3:  # a slip of the finger: undo, answer again
            taken = attempt(session.labels.undo_last, user)
            if taken is not None:
                report["undone"].add(taken.id)
                again = attempt(session.labels.add, pair.left_id, pair.right_id, answer, taken.left, taken.right,
                                analyst=user)
                if again is not None:
                    report["labels"].add(again.id)
        if n % 5 == 0:
            dec = attempt(review.verify, [pair.left_id, pair.right_id])
            if dec is not None:
                report["decisions"].add(dec.id)
                if n % 10 == 0:
                    undone = attempt(review.undo)
                    if undone is not None:
                        report["decisions_undone"].add(undone.id)
    report["t1"] = time.time()
    ws.close()
    out.put(report)


class _StoreOnly:
    """The labeling protocol without a model: the next pair in a fixed list that this analyst can lease."""

    def __init__(self, ws, task: str, user: str):
        from workbench.matching.labels import LabelStore

        self.labels = LabelStore(ws, task)
        self.todo = iter((f"C{i:06d}", f"C{i + 1:06d}") for i in range(1, 5000, 2))

    def next_pair(self, analyst: str):
        from workbench.matching.session import Pair

        for a, b in self.todo:
            if self.labels.lease(a, b, analyst):
                return Pair(a, b, {"k": a}, {"k": b})
        return None

    def mark(self, pair, label: str):
        return self.labels.add(pair.left_id, pair.right_id, label, pair.left, pair.right)


def run(n: int, args, path: Path, dataset: str, mode: str) -> dict:
    import sqlalchemy as sa

    from workbench import Workspace, access, audit, store

    task = f"dedupe:bench-{n}-{uuid.uuid4().hex[:6]}"
    users = [f"analyst{i + 1}" for i in range(n)]
    admin = Workspace(path, user="bench-admin", db_url=args.db_url)
    for user in users:
        access.grant(admin, user, "analyst")
    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(n), ctx.Queue()
    labels = args.labels if mode == "session" else args.store_labels
    procs = [ctx.Process(target=analyst, args=(str(path), args.db_url, u, task, dataset, labels, start, out, mode))
             for u in users]
    for p in procs:
        p.start()
    reports = [out.get(timeout=1800) for _ in procs]
    for p in procs:
        p.join(60)

    lt, dt = store.labels_table, store.decisions_table
    with admin.engine.connect() as conn:
        active = {r[0] for r in conn.execute(sa.select(lt.c.id).where(lt.c.task == task, lt.c.undone_at.is_(None)))}
        decisions = {r[0] for r in conn.execute(sa.select(dt.c.id).where(dt.c.task == task,
                                                                          dt.c.undone_at.is_(None)))}
    chain = audit.verify(admin.engine)
    admin.close()
    written = set().union(*(r["labels"] - r["undone"] for r in reports))
    decided = set().union(*(r["decisions"] - r["decisions_undone"] for r in reports))
    pairs = [tuple(sorted(p)) for r in reports for p in set(r["pairs"])]
    starts = [r["t0"] for r in reports if "t0" in r]
    ends = [r["t1"] for r in reports if "t1" in r]
    wall = (max(ends) - min(starts)) if starts and ends else float("nan")
    latency = [x for r in reports for x in r["latency"]]
    stored = sum(len(r["labels"]) for r in reports)
    return {
        "store": "postgresql" if args.db_url else "sqlite", "mode": mode, "analysts": n,
        "labels": stored, "labels/s": stored / wall if wall else float("nan"),
        "p50 ms": 1000 * statistics.median(latency) if latency else float("nan"),
        "p95 ms": 1000 * statistics.quantiles(latency, n=20)[-1] if len(latency) > 1 else float("nan"),
        "lost": len(written - active), "decisions": sum(len(r["decisions"]) for r in reports),
        "decisions lost": len(decided - decisions), "shared": len(pairs) - len(set(pairs)),
        "retry": sum(r["retry"] for r in reports), "other errors": sum(r["other"] for r in reports),
        "setup s": max(r["setup"] for r in reports),
        "audit chain": "intact" if chain.intact else f"broken at entry {chain.first.entry}",
        "messages": [m for r in reports for m in r["messages"]][:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--analysts", type=int, nargs="+", default=[2, 4, 8], help="analyst processes per run")
    parser.add_argument("--labels", type=int, default=40, help="pairs each analyst labels with a session")
    parser.add_argument("--store-labels", type=int, default=300,
                        help="pairs each analyst labels in the store-only run (no model: the store's own pace)")
    parser.add_argument("--modes", nargs="+", default=["session", "store"], choices=["session", "store"])
    parser.add_argument("--db-url", default=None, help="a PostgreSQL URL (default: the workspace's SQLite)")
    parser.add_argument("--workspace", default=None, help="workspace folder (default: a temporary one)")
    args = parser.parse_args()

    from workbench import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.workspace or Path(tmp) / "ws")
        ws = Workspace(path, user="bench-admin", db_url=args.db_url)  # the first user: the workspace's admin
        dataset = f"customers_{uuid.uuid4().hex[:6]}"
        ws.load(SAMPLES / "customers.csv", key="customer_id", name=dataset)
        ws.close()
        rows = [run(n, args, path, dataset, mode) for mode in args.modes for n in args.analysts]

    cols = ["store", "mode", "analysts", "labels", "labels/s", "p50 ms", "p95 ms", "lost", "decisions", "decisions lost",
            "shared", "retry", "other errors", "audit chain", "setup s"]
    print(" | ".join(cols))
    print(" | ".join("---" for _ in cols))
    for row in rows:
        print(" | ".join(f"{row[c]:.1f}" if isinstance(row[c], float) else str(row[c]) for c in cols))
    for row in rows:
        for message in row["messages"]:
            print(f"  {row['analysts']} analysts: {message}", file=sys.stderr)


if __name__ == "__main__":
    main()
