"""Day packs: a unit's closed days as one row of arrays, read instead of raw events where they
exist; late events make holes read raw until the next compaction; answers never change."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from factoryos.cli.main import app
from factoryos.model.aggregates import AggregateQuery, GroupKey
from factoryos.model.errors import StoreError
from factoryos.model.events import EnergyReading, Event, ProductionCount, StateChange
from factoryos.model.states import MachineState
from factoryos.store import postgres_schema
from factoryos.store.duckdb_store import DuckDBStore
from factoryos.store.postgres_store import PostgresStore
from tests.contract.test_aggregates import KEYS, A, B, calendar
from tests.pg import PG_URL, drop_schemas, new_schema, pg_unavailable, url_with_schema
from tests.pg import run_sql as sql
from tests.store.test_postgres_rollups import GROUPINGS, T0, answers, assert_same, batches
from tests.store.test_postgres_rollups import plant_events as plant_events

pytestmark = pytest.mark.skipif(bool(pg_unavailable()), reason=pg_unavailable() or "")
runner = CliRunner(env={"COLUMNS": "200", "FACTORYOS_DB": ""})
DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _drop() -> Iterator[None]:
    yield
    drop_schemas()


def day_of(n: int) -> dt.date:
    return (T0 + n * DAY).date()


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    events=plant_events(),
    seed=st.integers(0, 1000),
    packed_days=st.lists(st.integers(0, 5), min_size=1, max_size=3),
    start_min=st.integers(0, 3 * 24 * 60),
    length_min=st.integers(1, 3 * 24 * 60),
    group_by=st.sampled_from(GROUPINGS),
    node=st.sampled_from(["e/s", "e/s/a/l", A]),
)
def test_packed_days_holes_and_raw_events_answer_as_duckdb(
    events: list[Event], seed: int, packed_days: list[int], start_min: int, length_min: int,
    group_by: tuple[GroupKey, ...], node: str,
) -> None:  # fmt: skip
    # Events arrive in shuffled batches; compactions with moving "todays" run between them, so
    # the read mixes packs, holes left by late events, unpacked days and partial days.
    start = T0 + dt.timedelta(minutes=start_min)
    q = AggregateQuery(
        start, start + dt.timedelta(minutes=length_min), node,
        calendar(dt.date(2023, 12, 31), 7), KEYS, group_by,
    )  # fmt: skip
    with PostgresStore(url_with_schema(new_schema()), rollups=False) as pg, DuckDBStore() as duck:
        todays = iter(packed_days)
        for batch in batches(events, seed):
            pg.append(batch)
            today = next(todays, None)
            if today is not None:
                pg.compact(day_of(today))
        duck.append(events)
        assert_same(answers(pg, q), answers(duck, q))
    drop_schemas()


def month_events(unit: str) -> list[Event]:
    """A state every 5 hours, a count and a reading after each, over 2024-01-01..2024-01-05."""
    out: list[Event] = []
    states = [MachineState.PRODUCING, MachineState.IDLE, MachineState.FAULT]
    for n in range(24):
        ts = T0 + dt.timedelta(hours=5 * n)
        out.append(StateChange(f"{unit}s{n}", ts, unit, states[n % 3], "jam" if n % 2 else None))
        out.append(ProductionCount(f"{unit}c{n}", ts + dt.timedelta(minutes=10), unit, "p", n))
        out.append(EnergyReading(f"{unit}e{n}", ts + dt.timedelta(minutes=20), unit, n / 2))
    return out


def query() -> AggregateQuery:
    return AggregateQuery(T0, T0 + 5 * DAY, "e/s", calendar(T0.date(), 5), KEYS, ("local_day",))


def test_packs_are_read_and_a_late_event_makes_a_hole_until_compaction() -> None:
    schema = new_schema()
    events = month_events(A) + month_events(B)
    with PostgresStore(url_with_schema(schema), rollups=False) as pg, DuckDBStore() as duck:
        pg.append(events)
        duck.append(events)
        done = pg.compact(day_of(4))  # days 1-4 of both units
        assert (done.packs, done.holes) == (8, 0)
        assert pg.compact(day_of(4)).packs == 0  # nothing new to pack
        assert sql(schema, "SELECT count(*) FROM day_packs") == [(8,)]
        assert_same(answers(pg, query()), answers(duck, query()))

        # the packs are what is read: a doctored one changes the answer
        sql(schema, f"UPDATE day_packs SET kwh[1] = kwh[1] + 100 WHERE path = '{A}' "
            "AND day = '2024-01-02'")  # fmt: skip
        doctored = {r.group.local_day: r.energy_kwh for r in pg.energy_totals(query())}
        truth = {r.group.local_day: r.energy_kwh for r in duck.energy_totals(query())}
        assert doctored[dt.date(2024, 1, 2)] == truth[dt.date(2024, 1, 2)] + 100

        # a late event into that day drops its pack and leaves a hole: raw events answer
        late = [
            StateChange("late", T0 + DAY + dt.timedelta(hours=3), A, MachineState.FAULT),
            EnergyReading("late-e", T0 + DAY + dt.timedelta(hours=4), A, 7.5),
        ]
        pg.append(late)
        duck.append(late)
        assert sql(schema, "SELECT path, day FROM pack_holes") == [(A, dt.date(2024, 1, 2))]
        assert sql(schema, "SELECT count(*) FROM day_packs") == [(7,)]
        assert_same(answers(pg, query()), answers(duck, query()))

        # compaction packs the hole again, with the late events
        done = pg.compact(day_of(4))
        assert (done.packs, done.holes) == (1, 1)
        assert sql(schema, "SELECT count(*) FROM pack_holes") == [(0,)]
        assert sql(schema, f"SELECT array_length(state_ts, 1) FROM day_packs WHERE path = '{A}' "
                   "AND day = '2024-01-02'") == [(6,)]  # fmt: skip
        assert_same(answers(pg, query()), answers(duck, query()))


def test_a_later_compaction_packs_on_from_where_each_unit_ended() -> None:
    schema = new_schema()
    with PostgresStore(url_with_schema(schema), rollups=False) as pg, DuckDBStore() as duck:
        pg.append(month_events(A))
        duck.append(month_events(A))
        pg.compact(day_of(2))
        # an event of a new unit on day 1, below A's packed_until, and more days of A
        first = [StateChange("b0", T0 + dt.timedelta(hours=1), B, MachineState.IDLE)]
        pg.append(first)
        duck.append(first)
        assert sql(schema, "SELECT count(*) FROM pack_holes") == [(0,)]  # B had no packs
        assert_same(answers(pg, query()), answers(duck, query()))
        pg.compact(day_of(5))
        assert sql(schema, "SELECT path, packed_until FROM unit_packs ORDER BY 1") == [
            (A, day_of(5)),
            (B, day_of(5)),
        ]
        assert sql(schema, "SELECT count(*) FROM day_packs") == [(6,)]  # A: 5 days, B: 1
        assert_same(answers(pg, query()), answers(duck, query()))


def test_retention_drops_a_months_packs_and_holes_with_its_events() -> None:
    schema = new_schema()
    now = dt.datetime.now(dt.UTC)
    recent = now - dt.timedelta(days=2)
    with PostgresStore(url_with_schema(schema), rollups=False) as pg:
        pg.append(month_events(A))
        pg.append([StateChange("r", recent, A, MachineState.IDLE)])
        pg.compact()
        pg.append([StateChange("late", T0 + dt.timedelta(hours=2), A, MachineState.IDLE)])
        assert sql(schema, "SELECT count(*) FROM pack_holes") == [(1,)]
        packs = sql(schema, "SELECT count(*) FROM day_packs")[0][0]
        pg.set_retention("e/s", 30)
        pg.apply_retention(now)
    assert sql(schema, "SELECT count(*) FROM day_packs") == [(packs - 4,)]  # January's went
    assert sql(schema, "SELECT count(*) FROM pack_holes") == [(0,)]
    partitions = sql(
        schema,
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'day_packs'::regclass ORDER BY 1",
    )
    assert ("day_packs_p202401",) not in partitions
    assert len(partitions) == 1  # the recent month's


def test_a_schema_6_database_with_data_upgrades_to_7_and_compacts() -> None:
    # Versions 7 and 8 only add tables (the packs; the change count), so a version-6 database
    # with data is a store's tables without them: written by the store, then the four tables
    # and the two version rows taken away.
    schema = new_schema()
    url = url_with_schema(schema)
    events = month_events(A) + month_events(B)
    with PostgresStore(url) as store:
        store.append(events)
    sql(schema, "DROP TABLE day_packs, pack_holes, unit_packs, store_changes")
    sql(schema, "DELETE FROM schema_version WHERE version IN (7, 8)")
    with psycopg.connect(PG_URL) as conn:
        conn.execute(f"SET search_path TO {schema}")  # type: ignore[arg-type]
        assert postgres_schema.stored_version(conn) == 6
    with pytest.raises(StoreError, match=r"version 6, older .* run 'factoryos db upgrade"):
        PostgresStore(url)

    upgraded = runner.invoke(app, ["db", "upgrade", "--db", url])
    assert upgraded.exit_code == 0, upgraded.output
    assert "applied migration 7: day packs" in upgraded.output
    assert "applied migration 8: a count of the store's changes" in upgraded.output
    assert sql(schema, "SELECT count(*) FROM store_changes") == [(0,)]
    with PostgresStore(url, rollups=False) as pg, DuckDBStore() as duck:
        duck.append(events)
        assert pg.count() == len(events)
        assert_same(answers(pg, query()), answers(duck, query()))  # raw: nothing packed yet
        compacted = runner.invoke(app, ["db", "compact", "--db", url])
        assert compacted.exit_code == 0, compacted.output
        assert "packed 10 unit-day(s), 0 of them holes" in compacted.output
        assert_same(answers(pg, query()), answers(duck, query()))


def test_compact_needs_postgres(tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "compact", "--db", str(tmp_path / "x.duckdb")])
    assert result.exit_code == 1
    assert "compaction needs the PostgreSQL store" in result.output


ODD_TEXTS = ["a\x1fb", "\x1f", "\x1e", "\x1d", "a\x1eb\x1d", "", None, "\x1e\x1f\x1e"]
# without the separator every part count is right: only the NULL mark can mislead
NO_SEPARATOR = ["\x1e", "", None, "\x1d", "a\x1eb", "\x1e", "b", None]


def odd_text_events(unit: str, texts: list[str | None] = ODD_TEXTS) -> list[Event]:
    """``month_events`` with reasons, products and operations holding the characters the raw
    reads join texts with (postgres_columns), empty strings and NULLs."""
    out: list[Event] = []
    for n, event in enumerate(month_events(unit)):
        odd = texts[n % len(texts)]
        if isinstance(event, StateChange):
            event = replace(event, reason=odd)
        elif isinstance(event, ProductionCount):
            event = replace(event, product=odd or "", operation=texts[(n + 3) % 8])
        out.append(event)
    return out


@pytest.mark.parametrize("texts", [ODD_TEXTS, NO_SEPARATOR])
@pytest.mark.parametrize("packed", [False, True])
def test_texts_holding_the_read_separators_empty_and_null_read_back_exactly(
    packed: bool, texts: list[str | None]
) -> None:
    events = odd_text_events(A, texts) + odd_text_events(B, texts)
    with PostgresStore(url_with_schema(new_schema()), rollups=False) as pg, DuckDBStore() as duck:
        pg.append(events)
        duck.append(events)
        if packed:
            assert pg.compact(day_of(4)).packs == 8
        got, want = answers(pg, query()), answers(duck, query())
        assert {reason for _, _, _, reason in want["states"]} >= {*texts}  # all of them
        assert_same(got, want)


def test_a_unit_of_ordinary_texts_beside_one_of_odd_texts_reads_exactly() -> None:
    # some days packed, some raw; the read of both units is made again with text arrays
    events = month_events(A) + odd_text_events(B)
    with PostgresStore(url_with_schema(new_schema()), rollups=False) as pg, DuckDBStore() as duck:
        pg.append(events)
        duck.append(events)
        pg.compact(day_of(2))
        assert_same(answers(pg, query()), answers(duck, query()))
