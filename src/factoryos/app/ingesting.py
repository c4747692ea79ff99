"""Live ingest use cases: check a mapping against a plant, run the ingester, replay dead letters.

The ingester writes to the event store the settings name and keeps its dead letters and session
beside it (``<db>.ingest.duckdb`` for a DuckDB file, memory for ``:memory:``). A batch commits
in that order: events, then dead letters with the session; messages are acknowledged after both.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factoryos.app.settings import Settings
from factoryos.app.stores import open_store
from factoryos.ingest.batching import Commit, Committed, IngestOptions, Progress
from factoryos.ingest.mapping import IngestMapping, Kind, load_mapping, path_pattern
from factoryos.ingest.mqtt import Broker, MqttIngester
from factoryos.ingest.opcua import BrowsedVariable, OpcUaIngester, browse
from factoryos.ingest.pipeline import Batch, Counts, Pipeline
from factoryos.model import Plant, load_plant
from factoryos.model.deadletter import DeadLetter
from factoryos.store.deadletters import DeadLetterStore, DuckDBDeadLetterStore
from factoryos.store.postgres_url import is_postgres_url
from factoryos.store.protocol import EventStore


@dataclass(frozen=True)
class RuleCoverage:
    rule: str
    kind: str
    path: str
    units: tuple[str, ...]


@dataclass(frozen=True)
class MappingReport:
    rules: list[RuleCoverage]
    without_state: list[str]  # work units no state rule reaches
    without_any: list[str]  # work units no rule reaches at all


def check_mapping(mapping_path: str | Path, plant_path: str | Path) -> MappingReport:
    """What each rule maps to in the plant, and which work units have no source."""
    mapping = load_mapping(mapping_path)
    plant = load_plant(plant_path)
    paths = [u.path for u in plant.work_units]
    rules = []
    state_units: set[str] = set()
    any_units: set[str] = set()
    for rule in mapping.sources:
        pattern = path_pattern(rule.path)
        units = tuple(p for p in paths if pattern.fullmatch(p))
        rules.append(RuleCoverage(rule.describe(), rule.kind.value, rule.path, units))
        any_units.update(units)
        if rule.kind is Kind.STATE:
            state_units.update(units)
    return MappingReport(
        rules,
        [p for p in paths if p not in state_units],
        [p for p in paths if p not in any_units],
    )


def dead_letter_path(settings: Settings) -> str:
    """Beside a DuckDB store ``<db>.ingest.duckdb``; for a server, ``ingest-<database>.duckdb``
    in the working directory (each ingester of a scaled-out plant keeps its own session)."""
    if settings.db == ":memory:":
        return ":memory:"
    if is_postgres_url(settings.db):
        database = settings.db.rsplit("/", 1)[-1].split("?", 1)[0] or "postgres"
        return f"ingest-{database}.duckdb"
    return str(Path(settings.db).with_suffix("")) + ".ingest.duckdb"


def open_dead_letters(settings: Settings, path: str | None = None) -> DeadLetterStore:
    return DuckDBDeadLetterStore(path or dead_letter_path(settings))


def _session(letters: DeadLetterStore) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in ("sparkplug", "memory"):
        doc = letters.session(name)
        if doc is not None:
            found[name] = json.loads(doc)
    return found


def make_commit(store: EventStore, letters: DeadLetterStore) -> Commit:
    saved: dict[str, str] = {}  # the session documents as last committed

    def commit(batch: Batch, session: dict[str, str]) -> Committed:
        result = store.append(batch.table())
        changed = {name: doc for name, doc in session.items() if saved.get(name) != doc}
        added = letters.commit(batch.letters, changed)
        saved.update(changed)
        return Committed(result.inserted, result.duplicates, added)

    return commit


def _units(plant: Plant | None) -> frozenset[str] | None:
    return None if plant is None else frozenset(u.path for u in plant.work_units)


def run_ingest(
    settings: Settings,
    mapping: IngestMapping,
    plant: Plant | None,
    broker_url: str,
    stop: threading.Event,
    *,
    options: IngestOptions | None = None,
    on_batch: Progress | None = None,
    letters_path: str | None = None,
    store: EventStore | None = None,
) -> Counts:
    """Ingest from the broker (``mqtt://``) or OPC UA server (``opc.tcp://``) into the store
    until ``stop`` is set; the final counts. Dead
    letters and the session go to ``letters_path`` (default :func:`dead_letter_path`).
    ``store``: an open store to write to (a server's, shared with its readers) instead of
    opening the settings' one."""
    # The host id (and so the MQTT client id and its persistent session) is the mapping's.
    options = dataclasses.replace(options or IngestOptions(), host_id=mapping.host_id)
    with _stores(settings, letters_path, store) as (store, letters):
        pipeline = Pipeline(mapping, _units(plant), _session(letters))
        commit = make_commit(store, letters)
        if broker_url.startswith("opc.tcp://"):
            OpcUaIngester(broker_url, pipeline, commit, options, on_batch).run(stop)
        else:
            MqttIngester(Broker.parse(broker_url), pipeline, commit, options, on_batch).run(stop)
        return pipeline.counts


WRITE_CONNECTIONS = 2
"""PostgreSQL connections a batch is written on, in parts, at once: most of an append is the
server's index work, and two backends do it on two cores (``bench/ingest.py``, docs/ingest.md).
The messages of a batch are acknowledged after every part has committed."""


@contextmanager
def _stores(
    settings: Settings, letters_path: str | None = None, given: EventStore | None = None
) -> Iterator[tuple[EventStore, DeadLetterStore]]:
    store = given if given is not None else open_store(settings, connections=WRITE_CONNECTIONS)
    try:
        letters = DuckDBDeadLetterStore(letters_path or dead_letter_path(settings))
        try:
            yield store, letters
        finally:
            letters.close()
    finally:
        if given is None:  # a store handed in belongs to its owner
            store.close()


def list_dead_letters(
    settings: Settings, limit: int, replayed: bool = False, path: str | None = None
) -> list[DeadLetter]:
    letters = open_dead_letters(settings, path)
    try:
        return letters.letters(limit=limit, replayed=replayed)
    finally:
        letters.close()


def dead_letter(settings: Settings, letter_id: str, path: str | None = None) -> DeadLetter | None:
    letters = open_dead_letters(settings, path)
    try:
        return letters.letter(letter_id)
    finally:
        letters.close()


@dataclass(frozen=True)
class ReplayResult:
    tried: int
    stored: int
    duplicates: int
    still_dead: int


def replay_dead_letters(
    settings: Settings,
    mapping: IngestMapping,
    plant: Plant | None,
    limit: int = 1_000_000,
    path: str | None = None,
) -> ReplayResult:
    """Put pending dead letters through ``mapping``; the ones that now make events are stored
    (exactly once: their ids are the ones they would have had) and marked replayed."""
    with _stores(settings, path) as (store, letters):
        pending = letters.letters(limit=limit)
        pipeline = Pipeline(mapping, _units(plant), _session(letters))
        now_ms = time.time_ns() // 1_000_000
        done = [d.letter_id for d in pending if pipeline.replay(d, now_ms)]
        batch = pipeline.take()
        result = store.append(batch.table())
        letters.commit([], {"memory": pipeline.session()["memory"]})
        letters.mark_replayed(done, dt.datetime.now(dt.UTC))
        return ReplayResult(
            len(pending), result.inserted, result.duplicates, len(pending) - len(done)
        )


def browse_server(url: str, limit: int = 500) -> list[BrowsedVariable]:
    """The variables of an OPC UA server, to write a mapping from."""
    return browse(url, limit)
