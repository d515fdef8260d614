"""Benchmark: households on the sample, against its truth (which marks households, twins and Jr/Sr).

Prints figures; asserts nothing (tests live in tests/test_households.py).

Pairwise household precision and recall: a pair of distinct true people is
predicted together when a record of one and a record of the other are put in
one household, and truly together when the truth gives them one
``household_id`` (families, and twins and Jr/Sr pairs, who live together in
the generator). Each grouping is measured on three clusterings, to tell
household errors from dedupe errors:

- ``truth``: the true people (a perfect deduper): household grouping alone;
- ``model``: the engine's clustering after a scripted analyst's labels;
- ``records``: no deduplication, every record its own customer.

Beside ours, a baseline: the same normalized address only (street with unit,
and postcode or city), no phone or inbox. Then the grouping's speed on a
large generated master clustered by its truth.

    .venv/bin/python benchmarks/bench_households.py                 # sample, all three clusterings
    .venv/bin/python benchmarks/bench_households.py --no-model --rows 1000000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import peak_rss_mb  # noqa: E402

from workbench.households import group_households  # noqa: E402
from workbench.schema import infer_schema  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"


def entity_pairs(entity: pd.Series, group: pd.Series) -> pd.DataFrame:
    """Distinct pairs of entities (a < b) that share a group, from one entity and one group per record."""
    links = pd.DataFrame({"e": entity.to_numpy(), "g": group.to_numpy()}).drop_duplicates()
    links = links[links["g"].map(links["g"].value_counts()) > 1]
    both = links.merge(links, on="g")
    both = both[both["e_x"] < both["e_y"]]
    return both[["e_x", "e_y"]].drop_duplicates()


def household_metrics(members: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Pairwise precision/recall/F1 of predicted households over distinct true people."""
    t = truth.set_index("customer_id")
    keys = members["record_key"].astype(str)
    pred = entity_pairs(t["entity_id"].reindex(keys), members["household_id"])
    people = t.drop_duplicates("entity_id")
    true = entity_pairs(people["entity_id"], people["household_id"])
    tp = len(pred.merge(true, on=["e_x", "e_y"]))
    p = tp / len(pred) if len(pred) else 1.0
    r = tp / len(true) if len(true) else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "predicted_pairs": len(pred), "true_pairs": len(true)}


def model_clusters(labels: int) -> pd.DataFrame:
    """The engine's clustering of the sample after ``labels`` truth-answered pairs (as the test fixture does)."""
    from workbench import Workspace
    from workbench.oracle import TruthLabeler

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws", user="bench")
        ws.load(SAMPLES / "customers.csv", key="customer_id", name="customers")
        dd = ws.deduper("customers")
        TruthLabeler.for_samples(SAMPLES, "dedupe").label(dd, budget=labels)
        clusters = dd.cluster(progress=False).clusters
        out = clusters[["key", "cluster_id"]].astype(str).copy()
        ws.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=30, help="pairs the scripted analyst labels for 'model'")
    parser.add_argument("--model", action=argparse.BooleanOptionalAction, default=True,
                        help="also measure on the engine's clustering (labels and clusters the sample, ~1 min)")
    parser.add_argument("--rows", type=int, default=200_000, help="records of the generated master timed at the end")
    args = parser.parse_args()

    customers = pd.read_csv(SAMPLES / "customers.csv", dtype=str, keep_default_na=False)
    truth = pd.read_csv(SAMPLES / "truth" / "customers_truth.csv", dtype=str, keep_default_na=False)
    schema = infer_schema(customers, key="customer_id")
    people = truth.drop_duplicates("entity_id")
    sizes = people.groupby("household_id").size()
    print(f"sample: {len(customers):,} records, {len(people):,} people, {int((sizes > 1).sum()):,} households "
          f"of 2+ people ({int(sizes[sizes > 1].sum()):,} people in them)")

    clusterings = {"truth": pd.DataFrame({"key": truth["customer_id"], "cluster_id": truth["entity_id"]}),
                   "records": None}
    if args.model:
        t = time.perf_counter()
        clusterings["model"] = model_clusters(args.labels)
        print(f"model clustering: {args.labels} labels, {clusterings['model']['cluster_id'].nunique():,} clusters "
              f"({time.perf_counter() - t:.0f} s)")
    groupings = {"ours (address, phone, inbox)": {},
                 "baseline: same normalized address only": {"person_links": ("address",)}}
    print(f"\n{'clustering':<10} {'grouping':<40} {'precision':>9} {'recall':>7} {'F1':>7} "
          f"{'pred. pairs':>11} {'true pairs':>10} {'seconds':>8}")
    for cname, clusters in clusterings.items():
        for gname, options in groupings.items():
            t = time.perf_counter()
            result = group_households(customers, schema, clusters, key="customer_id", **options)
            seconds = time.perf_counter() - t
            m = household_metrics(result.members, truth)
            print(f"{cname:<10} {gname:<40} {m['precision']:>9.4f} {m['recall']:>7.4f} {m['f1']:>7.4f} "
                  f"{m['predicted_pairs']:>11,} {m['true_pairs']:>10,} {seconds:>8.2f}")

    if args.rows:
        from workbench.samples import generate_customers_large

        big, big_truth = generate_customers_large(args.rows)
        clusters = pd.DataFrame({"key": big_truth["customer_id"], "cluster_id": big_truth["entity_id"]})
        big_schema = infer_schema(big, key="customer_id")
        cpu, t = time.process_time(), time.perf_counter()
        result = group_households(big, big_schema, clusters, key="customer_id")
        wall = time.perf_counter() - t
        m = household_metrics(result.members, big_truth)
        print(f"\ngenerated master, {args.rows:,} records clustered by truth: {wall:.1f} s "
              f"(CPU {time.process_time() - cpu:.1f} s, load average {os.getloadavg()[0]:.1f}), "
              f"{result.stats['multi_households']:,} households of 2+, precision {m['precision']:.4f}, "
              f"recall {m['recall']:.4f}, skipped values {result.stats['skipped_values']:,}")
        print("peak memory:", peak_rss_mb())


if __name__ == "__main__":
    main()
