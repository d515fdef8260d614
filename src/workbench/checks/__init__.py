"""Assess: declarative rule checks for customer data.

Rules read like sentences and are plain data; the runner evaluates them
through pandera and returns DataFrames::

    from workbench.checks import run_checks, not_null, valid_email, valid_phone
    results = run_checks(frame, [not_null("email"), valid_email("email"),
                                 valid_phone("phone", region="US")], key="customer_id")
    results.summary, results.failures, results.fitness({"email": ["valid_email"]})

Zero-config: ``default_rules(schema, frame)`` (only confident roles; phones read
per row's country, else ``default_region``); files: ``load_rules(path)``.
"""

from workbench.checks.defaults import (
    BUILTIN_PURPOSES,
    MIN_CONFIDENCE,
    STALE_YEARS,
    builtin_purposes,
    confident_schema,
    default_rules,
    suggest_rules_yaml,
    unassessable_purposes,
)
from workbench.checks.library import (
    DIMENSIONS,
    SEVERITIES,
    CheckKind,
    Param,
    Rule,
    RuleError,
    age_between,
    any_valid,
    check_kinds,
    consent_consistent,
    consent_present,
    consistent_mapping,
    date_parseable,
    dates_ordered,
    expression,
    freshness,
    get_kind,
    in_range,
    in_set,
    length,
    list_checks,
    matches,
    not_in_future,
    not_null,
    referential,
    register_check,
    unique,
    valid_email,
    valid_phone,
    valid_postcode,
)
from workbench.checks.rules_file import RuleSet, dump_rules, load_rules
from workbench.checks.runner import CheckResults, rule_status, run_checks, to_pandera_schema

__all__ = [
    "BUILTIN_PURPOSES",
    "DIMENSIONS",
    "MIN_CONFIDENCE",
    "STALE_YEARS",
    "SEVERITIES",
    "CheckKind",
    "CheckResults",
    "Param",
    "Rule",
    "RuleError",
    "RuleSet",
    "age_between",
    "any_valid",
    "builtin_purposes",
    "check_kinds",
    "consent_consistent",
    "confident_schema",
    "consent_present",
    "consistent_mapping",
    "date_parseable",
    "dates_ordered",
    "default_rules",
    "dump_rules",
    "expression",
    "freshness",
    "get_kind",
    "in_range",
    "in_set",
    "length",
    "list_checks",
    "load_rules",
    "matches",
    "not_in_future",
    "not_null",
    "referential",
    "register_check",
    "rule_status",
    "run_checks",
    "suggest_rules_yaml",
    "to_pandera_schema",
    "unassessable_purposes",
    "unique",
    "valid_email",
    "valid_phone",
    "valid_postcode",
]
