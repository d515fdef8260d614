"""`workbench assess`: exit codes 0 / 1 / 2, JSON keys, HTML report, and `prepare` storing assessments."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from workbench import Workspace
from workbench.cli import main

RULES_CRITICAL = """\
rules:
  - check: not_null
    column: email
    severity: critical
  - check: valid_email
    column: email
purposes:
  email_marketing: [valid_email, not_null]
"""


@pytest.fixture
def customers_csv(tmp_path):
    src = tmp_path / "leads.csv"
    src.write_text("lead_id,email,phone\nL1,a@example.com,212-555-0101\nL2,,212-555-0102\nL3,bad,\n")
    return src


def _run(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_zero_config_exit_0_with_summary_json_and_html(customers_csv, tmp_path, capsys):
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    code, out, _ = _run(["assess", str(customers_csv), "--key", "lead_id", "--workspace", str(tmp_path / "ws"),
                         "--json", str(out_json), "--html", str(out_html)], capsys)
    assert code == 0
    assert "health" in out and "top failing rules" in out and "no critical rule failed" in out
    r = json.loads(out_json.read_text())
    assert {"rows", "rejected", "checks", "scores", "health", "fitness"} <= set(r)
    assert r["rows"] == 3 and r["rejected"] == 0
    assert {"name", "check", "column", "dimension", "severity", "tested", "failed"} <= set(r["checks"][0])
    assert "<html" in out_html.read_text()[:200]


def test_critical_failure_exit_1(customers_csv, tmp_path, capsys):
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES_CRITICAL)
    code, out, _ = _run(["assess", str(customers_csv), "--key", "lead_id", "--rules", str(rules),
                         "--workspace", str(tmp_path / "ws"), "--purpose", "email_marketing"], capsys)
    assert code == 1
    assert "CRITICAL rules failed: not_null:email" in out and "email_marketing 33.3%" in out


def test_json_to_stdout(customers_csv, tmp_path, capsys):
    code, out, _ = _run(["assess", str(customers_csv), "--key", "lead_id", "--workspace", str(tmp_path / "ws"),
                         "--json", "-"], capsys)
    assert code == 0 and json.loads(out)["rows"] == 3


@pytest.mark.parametrize("rules_text, expected", [
    ("rules:\n  - check: not_a_check\n    column: email\n", ["line 2", "not_a_check"]),
    ("rules:\n  - check: not_null\n    column: emial\n", ["line 3", "emial"]),
    ("rules:\n  - check: not_null\n   column: email\n", ["line", "YAML"]),
])
def test_bad_rules_file_exit_2_names_file_and_line(customers_csv, tmp_path, capsys, rules_text, expected):
    rules = tmp_path / "bad.yaml"
    rules.write_text(rules_text)
    code, _, err = _run(["assess", str(customers_csv), "--rules", str(rules), "--workspace", str(tmp_path / "ws")],
                        capsys)
    assert code == 2
    assert "bad.yaml" in err
    for part in expected:
        assert part in err


def test_input_errors_exit_2(customers_csv, tmp_path, capsys):
    ws = str(tmp_path / "ws")
    code, _, err = _run(["assess", str(tmp_path / "missing.csv"), "--workspace", ws], capsys)
    assert code == 2 and "missing.csv" in err
    code, _, err = _run(["assess", str(customers_csv), "--workspace", ws, "--purpose", "nope"], capsys)
    assert code == 2 and "unknown purpose 'nope'" in err
    code, _, err = _run(["assess", str(customers_csv), "--workspace", ws, "--rules", str(tmp_path / "no.yaml")],
                        capsys)
    assert code == 2 and "no.yaml" in err


def test_usage_error_exit_2():
    out = subprocess.run([sys.executable, "-m", "workbench.cli", "assess"], capture_output=True, text=True)
    assert out.returncode == 2 and "usage" in out.stderr


def test_reassess_dataset_by_name(customers_csv, tmp_path, capsys):
    ws = str(tmp_path / "ws")
    assert _run(["assess", str(customers_csv), "--key", "lead_id", "--workspace", ws], capsys)[0] == 0
    code, out, _ = _run(["assess", "leads", "--workspace", ws], capsys)
    assert code == 0 and "leads v1" in out
    assert len(Workspace(ws).runs("assess")) == 2


def test_prepare_stores_an_assessment_per_sample(prepared_workspace):
    ws = Workspace(prepared_workspace)
    runs = ws.runs("assess")
    done = runs[runs["status"] == "done"]
    assert {r["dataset"] for r in done["result"]} == {"customers", "acquired"}
