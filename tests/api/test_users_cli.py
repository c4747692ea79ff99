"""``factoryos users add|grant|list`` keep accounts in the store; bad roles and sites are named."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from factoryos.app.accounts import open_accounts
from factoryos.cli.main import app


def test_add_grant_list_then_login(tmp_path: Path) -> None:
    db = str(tmp_path / "s.duckdb")
    run = CliRunner().invoke
    assert run(app, ["users", "add", "ada", "--db", db, "--password", "longenough"]).exit_code == 0
    assert run(app, ["users", "grant", "ada", "planner", "jiading", "--db", db]).exit_code == 0
    listed = run(app, ["users", "list", "--db", db])
    assert "ada" in listed.output and "planner@jiading" in listed.output
    bad = run(app, ["users", "grant", "ada", "boss", "jiading", "--db", db])
    assert bad.exit_code == 1 and "role='boss'" in bad.output
    twice = run(app, ["users", "add", "ada", "--db", db, "--password", "longenough"])
    assert twice.exit_code == 1 and "exists already" in twice.output
    accounts = open_accounts(db)
    hashed = accounts.users.user("ada")
    assert hashed is not None and hashed.password_hash.startswith("$argon2id$")
    principal = accounts.session(accounts.login("ada", "longenough"))
    assert principal is not None and principal.can_write("jiading", "schedules")
    assert not principal.can_read("pudong")
