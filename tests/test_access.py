"""Roles: who may grant, who may reveal, where identity comes from (workbench.access)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from workbench import Workspace, access
from workbench.access import AccessDenied
from workbench.cli import main


def test_first_user_is_admin_others_are_viewers_until_granted(tmp_path):
    ws = Workspace(tmp_path / "ws", user="ann")
    assert ws.role == "admin"
    assert Workspace(tmp_path / "ws", user="bob").role == "viewer"
    access.grant(ws, "bob", "analyst")
    assert Workspace(tmp_path / "ws", user="bob").role == "analyst"
    assert dict(zip(access.users(ws)["name"], access.users(ws)["role"], strict=True)) == {"ann": "admin",
                                                                                        "bob": "analyst"}
    grants = ws.audit_log().query("action == 'grant'")
    assert grants["target"].tolist() == ["ann", "bob"] and set(grants["user"]) == {"ann"}


def test_only_admins_grant_and_roles_are_checked(tmp_path):
    ws = Workspace(tmp_path / "ws", user="ann")
    access.grant(ws, "sam", "steward")
    steward = Workspace(tmp_path / "ws", user="sam")
    with pytest.raises(AccessDenied, match="needs the admin role; 'sam' is a steward"):
        access.grant(steward, "sam", "admin")
    with pytest.raises(Exception, match="unknown role 'boss'; roles: viewer, analyst, steward, admin"):
        access.grant(ws, "sam", "boss")
    assert Workspace(tmp_path / "ws", user="sam").role == "steward"


def test_can_reveal_only_stewards_and_admins():
    assert [r for r in access.ROLES if access.can_reveal(r)] == ["steward", "admin"]


def test_reveal_is_refused_for_viewers_and_audited_for_stewards(tmp_path):
    ws = Workspace(tmp_path / "ws", user="ann")
    access.grant(ws, "sam", "steward")
    with pytest.raises(AccessDenied, match="steward or admin"):
        access.authorize_reveal(Workspace(tmp_path / "ws", user="vic"), "customers")
    access.authorize_reveal(Workspace(tmp_path / "ws", user="sam"), "customers sample")
    reveals = ws.audit_log().query("action == 'reveal'")
    assert reveals[["user", "target"]].values.tolist() == [["sam", "customers sample"]]


def test_notebooks_show_records_masked_unless_the_role_may_reveal(tmp_path):
    """``ws.shown``: masked by default; raw only for a steward or admin, and then audited."""
    (tmp_path / "people.csv").write_text("id,name,email\n1,Ann Lee,ann@example.com\n2,Bo Kim,bo@example.org\n")
    admin = Workspace(tmp_path / "ws", user="ann")
    ds = admin.load(tmp_path / "people.csv", key="id", name="people")
    access.grant(admin, "vic", "analyst")
    analyst = Workspace(tmp_path / "ws", user="vic")
    masked = analyst.shown(ds.frame, ds)
    assert "ann@example.com" not in masked.to_string() and "Ann Lee" not in masked.to_string()
    with pytest.raises(AccessDenied, match="steward or admin"):
        analyst.shown(ds.frame, ds, masked=False, what="new records")
    raw = admin.shown(ds.frame, ds, masked=False, what="new records")
    pd.testing.assert_frame_equal(raw, ds.frame)
    reveals = admin.audit_log().query("action == 'reveal'")
    assert reveals[["user", "target"]].values.tolist() == [["ann", "new records of people v1"]]


def test_a_read_only_workspace_is_a_viewer_and_never_reveals(tmp_path):
    ws = Workspace(tmp_path / "ws", user="ann")
    before = len(ws.audit_log())
    board = Workspace(tmp_path / "ws", user="ann", read_only=True)  # even the admin, read-only
    assert board.role == "admin"
    with pytest.raises(AccessDenied, match="read-only"):
        access.authorize_reveal(board, "overview")
    from workbench.dashboards import open_workspace
    assert open_workspace(tmp_path / "ws").role == "viewer"
    assert len(ws.audit_log()) == before


def test_command_line_identity_is_the_os_login(tmp_path, capsys, monkeypatch):
    path = tmp_path / "ws"
    Workspace(path, user="ann")  # ann is the admin; the OS user running the tests is not
    monkeypatch.setenv("WORKBENCH_USER", "ann")  # an environment variable is no identity on the command line
    me = access.os_user()
    assert main(["users", "--workspace", str(path)]) == 0
    assert f"you: {me} (viewer)" in capsys.readouterr().out
    assert main(["users", "grant", me, "admin", "--workspace", str(path)]) == 2
    assert "needs the admin role" in capsys.readouterr().err
    assert main(["datasets", "--workspace", str(path), "--user", "ann"]) == 2
    err = capsys.readouterr().err
    assert "identity comes from your OS login" in err and "Traceback" not in err
    assert Workspace(path, user="x").audit_log()["user"].tolist().count(me) == 0


def test_an_admin_may_act_for_another_user_and_it_is_recorded(tmp_path, capsys):
    path = tmp_path / "ws"
    me = access.os_user()
    assert main(["users", "grant", "bob", "steward", "--workspace", str(path)]) == 0  # creates it: OS user admin
    assert main(["users", "--workspace", str(path), "--user", "bob"]) == 0
    assert "you: bob (steward)" in capsys.readouterr().out
    log = Workspace(path, user="x").audit_log()
    assert log[["user", "action", "target"]].values.tolist()[-1] == [me, "act_as", "bob"]


def test_labeling_app_never_unmasks_for_a_viewer(tmp_path):
    from workbench.ui import LabelingApp

    frame = pd.DataFrame({"customer_id": [f"K{i}" for i in range(40)],
                          "first_name": ["Ann", "Anne"] * 20, "last_name": ["Smithson"] * 40,
                          "email": [f"ann{i % 3}@example.com" for i in range(40)]})
    csv = tmp_path / "c.csv"
    frame.to_csv(csv, index=False)
    admin = Workspace(tmp_path / "ws", user="ann")
    admin.load(csv, key="customer_id", name="customers")
    viewer = Workspace(tmp_path / "ws", user="vic")
    app = LabelingApp(viewer.deduper("customers"), mask_pii=False)  # asked unmasked: refused
    try:
        assert app.mask_toggle.value and app.mask_toggle.disabled
        assert "Smithson" not in app.table.value and "@example.com" in app.table.value
        app.mask_toggle.value = False  # what a websocket client can send whatever the widget shows
        assert app.mask_toggle.value
        assert "Smithson" not in app.table.value and "example.com" in app.table.value
        assert "steward or admin" in app.error.value
    finally:
        app.close()
    assert "reveal" not in set(admin.audit_log()["action"])
    steward_app = LabelingApp(admin.deduper("customers"), mask_pii=False)
    try:
        assert "Smithson" in steward_app.table.value and not steward_app.mask_toggle.disabled
    finally:
        steward_app.close()
    assert (admin.audit_log()["action"] == "reveal").sum() == 1


def test_cluster_review_unmasks_only_for_stewards_and_audits_it(review_ws):
    from workbench.ui.review_app import ReviewApp

    with pytest.raises(AccessDenied, match="steward or admin"):
        ReviewApp(Workspace(review_ws.path, user="vic"), "customers", mask_pii=False)
    ReviewApp(Workspace(review_ws.path, user="vic"), "customers")  # masked: fine for a viewer
    ReviewApp(review_ws, "customers", mask_pii=False)  # "tester" made the workspace: its admin
    reveals = review_ws.audit_log().query("action == 'reveal'")
    assert reveals[["user", "target"]].values.tolist() == [["tester", "cluster review of customers"]]


def test_a_named_identity_carries_the_os_login_behind_it(tmp_path):
    """``Workspace(user=...)`` is a claim in Python: every entry it writes names the login that made it."""
    me = access.os_user()
    ws = Workspace(tmp_path / "ws", user="ann" if me != "ann" else "bea")
    ws.record("probe", "x")
    details = [json.loads(d) for d in ws.audit_log()["details_json"]]
    assert details and all(d.get("login") == me for d in details)
    mine = Workspace(tmp_path / "ws", user=me)
    mine.record("probe", "y")
    assert "login" not in json.loads(mine.audit_log()["details_json"].iloc[-1])  # acting as oneself: nothing to add
