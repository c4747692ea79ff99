"""``factoryos users add|grant|list`` keep accounts in the store; bad roles and sites are named."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from factoryos.app.accounts import open_accounts
from factoryos.cli.main import app
from tests.api.conftest import PLANT_A


def test_add_grant_list_then_login(tmp_path: Path) -> None:
    db = str(tmp_path / "s.duckdb")
    run = CliRunner().invoke
    assert run(app, ["users", "add", "ada", "--db", db, "--password", "longenough"]).exit_code == 0
    assert run(app, ["users", "grant", "ada", "planner", "jiading", "--db", db]).exit_code == 0
    listed = run(app, ["users", "list", "--db", db])
    assert "ada" in listed.output and "planner@jiading" in listed.output
    bad = run(app, ["users", "grant", "ada", "boss", "jiading", "--db", db])
    assert bad.exit_code == 1 and "role='boss'" in bad.output
    unknown = run(
        app, ["users", "grant", "ada", "viewer", "pudong", "--db", db, "--plant", str(PLANT_A)]
    )
    assert unknown.exit_code == 1 and "site='pudong'" in unknown.output
    twice = run(app, ["users", "add", "ada", "--db", db, "--password", "longenough"])
    assert twice.exit_code == 1 and "exists already" in twice.output
    accounts = open_accounts(db)
    hashed = accounts.users.user("ada")
    assert hashed is not None and hashed.password_hash.startswith("$argon2id$")
    principal = accounts.session(accounts.login("ada", "longenough"))
    assert principal is not None and principal.can_write("jiading", "schedules")
    assert not principal.can_read("pudong")


def test_logout_ends_a_cached_session_at_once(tmp_path: Path) -> None:
    accounts = open_accounts(str(tmp_path / "u.duckdb"))
    accounts.add("ada", "longenough")
    accounts.grant("ada", "viewer", "jiading")
    token = accounts.login("ada", "longenough")
    assert accounts.session(token) is not None
    assert accounts.session(token) is not None  # from the cache
    accounts.logout(token)
    assert accounts.session(token) is None
    assert accounts.session("forged") is None
