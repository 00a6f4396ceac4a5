"""Who may see what on the shared register: each person connects as their own database role; a department
role sees and changes only its department's incidents, the central desk sees them all, the audit log names
the authenticated role, and no application role can update or delete an audit row (raw SQL and the CLI)."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result
from conftest import INCIDENTS, database_url_of
from pgserver import Roles, as_role
from test_send_cli import incident  # noqa: F401 - fixture: an incident with a roster and SMTP settings

from incident.cli import cli
from incident.errors import RefusedError
from incident.law.vocabulary import init_store
from incident.notices.batch import BatchManifest, check_logged_approval
from incident.register.config import Config

AGRI, WELFARE = "都市農業課", "福祉課"


@dataclass
class Register:
    store_dir: Path
    url: str
    agri: str
    welfare: str
    central: str
    ids: dict[str, str]

    def run(self, role: str, *args: str, expect: int = 0) -> Result:
        result = CliRunner().invoke(cli, ["--store", str(self.store_dir), *args],
                                    env={"INCIDENT_DATABASE_URL": as_role(self.url, role)}, catch_exceptions=False)
        assert result.exit_code == expect, (result.stdout, result.stderr)
        return result

    def sql(self, role: str) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(as_role(self.url, role), autocommit=True)


def _case(tmp_path: Path, department: str) -> Path:
    text = (INCIDENTS / "email-cc-36.toml").read_text(encoding="utf-8").replace(
        'department = "総務課"', f'department = "{department}"')
    path = tmp_path / f"{department}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def register(tmp_path: Path, pg_url: str, pg_roles: Roles) -> Register:
    store_dir = tmp_path / "shared"
    init_store(store_dir, Config(database_url=pg_url))
    reg = Register(store_dir, pg_url, pg_roles.create("agri"), pg_roles.create("welfare"), pg_roles.create("central"),
                   {})
    owner = CliRunner()
    for role, option in ((reg.agri, ["--department", AGRI]), (reg.welfare, ["--department", WELFARE]),
                         (reg.central, ["--central"])):
        done = owner.invoke(cli, ["--store", str(store_dir), "db", "grant", role, *option], catch_exceptions=False)
        assert done.exit_code == 0, done.stderr
    for role, department in ((reg.agri, AGRI), (reg.welfare, WELFARE)):
        reg.ids[department] = json.loads(reg.run(role, "new", "--from", str(_case(tmp_path, department)),
                                                 "--json").stdout)["id"]
    return reg


def test_the_owner_lists_the_members(register: Register) -> None:
    listed = json.loads(CliRunner().invoke(cli, ["--store", str(register.store_dir), "db", "roles", "--json"]).stdout)
    assert [(m["role"], m["department"], m["central"]) for m in listed] == [
        (register.central, "", True), (register.welfare, WELFARE, False), (register.agri, AGRI, False)]
    with psycopg.connect(register.url) as conn:  # the policies hold the tables' owner too
        forced = conn.execute("SELECT relname FROM pg_class WHERE relforcerowsecurity AND oid IN "
                              "('incidents'::regclass, 'audit_log'::regclass) ORDER BY 1").fetchall()
    assert forced == [("audit_log",), ("incidents",)]
    # a member reads its own membership only
    with register.sql(register.agri) as conn:
        assert conn.execute("SELECT role FROM incident_members").fetchall() == [(register.agri,)]


def test_a_department_reads_and_changes_only_its_own_incidents_in_sql(register: Register) -> None:
    theirs = register.ids[WELFARE]
    with register.sql(register.agri) as conn:
        assert conn.execute("SELECT id, department FROM incidents").fetchall() == [(register.ids[AGRI], AGRI)]
        assert conn.execute("UPDATE incidents SET status = 'closed' WHERE id = %s", (theirs,)).rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            conn.execute("DELETE FROM incidents WHERE id = %s", (theirs,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("UPDATE incidents SET department = %s WHERE id = %s", (WELFARE, register.ids[AGRI]))
        # the audit entries of the other department's incident are not readable either
        incidents = {r[0] for r in conn.execute("SELECT incident FROM audit_log")}
        assert incidents == {register.ids[AGRI]}
    with register.sql(register.central) as conn:
        assert conn.execute("SELECT status FROM incidents WHERE id = %s", (theirs,)).fetchone() == ("open",)
        assert sorted(r[0] for r in conn.execute("SELECT department FROM incidents")) == sorted([AGRI, WELFARE])


@pytest.mark.parametrize("who", ["agri", "central"])
def test_no_application_role_updates_or_deletes_an_audit_row(register: Register, who: str) -> None:
    role = getattr(register, who)
    with register.sql(role) as conn:
        for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log",
                          "TRUNCATE audit_log", "UPDATE audit_links SET prev = 'x'", "DELETE FROM audit_links"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement.encode())
        # nor appends an entry in another role's name
        line = json.dumps({"seq": 99, "role": register.welfare, "prev": "0" * 64, "hash": "f" * 64})
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="must name its author"):
            conn.execute("INSERT INTO audit_log (seq, line, hash, incident, actor, action) "
                         "VALUES (99, %s, %s, NULL, 'x', 'x')", (line, "f" * 64))
    with register.sql(register.central) as conn:
        assert conn.execute("SELECT count(*) FROM audit_log").fetchone() == (2,)


def test_through_the_cli_a_department_sees_only_its_own(register: Register) -> None:
    mine, theirs = register.ids[AGRI], register.ids[WELFARE]
    listed = json.loads(register.run(register.agri, "list", "--json").stdout)
    assert [r["id"] for r in listed] == [mine]
    assert sorted(r["id"] for r in json.loads(register.run(register.central, "list", "--json").stdout)) == \
        sorted([mine, theirs])
    assert "no incident" in register.run(register.agri, "show", theirs, expect=2).stderr
    assert "no incident" in register.run(register.agri, "log", theirs, "見た", expect=2).stderr
    assert "no incident" in register.run(register.agri, "set", theirs, "persons=1", expect=2).stderr
    moved = register.run(register.agri, "set", mine, f"department={WELFARE}", expect=2)
    assert moved.stderr.startswith("error: the register at ") and f"to the role {register.agri}" in moved.stderr
    created = register.run(register.agri, "new", "--from", str(_case(register.store_dir.parent, WELFARE)), expect=2)
    assert "row-level security" in created.stderr and "Traceback" not in created.stderr
    # the central desk changes any incident; the department's own log and verify still work
    register.run(register.central, "log", theirs, "中央で確認")
    register.run(register.agri, "log", mine, "課で確認")
    for role in (register.agri, register.welfare, register.central):
        verified = json.loads(register.run(role, "audit", "verify", "--json").stdout)
        assert verified["ok"] and verified["entries"] == 4, (role, verified)


def test_the_audit_log_names_the_authenticated_role_and_keeps_the_given_name(register: Register) -> None:
    register.run(register.agri, "--actor", "山田", "log", register.ids[AGRI], "初動対応")
    with register.sql(register.central) as conn:
        lines = [json.loads(r[0]) for r in conn.execute("SELECT line FROM audit_log ORDER BY seq")]
    assert [(e["role"], e["actor"]) for e in lines] == [(register.agri, "tester"), (register.welfare, "tester"),
                                                        (register.agri, "山田")]


def test_a_revoked_role_sees_nothing(register: Register) -> None:
    owner = CliRunner().invoke(cli, ["--store", str(register.store_dir), "db", "revoke", register.agri, "--json"])
    assert json.loads(owner.stdout) == {"role": register.agri, "revoked": True}
    refused = register.run(register.agri, "list", expect=2)
    assert "has not granted this database role access" in refused.stderr
    again = CliRunner().invoke(cli, ["--store", str(register.store_dir), "db", "revoke", register.agri])
    assert again.exit_code == 2 and "not a member" in again.stderr


def test_granting_needs_a_role_that_exists_and_one_choice(register: Register) -> None:
    owner = CliRunner()
    missing = owner.invoke(cli, ["--store", str(register.store_dir), "db", "grant", "no_such_role_x", "--central"])
    assert missing.exit_code == 2 and "CREATE ROLE" in missing.stderr
    both = owner.invoke(cli, ["--store", str(register.store_dir), "db", "grant", register.agri, "--central",
                              "--department", AGRI])
    assert both.exit_code == 2 and "either --department NAME or --central" in both.stderr
    # a member cannot grant itself the central desk
    refused = register.run(register.agri, "db", "grant", register.agri, "--central", expect=2)
    assert "only the owner" in refused.stderr


def test_the_double_check_compares_authenticated_roles() -> None:
    manifest = BatchManifest("2024-0001", 1, "a" * 64, "alice", "2024-06-04T09:00:00+09:00")

    def entry(action: str, actor: str, role: str | None) -> dict[str, object]:
        return {"incident": "2024-0001", "action": action, "actor": actor, "changes": {"sha256": manifest.sha256},
                **({"role": role} if role else {})}

    with pytest.raises(RefusedError, match="someone other than its preparer"):  # two names, one role
        check_logged_approval([entry("send-prepare", "alice", "officer1"), entry("send-approve", "bob", "officer1")],
                              "2024-0001", manifest)
    check_logged_approval([entry("send-prepare", "alice", "officer1"), entry("send-approve", "alice", "officer2")],
                          "2024-0001", manifest)
    with pytest.raises(RefusedError):  # without roles (the file store), the names given are compared
        check_logged_approval([entry("send-prepare", "alice", None), entry("send-approve", "Alice", None)],
                              "2024-0001", manifest)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_the_preparing_role_cannot_approve_under_another_name(run: Any, incident: str,  # noqa: F811
                                                               store_dir: Path, pg_roles: Roles) -> None:
    url = database_url_of(store_dir)
    officer = {"INCIDENT_DATABASE_URL": as_role(url, pg_roles.member(url, "officer"))}
    run(f"send {incident} --prepare --actor alice", env=officer)
    refused = run(f"send {incident} --approve --actor bob", env=officer, expect=2)
    assert refused.stderr == (f"error: {pg_roles.member(url, 'officer')} prepared this batch; a second person, "
                              "signed in as someone else, must approve it (ダブルチェック)\n")
    approved = run(f"send {incident} --approve --actor bob --json")  # bob signed in as a role of his own
    assert json.loads(approved.stdout)["identities"] == {"compared": "roles", "imported": False}


def test_the_parts_of_each_incident_as_tables_under_the_same_policies(register: Register) -> None:
    """incident_timeline, _assessments, _obligations, _actions, _notices and _review_answers show what the
    record holds, and a department sees only the rows of its own incidents."""
    agri_id, welfare_id = register.ids[AGRI], register.ids[WELFARE]
    for role, incident_id in ((register.agri, agri_id), (register.welfare, welfare_id)):
        register.run(role, "set", incident_id, "persons=1500")
        register.run(role, "assess", incident_id)
        register.run(role, "log", incident_id, "初動対応を開始", "--at", "2024-06-04T10:00")
        register.run(role, "log", incident_id, "所属長へ報告", "--at", "2024-06-04T11:00")
        register.run(role, "action", "add", incident_id, "--measure", "送信前の宛先確認", "--owner", "総務課",
                     "--due", "2024-09-30")
    register.run(register.agri, "done", agri_id, "regulator-preliminary", "--ref", "R6-123")
    with register.sql(register.central) as conn:
        content = conn.execute("SELECT content FROM incidents WHERE id = %s", (agri_id,)).fetchone()
        assert content is not None
        record = tomllib.loads(str(content[0]))
        timeline = conn.execute("SELECT seq, text, actor FROM incident_timeline WHERE incident = %s ORDER BY seq",
                                (agri_id,)).fetchall()
        assert timeline == [(n, e["text"], e["actor"]) for n, e in enumerate(record["timeline"], 1)]
        assert [text for _seq, text, _actor in timeline][-2:] == ["初動対応を開始", "所属長へ報告"]
        obligations = conn.execute("SELECT regime, obligation, done_at FROM incident_obligations "
                                   "WHERE incident = %s ORDER BY regime, obligation", (agri_id,)).fetchall()
        done = record["obligations"]["appi-business"]["regulator-preliminary"]
        assert done["ref"] == "R6-123"
        expected = sorted((a["regime"], o["id"], done["done_at"] if o["id"] == "regulator-preliminary" else None)
                          for a in record["assessment"]["assessments"] for o in a["obligations"])
        assert obligations == expected and len(expected) >= 3
        assessed = conn.execute("SELECT regime, reportable FROM incident_assessments WHERE incident = %s",
                                (agri_id,)).fetchall()
        assert assessed == [(a["regime"], a["reportable"]) for a in record["assessment"]["assessments"]]
        actions = conn.execute("SELECT incident, action, measure, owner, due::text, state FROM incident_actions "
                               "ORDER BY incident, action").fetchall()
        assert actions == [(i, "A1", "送信前の宛先確認", "総務課", "2024-09-30", "open")
                           for i in sorted((agri_id, welfare_id))]
    views = ("incident_timeline", "incident_assessments", "incident_obligations", "incident_actions",
             "incident_notices", "incident_review_answers")
    for role, own, other in ((register.agri, agri_id, welfare_id), (register.welfare, welfare_id, agri_id)):
        with register.sql(role) as conn:
            for view in views:
                seen = {row[0] for row in conn.execute(f"SELECT DISTINCT incident FROM {view}")}
                assert other not in seen, (role, view)
            for view in ("incident_timeline", "incident_obligations", "incident_actions"):
                assert {row[0] for row in conn.execute(f"SELECT DISTINCT incident FROM {view}")} == {own}, view


def test_members_granted_before_the_views_existed_can_read_them_after_the_upgrade(register: Register) -> None:
    views = ("incident_timeline", "incident_assessments", "incident_obligations", "incident_actions",
             "incident_notices", "incident_review_answers")
    with psycopg.connect(register.url, autocommit=True) as owner:  # the register as it was before migration 5
        owner.execute(f"DROP VIEW {', '.join(views)}")
        owner.execute(f'REVOKE ALL ON personal_data FROM "{register.agri}"')
        owner.execute("DELETE FROM incident_migrations WHERE version = 5")
    upgraded = CliRunner().invoke(cli, ["--store", str(register.store_dir), "db", "upgrade", "--json"])
    assert upgraded.exit_code == 0, upgraded.stderr
    assert json.loads(upgraded.stdout)["applied"] == ["0005_tables_for_queries"], upgraded.stdout
    with register.sql(register.agri) as conn:
        for view in views:
            conn.execute(f"SELECT count(*) FROM {view}")
        assert conn.execute("SELECT count(*) FROM personal_data").fetchone() == (0,)


def test_members_granted_before_batches_were_kept_in_the_database_reach_them_after_the_upgrade(
        register: Register) -> None:
    with psycopg.connect(register.url, autocommit=True) as owner:  # the register as it was before migration 7
        owner.execute("DROP TABLE batch_journal")
        owner.execute("DELETE FROM incident_migrations WHERE version = 7")
    upgraded = CliRunner().invoke(cli, ["--store", str(register.store_dir), "db", "upgrade", "--json"])
    assert upgraded.exit_code == 0, upgraded.stderr
    assert json.loads(upgraded.stdout)["applied"] == ["0007_batches"], upgraded.stdout
    with register.sql(register.agri) as conn:
        conn.execute("INSERT INTO batch_journal (incident, line) VALUES (%s, '{}')", (register.ids[AGRI],))
        assert conn.execute("SELECT incident FROM batch_journal").fetchall() == [(register.ids[AGRI],)]
    with register.sql(register.welfare) as conn:
        assert conn.execute("SELECT count(*) FROM batch_journal").fetchone() == (0,)
