import subprocess
import sys

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
