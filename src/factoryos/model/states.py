"""Machine states and their ISO 22400 time elements.

The state set flattens OPC 40001-1 (Machinery) MachineryItemState x MachineryOperationMode into the
values a plant actually sends; the mapping follows OPC 40001-1 Annex C and OPC 40501-1 Annex C.2.3
(see shared/reference/standards.md section 1.4):

===============  ===================================  ==============================
state            OPC 40001-1 item state / mode        ISO 22400-2 time element
===============  ===================================  ==============================
producing        Executing / Processing               APT  (actual production time)
setup            Executing / Setup                    AUST (actual unit setup time)
minor_stop       NotExecuting / Processing            ADET (actual unit delay time)
fault            OutOfService (malfunction)           ADET, and a failure event (FE)
idle             NotExecuting, no order               ADOT (actual unit down time)
starved          NotExecuting, order but no material  ADOT
blocked          NotExecuting, output full            ADOT
off              NotAvailable (switched off)          ADOT
maintenance      OutOfService / Maintenance           APMT (preventive maintenance)
unknown          (no report: the source is dead)      unknown (a loss)
===============  ===================================  ==============================

Planned operation time (POT) and planned downtime come from the calendar, never from the machine:
only the part of a state interval that lies inside planned busy time (PBT) is counted, so every
time element is bounded by PBT and APT <= PBT holds by construction. Time inside PBT for which no
state is known yet is ``unknown``: it is a loss, not silently counted as anything else. The live
ingester enters ``unknown`` when a source dies (a Sparkplug NDEATH/DDEATH), so that a unit whose
edge node is gone is never left "producing".
"""

from __future__ import annotations

from enum import StrEnum


class MachineState(StrEnum):
    """The state of one work unit, as a plant or the twin reports it."""

    PRODUCING = "producing"
    SETUP = "setup"
    MINOR_STOP = "minor_stop"
    FAULT = "fault"
    IDLE = "idle"
    STARVED = "starved"
    BLOCKED = "blocked"
    OFF = "off"
    MAINTENANCE = "maintenance"
    UNKNOWN = "unknown"


class TimeElement(StrEnum):
    """ISO 22400-2 actual time elements a state interval contributes to (within PBT)."""

    APT = "apt"
    AUST = "aust"
    ADET = "adet"
    ADOT = "adot"
    APMT = "apmt"
    UNKNOWN = "unknown"


TIME_ELEMENT_OF_STATE: dict[MachineState, TimeElement] = {
    MachineState.PRODUCING: TimeElement.APT,
    MachineState.SETUP: TimeElement.AUST,
    MachineState.MINOR_STOP: TimeElement.ADET,
    MachineState.FAULT: TimeElement.ADET,
    MachineState.IDLE: TimeElement.ADOT,
    MachineState.STARVED: TimeElement.ADOT,
    MachineState.BLOCKED: TimeElement.ADOT,
    MachineState.OFF: TimeElement.ADOT,
    MachineState.MAINTENANCE: TimeElement.APMT,
    MachineState.UNKNOWN: TimeElement.UNKNOWN,
}

FAILURE_STATES: frozenset[MachineState] = frozenset({MachineState.FAULT})
"""Entering one of these states is a failure event (FE) for MTBF/MTTR; its duration is TTR/CMT."""
