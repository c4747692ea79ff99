"""Condition-based risk use cases: train on AI4I 2020, score the work units from stored samples.

Training reads the AI4I 2020 CSV (Matzka 2020; columns as the UCI description names them).
Scoring reads the sensor sample events of a window from the store and takes, per work unit, the
latest value of each sensor the model needs (:data:`factoryos.reliability.risk.SENSORS`); a unit
that lacks one is listed as such and not scored (no value is invented).
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from factoryos.model import Plant
from factoryos.model.errors import ReliabilityError
from factoryos.model.events import EventKind
from factoryos.reliability.risk import SENSORS, RiskModel
from factoryos.store.protocol import EventStore

__all__ = [
    "AI4I_COLUMNS",
    "Ai4iData",
    "UnitRisk",
    "read_ai4i",
    "score_units",
]

AI4I_COLUMNS: tuple[str, ...] = (
    "Air temperature [K]",
    "Process temperature [K]",
    "Rotational speed [rpm]",
    "Torque [Nm]",
    "Tool wear [min]",
    "Type",
)
"""The AI4I columns that feed the model, in the order of ``SENSORS``."""
QUALITY_VARIANT = {"L": 0.0, "M": 1.0, "H": 2.0}
FAILURE_MODES = ("TWF", "HDF", "PWF", "OSF", "RNF")


@dataclass(frozen=True)
class Ai4iData:
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.int_]
    modes: dict[str, npt.NDArray[np.int_]]  # failure mode flags, column by column

    @property
    def determined_share(self) -> float:
        """Share of failures with a mode the features determine (heat dissipation, power,
        overstrain; per the data set's description); tool wear (random wear 200-240 min) and
        random failures alone are not, which bounds any classifier's recall."""
        determined = (self.modes["HDF"] + self.modes["PWF"] + self.modes["OSF"]) > 0
        failed = self.y == 1
        return float((determined & failed).sum() / max(int(failed.sum()), 1))


def read_ai4i(path: Path) -> Ai4iData:
    """The AI4I 2020 CSV as features (``SENSORS`` order), labels and failure-mode flags."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [
                c
                for c in (*AI4I_COLUMNS, "Machine failure", *FAILURE_MODES)
                if c not in (reader.fieldnames or [])
            ]
            if missing:
                raise ReliabilityError(f"{path}:1: missing column(s) {', '.join(missing)}")
            rows, labels, modes = [], [], []
            for line, row in enumerate(reader, start=2):
                rows.append([_value(path, line, row, c) for c in AI4I_COLUMNS])
                labels.append(_flag(path, line, row, "Machine failure"))
                modes.append([_flag(path, line, row, m) for m in FAILURE_MODES])
    except OSError as exc:
        raise ReliabilityError(f"cannot read {str(path)!r}: {exc.strerror}") from exc
    if not rows:
        raise ReliabilityError(f"{path}: no rows")
    flags = np.array(modes, dtype=np.int_)
    return Ai4iData(
        np.array(rows, dtype=np.float64),
        np.array(labels, dtype=np.int_),
        {m: flags[:, i] for i, m in enumerate(FAILURE_MODES)},
    )


def _value(path: Path, line: int, row: dict[str, str], column: str) -> float:
    text = (row.get(column) or "").strip()
    if column == "Type":
        if text not in QUALITY_VARIANT:
            raise ReliabilityError(f"{path}:{line}: Type: expected L, M or H, got {text!r}")
        return QUALITY_VARIANT[text]
    try:
        return float(text)
    except ValueError as exc:
        raise ReliabilityError(f"{path}:{line}: {column}: not a number: {text!r}") from exc


def _flag(path: Path, line: int, row: dict[str, str], column: str) -> int:
    text = (row.get(column) or "").strip()
    if text not in ("0", "1"):
        raise ReliabilityError(f"{path}:{line}: {column}: expected 0 or 1, got {text!r}")
    return int(text)


@dataclass(frozen=True, slots=True)
class UnitRisk:
    """A work unit's failure risk from its latest samples, or the sensors it lacks."""

    path: str
    equipment_id: str
    unit: int
    risk: float | None
    sampled_at: dt.datetime | None  # the latest of the samples used
    missing: tuple[str, ...]


def score_units(
    store: EventStore,
    plant: Plant,
    model: RiskModel,
    start: dt.datetime,
    end: dt.datetime,
) -> list[UnitRisk]:
    """Risk of every work unit that sent samples in [start, end), highest first; units missing
    a sensor come last with ``risk`` None."""
    table = store.events(start, end, node=plant.root_path, kinds=[EventKind.SAMPLE])
    latest: dict[str, dict[str, tuple[dt.datetime, float]]] = {}
    # ordered by ts: a later sample overwrites an earlier one
    for path, sensor, value, ts in zip(
        table.column("path").to_pylist(),
        table.column("sensor").to_pylist(),
        table.column("value").to_pylist(),
        table.column("ts").to_pylist(),
        strict=True,
    ):
        if sensor in SENSORS and value is not None:
            latest.setdefault(path, {})[sensor] = (ts, float(value))
    by_path = plant.work_unit_by_path
    scored, unscored = [], []
    rows, paths = [], []
    for path, sensors in latest.items():
        unit = by_path.get(path)
        if unit is None:
            continue
        missing = tuple(s for s in SENSORS if s not in sensors)
        if missing:
            unscored.append(UnitRisk(path, unit.equipment.id, unit.unit, None, None, missing))
            continue
        rows.append([sensors[s][1] for s in SENSORS])
        paths.append((path, unit.equipment.id, unit.unit, max(t for t, _ in sensors.values())))
    if rows:
        risks = model.risk(np.array(rows, dtype=np.float64))
        for (path, equipment_id, unit_index, ts), risk in zip(paths, risks, strict=True):
            scored.append(UnitRisk(path, equipment_id, unit_index, float(risk), ts, ()))
    scored.sort(key=lambda r: -(r.risk or 0.0))
    return scored + sorted(unscored, key=lambda r: r.path)
