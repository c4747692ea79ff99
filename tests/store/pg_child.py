"""A writer process for the concurrency tests: appends events ``first..last-1`` in batches.

``python -m tests.store.pg_child URL FIRST LAST BATCH [CONNECTIONS]`` prints ``ready`` before the
first append and ``done INSERTED DUPLICATES`` at the end. Ids depend only on the number, so two
writers with overlapping ranges append the same events.
"""

from __future__ import annotations

import datetime as dt
import sys

from factoryos.model.events import EnergyReading, Event, StateChange
from factoryos.model.states import MachineState
from factoryos.store.postgres_store import PostgresStore

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
STATES = [MachineState.PRODUCING, MachineState.IDLE, MachineState.FAULT]


def event(n: int) -> Event:
    ts = T0 + dt.timedelta(minutes=7 * n)  # a batch of thousands spans months: partitions too
    path = f"e/s/a/l{n % 3}/m/{n % 7}"
    if n % 4 == 0:
        return EnergyReading(f"ev{n:08d}", ts, path, 0.25)
    return StateChange(f"ev{n:08d}", ts, path, STATES[n % 3])


def main(url: str, first: int, last: int, batch: int, connections: int = 1) -> None:
    inserted = duplicates = 0
    with PostgresStore(url, connections=connections) as store:
        print("ready", flush=True)
        for lo in range(first, last, batch):
            result = store.append([event(n) for n in range(lo, min(lo + batch, last))])
            inserted += result.inserted
            duplicates += result.duplicates
    print(f"done {inserted} {duplicates}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:]))
