import subprocess
import sys

import pandas as pd

from workbench import artifacts
from workbench.cli import main


def test_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "workbench.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for command in ["samples", "prepare", "load", "datasets", "audit"]:
        assert command in out.stdout


def test_load_prints_accounting_and_roles(tmp_path, capsys):
    src = tmp_path / "c.csv"
    src.write_text("customer_id,email,phone\nC1,a@b.co,212-555-0101\nC2,c@d.co\n")
    code = main(["load", str(src), "--key", "customer_id", "--workspace", str(tmp_path / "ws")])
    out = capsys.readouterr().out
    assert code == 0
    assert "2 rows read = 1 kept + 1 rejected" in out
    assert "rejected line 3" in out and "email: email" in out


def test_missing_file_is_exit_2_with_message(tmp_path, capsys):
    code = main(["load", str(tmp_path / "nope.csv"), "--workspace", str(tmp_path / "ws")])
    err = capsys.readouterr().err
    assert code == 2 and "nope.csv" in err


def test_usage_error_is_exit_2():
    out = subprocess.run([sys.executable, "-m", "workbench.cli", "load"], capture_output=True, text=True)
    assert out.returncode == 2 and "usage" in out.stderr


def test_prepare_and_datasets(prepared_workspace, capsys):
    assert main(["datasets", "--workspace", str(prepared_workspace)]) == 0
    out = capsys.readouterr().out
    assert "customers" in out and "acquired" in out
    assert main(["audit", "--workspace", str(prepared_workspace)]) == 0
    assert "tester" in capsys.readouterr().out


def test_golden_command_exports_golden_records_lineage_and_crosswalk(deduped_copy, tmp_path, capsys):
    import sqlalchemy as sa

    out = tmp_path / "golden"
    db = tmp_path / "golden.db"
    code = main(["golden", "customers", "--workspace", str(deduped_copy), "--out", str(out), "--sql", f"sqlite:///{db}"])
    assert code == 0
    crosswalk = pd.read_parquet(out / artifacts.CROSSWALK)
    golden = pd.read_csv(out / "golden.csv", dtype=str)
    assert crosswalk["record_key"].is_unique and len(crosswalk) == 5000
    assert set(crosswalk["golden_id"]) == set(golden["golden_id"])
    with sa.create_engine(f"sqlite:///{db}").connect() as conn:
        n = conn.execute(sa.text("SELECT COUNT(*) FROM golden_records")).scalar()
    assert n == len(golden)
    assert f"{len(golden):,} golden records from 5,000 records" in capsys.readouterr().out


def test_golden_command_without_a_clustering_says_so(workspace_copy, tmp_path, capsys):
    code = main(["golden", "customers", "--workspace", str(workspace_copy), "--out", str(tmp_path / "g")])
    assert code == 2
    assert "cluster" in capsys.readouterr().err.lower()
