"""What a Sparkplug death makes: the ``unknown`` state for every work unit it leaves unwatched.

A unit whose edge node or device is gone must not stay "producing" in the KPIs: each state rule
that reaches the dead node (its devices too, for an NDEATH) or device gives an ``unknown`` state
event at the death's time, with an id derived from the death (a redelivered death is a duplicate).
"""

from __future__ import annotations

import datetime as dt

from factoryos.ingest.convert import Protocol, Reading
from factoryos.ingest.mapping import IngestMapping, Kind, fill_path
from factoryos.ingest.sparkplug import Topic
from factoryos.model.events import StateChange
from factoryos.model.states import MachineState

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def unknown_states(
    mapping: IngestMapping, topic: Topic, devices: list[str | None], ts_ms: int, ident: str
) -> list[StateChange]:
    """``unknown`` for the units the state rules reach on ``topic``'s node for ``devices`` (None:
    the node itself), at ``ts_ms``; ``ident`` names the death (``NDEATH.<bdSeq>``...)."""
    ts = _EPOCH + dt.timedelta(milliseconds=ts_ms)
    events = []
    for device in devices:
        ids = {"group": topic.group, "node": topic.node}
        if device is not None:
            ids["device"] = device
        for rule in mapping.sources:
            s = rule.sparkplug
            if (
                rule.kind is Kind.STATE
                and s is not None
                and s.group in ("+", topic.group)
                and s.node in ("+", topic.node)
                and (s.device == device or (s.device == "+" and device is not None))
            ):
                path = fill_path(rule.path, ids)
                reading = Reading(Protocol.SPARKPLUG, path, "death", ts_ms, None, ids, ident)
                events.append(StateChange(reading.event_id(), ts, path, MachineState.UNKNOWN))
    return events
