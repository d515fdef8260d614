"""Rule checks on Spark: the pandas path's failure counts per rule, exactly (issue 12)."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest

from workbench.checks import default_rules, expression, load_rules, not_null, run_checks, unique
from workbench.checks import library as lib
from workbench.errors import WorkbenchError
from workbench.loading import load_table
from workbench.schema import infer_schema

AS_OF = "2025-06-30"
EXAMPLES = 3

#: One rule of every kind a rules file can hold, on the sample customers' columns.
RULES_YAML = r"""
version: 1
default_region: US
rules:
  - {check: not_null, column: email}
  - {check: unique, column: email}
  - {check: matches, column: postcode, pattern: '^\d{5}$'}
  - {check: in_set, column: source, values: [crm, web]}
  - {check: in_set, column: state, values: [ca, ny, tx, il], case_sensitive: false, name: big_states}
  - {check: in_range, column: postcode, min: 10000, max: 60000}
  - {check: in_range, column: signup_date, min: '2016-01-01', max: '2024-06-30', name: signup_window}
  - {check: length, column: first_name, min: 3, max: 8}
  - {check: date_parseable, column: date_of_birth, past: true}
  - {check: not_in_future, column: consent_date}
  - {check: age_between, column: date_of_birth, min: 18, max: 90, past: true}
  - {check: freshness, column: signup_date, max_age_years: 5}
  - {check: valid_email, column: email}
  - {check: valid_phone, column: phone, country_column: country}
  - {check: consistent_mapping, column: postcode, columns: [city, state]}
  - {check: dates_ordered, column: date_of_birth, later: signup_date}
  - {check: valid_postcode, column: postcode, country_column: country}
  - {check: consent_present, column: consent_email}
  - {check: consent_consistent, column: consent_email, date_column: consent_date, signup_column: signup_date}
  - {check: expression, expr: 'consent_date >= signup_date', name: consent_after_signup}
  - {check: referential, column: state, source: states.code}
  - check: any_valid
    name: email_or_phone
    rules:
      - {check: valid_email, column: email}
      - {check: valid_phone, column: phone}
"""
STATES = {"states.code": ["CA", "NY", "TX", "IL", "FL", "WA", "MA", "PA"]}


@pytest.fixture(scope="module")
def customers(samples_dir):
    frame = load_table(samples_dir / "customers.csv", key="customer_id").frame
    return frame, infer_schema(frame, key="customer_id")


@pytest.fixture(scope="module")
def sdf(spark, customers):
    conf = "spark.sql.execution.arrow.maxRecordsPerBatch"
    before = spark.conf.get(conf)
    spark.conf.set(conf, "700")  # with chunk_rows=1000: several chunks per partition, none sees all rows
    yield spark.createDataFrame(customers[0])
    spark.conf.set(conf, before)


def _agree(spark_res, pandas_res) -> None:
    got, want = spark_res.summary, pandas_res.summary
    pd.testing.assert_frame_equal(got, want)
    pd.testing.assert_series_equal(spark_res.counts(), pandas_res.counts())
    first = pandas_res.failures.groupby("rule", sort=False).head(EXAMPLES)
    mine = spark_res.failures
    assert mine[["rule", "key", "column", "value"]].reset_index(drop=True).equals(
        first[["rule", "key", "column", "value"]].reset_index(drop=True))


def test_zero_config_rules_count_as_on_pandas(customers, sdf):
    from workbench.spark.assess import run_checks_spark, spark_default_rules

    frame, schema = customers
    rules = default_rules(schema, frame)
    assert spark_default_rules(sdf, schema) == rules  # same rules, same default region from Spark's counts
    res = run_checks_spark(sdf, schema=schema, as_of=AS_OF, examples=EXAMPLES, chunk_rows=1000)
    assert {"unique", "consistent_mapping", "valid_phone", "any_valid"} <= {r.check for r in res.rules}
    _agree(res, run_checks(frame, rules, key="customer_id", as_of=AS_OF))
    assert (res.summary["failed"] > 0).sum() >= 5  # the sample is dirty: the counts compared are not zeros


def test_yaml_rules_of_every_kind_count_as_on_pandas(customers, sdf, tmp_path):
    from workbench.spark.assess import run_checks_spark

    frame, _ = customers
    path = tmp_path / "rules.yaml"
    path.write_text(textwrap.dedent(RULES_YAML), encoding="utf-8")
    rules = load_rules(path)
    assert {r.check for r in rules} == set(lib.check_kinds())  # every kind a file can name
    res = run_checks_spark(sdf, path, key="customer_id", as_of=AS_OF, references=STATES, examples=EXAMPLES,
                           chunk_rows=1000)
    _agree(res, run_checks(frame, rules, key="customer_id", as_of=AS_OF, references=STATES))
    assert (res.summary["failed"] > 0).sum() >= 12


def test_bad_rules_fail_as_on_pandas(customers, sdf, monkeypatch):
    from workbench.spark.assess import run_checks_spark

    frame, _ = customers
    # a missing column (found before Spark runs), and an expression that fails on the workers' rows
    for rules, names in (([not_null("emial")], "'emial'"), ([expression("postcode + 1")], "'postcode + 1'")):
        with pytest.raises(WorkbenchError) as on_pandas:
            run_checks(frame, rules, as_of=AS_OF)
        with pytest.raises(WorkbenchError) as on_spark:
            run_checks_spark(sdf, rules, as_of=AS_OF)
        assert str(on_spark.value) == str(on_pandas.value)
        assert "\n" not in str(on_spark.value) and names in str(on_spark.value)
    # a kind whose rows depend on each other with no grouping Spark could use: refused by name, not skipped
    kind = lib.get_kind("unique")
    monkeypatch.setitem(lib._REGISTRY, "unique", lib.CheckKind(**{**kind.__dict__, "grouped": False}))
    with pytest.raises(WorkbenchError, match=r"^rule 'unique:email' \(unique\) cannot run on Spark"):
        run_checks_spark(sdf, [unique("email")])
