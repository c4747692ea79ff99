"""Retention: raw events expire by whole months per the plant's policy; roll-ups stay."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from factoryos.cli.main import app
from factoryos.model.aggregates import AggregateQuery, PeriodKind, PlannedPeriod
from factoryos.model.events import EnergyReading, Event, ProductionCount, StateChange
from factoryos.model.states import MachineState
from factoryos.store.postgres_store import PostgresStore
from tests.contract.test_aggregates import calendar
from tests.pg import PG_URL, drop_schemas, new_schema, pg_unavailable, run_sql, url_with_schema
from tests.store.test_postgres_rollups import answers, assert_same

pytestmark = pytest.mark.skipif(bool(pg_unavailable()), reason=pg_unavailable() or "")
runner = CliRunner(env={"COLUMNS": "200", "FACTORYOS_DB": ""})
UNIT = "e/s/a/l/m"
NOW = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def schema() -> Iterator[str]:
    yield new_schema()
    drop_schemas()


def events() -> list[Event]:
    old = [dt.datetime(2024, 1, 10, tzinfo=dt.UTC), dt.datetime(2024, 2, 10, tzinfo=dt.UTC)]
    recent = [NOW - dt.timedelta(hours=3), NOW - dt.timedelta(hours=1)]
    out: list[Event] = []
    for n, ts in enumerate([*old, *recent]):
        out.append(
            StateChange(f"s{n}", ts, UNIT, MachineState.PRODUCING if n % 2 else MachineState.FAULT)
        )
        out.append(ProductionCount(f"c{n}", ts + dt.timedelta(minutes=5), UNIT, "p", 2))
    return out


def rollups(schema: str) -> dict[str, list[tuple[object, ...]]]:
    with psycopg.connect(PG_URL) as conn:
        conn.execute(f"SET search_path TO {schema}")  # type: ignore[arg-type]
        return {
            t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr)  # type: ignore[arg-type]
            for t in ("state_hours", "fail_hours", "count_hours", "energy_hours")
        }


def months(schema: str) -> list[str]:
    with psycopg.connect(PG_URL) as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace "
            "WHERE n.nspname = %s AND p.relname = 'state_events' ORDER BY 1",
            (schema,),
        ).fetchall()
    return [str(r[0]).rsplit("_p", 1)[1] for r in rows]


def test_retention_shows_then_drops_whole_months_and_keeps_rollups(schema: str) -> None:
    url = url_with_schema(schema)
    with PostgresStore(url) as store:
        store.append(events())
        assert store.refresh_rollups() == 1  # one unit's marked hours
        assert store.refresh_rollups() == 0
    before = rollups(schema)
    assert before["state_hours"] and before["count_hours"]
    all_months = months(schema)
    assert all_months[:2] == ["202401", "202402"]

    shown = runner.invoke(
        app, ["db", "retention", "--db", url, "--node", "e/s", "--raw-days", "90"]
    )
    assert shown.exit_code == 0, shown.output
    assert "e/s keeps 90 days of raw events" in shown.output
    assert "2024-01" in shown.output and "expires" in shown.output
    assert months(schema) == all_months  # showing drops nothing
    with PostgresStore(url) as store:
        assert store.count() == 8
    # the store's change count (postgres_changes): the append raised it, showing did not
    assert run_sql(schema, "SELECT sum(n) FROM store_changes") == [(1,)]

    applied = runner.invoke(app, ["db", "retention", "--db", url, "--apply"])
    assert applied.exit_code == 0, applied.output
    assert "dropped" in applied.output
    assert "202401" not in months(schema) and "202402" not in months(schema)
    with PostgresStore(url) as store:
        assert store.count() == 4  # the recent events
        assert rollups(schema) == before  # never touched
        # an old id replayed is still known (the id registry outlives its partition)
        assert store.append(events()[:2]).inserted == 0
    # dropping months raised the count; the replay, which wrote nothing, did not
    assert run_sql(schema, "SELECT sum(n) FROM store_changes") == [(2,)]


def test_a_writer_recreates_a_month_another_process_expired(schema: str) -> None:
    url = url_with_schema(schema)
    with PostgresStore(url) as writer, PostgresStore(url) as admin:
        writer.append(events()[:2])  # January 2024: the writer now knows that partition
        admin.set_retention("e/s", 30)
        assert [p.month.month for p in admin.apply_retention(NOW).expiring] == [1]
        late = StateChange("late", dt.datetime(2024, 1, 20, tzinfo=dt.UTC), UNIT, MachineState.IDLE)
        assert writer.append([late]).inserted == 1
        assert writer.count() == 1


def test_retention_needs_postgres(tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "retention", "--db", str(tmp_path / "x.duckdb")])
    assert result.exit_code == 1
    assert "retention needs the PostgreSQL store" in result.output


HOUR_TILES = (
    (0, 6, None, "off"),
    (6, 14, "early", "busy"),
    (14, 22, "late", "busy"),
    (22, 24, None, "off"),
)


def month_of_events(unit: str, last_day: int, seed: int) -> list[Event]:
    """A unit's states on whole hours (the last one producing), counts and energy in January
    2024, from day 1 to ``last_day``."""
    rng = random.Random(seed)
    out: list[Event] = []
    hour = dt.datetime(2024, 1, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(2024, 1, last_day, tzinfo=dt.UTC)
    n = 0
    while hour < end:
        state = rng.choice([MachineState.PRODUCING, MachineState.IDLE, MachineState.FAULT])
        out.append(StateChange(f"{unit}s{n}", hour, unit, state, "jam" if n % 3 else None))
        out.append(ProductionCount(f"{unit}c{n}", hour + dt.timedelta(minutes=15), unit, "p", n))
        out.append(EnergyReading(f"{unit}e{n}", hour + dt.timedelta(minutes=40), unit, n / 4))
        hour += dt.timedelta(hours=rng.randint(2, 9))
        n += 1
    out.append(StateChange(f"{unit}last", hour, unit, MachineState.PRODUCING))
    return out


def hour_calendar(days: int) -> tuple[PlannedPeriod, ...]:
    return tuple(
        PlannedPeriod(
            "K",
            dt.datetime(2024, 1, 1, lo, tzinfo=dt.UTC) + dt.timedelta(days=d),
            dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=d, hours=hi),
            dt.date(2024, 1, 1) + dt.timedelta(days=d),
            shift,
            PeriodKind(kind),
        )
        for d in range(days)
        for lo, hi, shift, kind in HOUR_TILES
    )


def test_expired_months_answer_from_rollups_alone(schema: str) -> None:
    # Unit 1 goes on into the present; unit 2 falls silent on January 20th (its open tail then
    # lives in unit_last alone once January expires).
    one, two = "e/s/a/l/m1", "e/s/a/l/m2"
    recent = StateChange("now", NOW - dt.timedelta(hours=1), one, MachineState.IDLE)
    keys = {one: "K", two: "K"}
    start, end = dt.datetime(2024, 1, 1, tzinfo=dt.UTC), dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
    exact = AggregateQuery(start, end, "e/s", hour_calendar(31), keys, ("local_day",))
    cut = AggregateQuery(start, end, "e/s", calendar(dt.date(2024, 1, 1), 31), keys, ("path",))
    with PostgresStore(url_with_schema(schema)) as store:
        store.append([*month_of_events(one, 28, 1), *month_of_events(two, 20, 2), recent])
        store.rollups = False
        want, want_cut = answers(store, exact), answers(store, cut)
        store.rollups = "auto"
        store.set_retention("e/s", 90)
        assert [p.month.month for p in store.apply_retention(NOW).expiring][:1] == [1]
        assert store.events(start, end).num_rows == 0  # January's raw events are gone
        # tiles on whole hours: the roll-ups alone give exactly what the raw events gave
        assert_same(answers(store, exact), want)
        # a tile boundary inside an hour (10:30): the hour goes whole to the tile holding its
        # midpoint (hour resolution), so per tile kind the split moves but no time is lost
        got_cut = answers(store, cut)
        assert got_cut["states"] != want_cut["states"]
        total = sum(want_cut["states"].values())
        assert sum(got_cut["states"].values()) == pytest.approx(total)
        assert got_cut["counts"] and sum(c.good for c in got_cut["counts"]) == sum(
            c.good for c in want_cut["counts"]
        )
        store.rollups = False  # the raw events alone no longer know January
        assert answers(store, exact)["states"] == {}
