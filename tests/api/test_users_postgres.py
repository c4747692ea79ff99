"""Accounts on a PostgreSQL URL: ``factoryos users`` and ``serve --db postgresql://...`` share the
server's tables, so a user added by the command logs in to the service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factoryos.app.accounts import open_accounts
from factoryos.app.service import Service, ServiceSettings
from factoryos.cli.main import app
from factoryos.store.postgres_users import PostgresUserStore
from tests.api.conftest import PLANT_A
from tests.pg import drop_schemas, fresh_schema_url, pg_unavailable

pytestmark = pytest.mark.skipif(bool(pg_unavailable()), reason=pg_unavailable() or "")


@pytest.fixture
def url() -> Iterator[str]:
    yield fresh_schema_url()
    drop_schemas()


def test_users_added_by_the_command_log_in_to_a_postgres_service(url: str, tmp_path: Path) -> None:
    run = CliRunner(env={"FACTORYOS_DB": ""}).invoke
    added = run(app, ["users", "add", "ada", "--db", url, "--password", "longenough"])
    assert added.exit_code == 0, added.output
    granted = run(app, ["users", "grant", "ada", "planner", "jiading", "--db", url])
    assert granted.exit_code == 0, granted.output
    twice = run(app, ["users", "add", "ada", "--db", url, "--password", "longenough"])
    assert twice.exit_code == 1 and "exists already" in twice.output
    listed = run(app, ["users", "list", "--db", url])
    assert "planner@jiading" in listed.output

    service = Service(ServiceSettings(plants=(PLANT_A,), db=url, work_dir=tmp_path))
    try:
        assert isinstance(service.accounts.users, PostgresUserStore)
        token = service.accounts.login("ada", "longenough")
        principal = service.accounts.session(token)
        assert principal is not None and principal.can_write("jiading", "schedules")
        # a second server of the plant knows the session; logging out ends it for both
        other = open_accounts(url)
        assert other.session(token) is not None
        other.logout(token)
        assert open_accounts(url).session(token) is None
    finally:
        service.store.close()
        service.accounts.users.close()
