"""One URL everywhere: import, kpi, simulate and demo on PostgreSQL, and clear one-line errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factoryos.cli.main import app
from factoryos.store.postgres_store import PostgresStore
from tests.pg import PG_URL, drop_schemas, fresh_schema_url, pg_unavailable
from tests.simulate.conftest import TINY_PLANT

FIXTURES = Path(__file__).parents[1] / "fixtures"
PLANT = str(FIXTURES / "mini_plant.yaml")
CNC1 = "acme/plant1/main/line1/cnc/1"
runner = CliRunner(env={"COLUMNS": "200", "FACTORYOS_DB": ""})

pytestmark = pytest.mark.skipif(bool(pg_unavailable()), reason=pg_unavailable() or "")


@pytest.fixture(autouse=True)
def _drop_schemas() -> object:
    yield
    drop_schemas()


def _events_csv(path: Path) -> Path:
    rows = [
        ("a1", "2026-01-05T08:00:00+08:00", "state", CNC1, "producing", "", "", "", ""),
        ("a2", "2026-01-05T10:00:00+08:00", "state", CNC1, "fault", "spindle", "", "", ""),
        ("a3", "2026-01-05T11:00:00+08:00", "state", CNC1, "producing", "", "", "", ""),
        ("a4", "2026-01-05T11:00:00Z", "count", CNC1, "", "", "part", "mill", "5"),
        ("a5", "2026-01-05T13:00:00+08:00", "state", CNC1, "idle", "", "", "", ""),
    ]
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["event_id", "ts", "kind", "path", "state", "reason", "product", "operation", "good"]
        )
        writer.writerows(rows)
    return path


def _kpi_json(db: str) -> dict[str, object]:
    args = ["kpi", "--db", db, "--plant", PLANT, "--from", "2026-01-05", "--to", "2026-01-06"]
    result = runner.invoke(app, [*args, "--by", "day", "--json"])
    assert result.exit_code == 0, result.output
    report: dict[str, object] = json.loads(result.output)
    return report


def test_import_and_kpi_take_a_url_and_answer_as_duckdb(tmp_path: Path) -> None:
    events = _events_csv(tmp_path / "events.csv")
    url, duck = fresh_schema_url(), str(tmp_path / "plant.duckdb")
    for db in (url, duck):
        first = runner.invoke(app, ["import", str(events), "--db", db, "--plant", PLANT])
        again = runner.invoke(app, ["import", str(events), "--db", db])
        assert first.exit_code == again.exit_code == 0, first.output + again.output
    assert "5" in first.output  # the counts table
    with PostgresStore(url) as store:
        assert store.count() == 5
    report = _kpi_json(url)
    assert report == _kpi_json(duck)
    assert report["total"]["time_elements_s"]["apt"] > 0  # type: ignore[index]


def test_factoryos_db_names_the_store_for_every_command(tmp_path: Path) -> None:
    url = fresh_schema_url()
    env = {"FACTORYOS_DB": url, "COLUMNS": "200"}
    events = _events_csv(tmp_path / "events.csv")
    imported = runner.invoke(app, ["import", str(events)], env=env)
    assert imported.exit_code == 0, imported.output
    kpi = runner.invoke(app, ["kpi", "--plant", PLANT, "--node", CNC1], env=env)
    assert kpi.exit_code == 0, kpi.output
    assert "spindle" in kpi.output

    plant = tmp_path / "tiny.yaml"
    plant.write_text(TINY_PLANT, encoding="utf-8")
    args = ["simulate", str(plant), "--days", "1", "--start", "2026-03-02"]
    simulated = runner.invoke(app, args, env=env)
    assert simulated.exit_code == 0, simulated.output
    assert "events stored in postgresql://" in simulated.output
    with PostgresStore(url) as store:
        assert store.count() > 5


def test_demo_on_postgres(tmp_path: Path) -> None:
    url = fresh_schema_url()
    result = runner.invoke(app, ["demo", "--db", url, "--days", "2"])
    assert result.exit_code == 0, result.output
    assert "OEE" in result.output
    with PostgresStore(url) as store:
        stored = store.count()
    assert f"{stored:,} events stored in" in result.output
    again = runner.invoke(app, ["demo", "--db", url, "--days", "2"])  # same ids: nothing doubles
    assert again.exit_code == 0, again.output
    with PostgresStore(url) as store:
        assert store.count() == stored


BASE = PG_URL.split("://", 1)[1].split("@", 1)[-1].split("/", 1)[0]  # host:port


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (f"postgresql://postgres:s3cret@{BASE}/fos_no_such_db_9d1", "does not exist"),
        ("postgresql://postgres:s3cret@127.0.0.1:1/test", "refused"),
        ("postgresql://postgres:s3cret@127.0.0.1:notaport/test", "port"),
        (f"postgresql://postgres:s3cret@{BASE}/test?color=blue", "color"),
    ],
)
def test_bad_urls_are_one_clear_line_without_the_password(url: str, says: str) -> None:
    for args in (["kpi", "--plant", PLANT, "--db", url], ["db", "upgrade", "--db", url]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1, result.output
        assert says in lines[0]
        assert "s3cret" not in result.output and "postgres:***@" in lines[0]
        assert "Traceback" not in result.output
