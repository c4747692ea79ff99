"""Preset value maps from equipment state codes to the nine factoryos machine states.

``machinery_item_state``: OPC 40001-1 (OPC UA for Machinery) MachineryItemStateEnumeration,
flattened as ``factoryos.model.states`` documents: NotAvailable 0 -> off, OutOfService 1 ->
fault, NotExecuting 2 -> idle, Executing 3 -> producing. A plant that also reports the operation
mode (setup, maintenance) maps its own combined codes with an explicit ``values`` map.

``packml``: ISA-TR88.00.02 (PackML) state numbers. Execute is production; the acting states
around it (Starting, Resetting) are setup; Held and the states leading into and out of it are an
internal stop (minor_stop); Suspended and its neighbours are an external stop, which PackML
defines as missing material upstream or a full outfeed (starved); Aborting/Aborted/Clearing follow
a fault; Stopped/Stopping are off; Idle and Complete wait for the next order (idle).

``factoryos``: the state names themselves (``producing``, ``fault``...).
"""

from __future__ import annotations

from factoryos.model.states import MachineState as S

MACHINERY_ITEM_STATE: dict[str, S] = {
    "0": S.OFF,
    "1": S.FAULT,
    "2": S.IDLE,
    "3": S.PRODUCING,
    "NotAvailable": S.OFF,
    "OutOfService": S.FAULT,
    "NotExecuting": S.IDLE,
    "Executing": S.PRODUCING,
}

_PACKML_NAMES: dict[int, tuple[str, S]] = {
    1: ("Clearing", S.FAULT),
    2: ("Stopped", S.OFF),
    3: ("Starting", S.SETUP),
    4: ("Idle", S.IDLE),
    5: ("Suspended", S.STARVED),
    6: ("Execute", S.PRODUCING),
    7: ("Stopping", S.OFF),
    8: ("Aborting", S.FAULT),
    9: ("Aborted", S.FAULT),
    10: ("Holding", S.MINOR_STOP),
    11: ("Held", S.MINOR_STOP),
    12: ("Unholding", S.MINOR_STOP),
    13: ("Suspending", S.STARVED),
    14: ("Unsuspending", S.STARVED),
    15: ("Resetting", S.SETUP),
    16: ("Completing", S.PRODUCING),
    17: ("Complete", S.IDLE),
}
PACKML: dict[str, S] = {str(n): s for n, (_, s) in _PACKML_NAMES.items()} | {
    name: s for name, s in _PACKML_NAMES.values()
}

PRESETS: dict[str, dict[str, S]] = {
    "machinery_item_state": MACHINERY_ITEM_STATE,
    "packml": PACKML,
    "factoryos": {s.value: s for s in S},
}
