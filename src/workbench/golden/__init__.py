"""Golden records: after deduplication, one best record per cluster, with lineage.

::

    from workbench.golden import SurvivorshipRules, build_golden

    rules = SurvivorshipRules.defaults(ds.schema)          # or .from_yaml("survivorship.yaml")
    result = build_golden(ds.frame, clusters, rules, key="customer_id", source="source")
    result.golden          # one row per cluster
    result.lineage         # which record, source and rule gave each value
    result.crosswalk       # record key -> golden_id
    result.export("out/")  # CSV (formula-safe) and Parquet
    result.to_sql("sqlite:///golden.db", "customer")

``ws.golden("customers")`` does the same from the stored clustering
(``build.golden_from_workspace``) and records a "golden" run.
"""

from workbench.golden.build import LINEAGE_RULES, GoldenResult, build_golden, golden_from_workspace
from workbench.golden.rules import (
    RULE_KINDS,
    Group,
    SurvivorshipRules,
    SurvivorshipStep,
    custom,
    earliest,
    load_survivorship_rules,
    longest,
    most_complete,
    most_frequent,
    most_recent,
    source_priority,
)

__all__ = [
    "LINEAGE_RULES",
    "RULE_KINDS",
    "GoldenResult",
    "Group",
    "SurvivorshipStep",
    "SurvivorshipRules",
    "build_golden",
    "custom",
    "earliest",
    "golden_from_workspace",
    "load_survivorship_rules",
    "longest",
    "most_complete",
    "most_frequent",
    "most_recent",
    "source_priority",
]
