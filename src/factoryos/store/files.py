"""Event logs as files: CSV and Parquet in the canonical long-table schema (``docs/events.md``).

Reading validates column-wise with ``pyarrow.compute`` and splits the rows in two: events that
fit the schema, and rejects, each with a reason naming the field and quoting the value. Nothing is
dropped silently: ``read == accepted + rejected``. Rejects are written as CSV: the row's original
columns plus ``reject_reason`` (several reasons are joined by ``"; "``).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from factoryos.model.errors import StoreError
from factoryos.model.events import COLUMN_NAMES, Event, EventKind
from factoryos.model.plant import Plant
from factoryos.model.states import MachineState
from factoryos.store.arrow import EVENT_SCHEMA, TS_TYPE, events_to_table
from factoryos.store.protocol import EventStore

REJECT_REASON = "reject_reason"
_ROW = "__row"

# Fields an event of each kind must carry (beyond event_id, ts, kind, path).
REQUIRED_BY_KIND: dict[EventKind, tuple[str, ...]] = {
    EventKind.STATE: ("state",),
    EventKind.COUNT: ("product",),
    EventKind.ENERGY: ("energy_kwh",),
    EventKind.SAMPLE: ("sensor", "value"),
    EventKind.ORDER_START: ("order_id", "product"),
    EventKind.ORDER_END: ("order_id", "product"),
    EventKind.OPERATION_START: ("order_id", "product", "operation"),
    EventKind.OPERATION_END: ("order_id", "product", "operation"),
}
_ORDER_KINDS = (EventKind.ORDER_START.value, EventKind.ORDER_END.value)
_NON_NEGATIVE = ("good", "scrap", "rework", "quantity", "energy_kwh")
# An ISO 8601 instant must end in Z or a numeric offset; without one it is local time of nowhere.
_ZONE_SUFFIX = r"(Z|z|[+-]\d{2}(:?\d{2})?)$"
_INT_TEXT = r"^\s*[+-]?\d+\s*$"
_FLOAT_TEXT = r"^\s*[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|nan)\s*$"


@dataclass(frozen=True, slots=True)
class ReadResult:
    """The outcome of reading an event file: good events and rejected rows, with counts."""

    events: pa.Table  # canonical schema (EVENT_SCHEMA)
    rejects: pa.Table  # the rejected rows' original columns + reject_reason
    read: int

    @property
    def accepted(self) -> int:
        return int(self.events.num_rows)

    @property
    def rejected(self) -> int:
        return int(self.rejects.num_rows)


def file_format(path: str | Path) -> str:
    """``"csv"`` or ``"parquet"`` from the file name; raises StoreError for anything else."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes[-1:] == [".parquet"] or suffixes[-1:] == [".pq"]:
        return "parquet"
    if ".csv" in suffixes[-2:]:
        return "csv"
    raise StoreError(f"{path}: unknown event file type (expected .csv or .parquet)")


# -- writing ---------------------------------------------------------------------------------------


def write_events(events: Iterable[Event] | pa.Table, path: str | Path) -> int:
    """Write events as CSV or Parquet (by suffix) in the canonical schema; returns rows written."""
    table = events if isinstance(events, pa.Table) else events_to_table(events)
    table = table.select(list(COLUMN_NAMES)).cast(EVENT_SCHEMA)
    try:
        if file_format(path) == "parquet":
            pq.write_table(table, str(path))
        else:
            ts = pc.strftime(table["ts"], format="%Y-%m-%dT%H:%M:%SZ")
            text = table.set_column(COLUMN_NAMES.index("ts"), "ts", ts)
            pa_csv.write_csv(text, str(path))
    except (OSError, pa.ArrowException) as exc:
        raise StoreError(f"{path}: cannot write events: {exc}") from exc
    return int(table.num_rows)


def write_rejects(rejects: pa.Table, path: str | Path) -> None:
    """Write rejected rows as CSV: their original columns and ``reject_reason``."""
    try:
        pa_csv.write_csv(rejects, str(path))
    except (OSError, pa.ArrowException) as exc:
        raise StoreError(f"{path}: cannot write rejects: {exc}") from exc


# -- reading ---------------------------------------------------------------------------------------


def read_raw(path: str | Path) -> pa.Table:
    """The file's table as stored; CSV columns are all read as text (empty field = null).

    Ragged CSV rows (too few or too many fields, a quote never closed) are left out: see
    :func:`read_raw_rows`, which returns them too.
    """
    return read_raw_rows(path)[0]


def read_raw_rows(path: str | Path) -> tuple[pa.Table, pa.Table]:
    """The file's table as stored, and its ragged CSV rows as rejects (same columns, all null,
    plus ``reject_reason`` naming the line); Parquet has no ragged rows."""
    try:
        if file_format(path) == "parquet":
            table = pq.read_table(str(path))
            return table, _ragged_table(table.column_names, [])
        header = _csv_header(path)
        table, ragged = _read_csv_text(str(path), header, first_line=1, has_header=True)
        return table, _ragged_table(header, ragged)
    except (OSError, pa.ArrowException) as exc:
        raise StoreError(f"{path}: cannot read events: {exc}") from exc


@dataclass(frozen=True, slots=True)
class _Ragged:
    line: int
    reason: str
    fields: list[str]


def _read_csv_text(
    source: str | bytes, header: list[str], *, first_line: int, has_header: bool
) -> tuple[pa.Table, list[_Ragged]]:
    """Parse a CSV file (path) or text (bytes) whose first physical line is ``first_line``; split
    off ragged rows.

    pyarrow hands a ragged row to a handler instead of failing the whole file. A quote that is
    never closed swallows every line after it into one row: that row's first line is rejected and
    the lines after it are parsed again, so one bad quote costs one line, not the rest of the file.
    """
    invalid: list[pa_csv.InvalidRow] = []

    def skip(row: pa_csv.InvalidRow) -> str:
        invalid.append(row)
        return "skip"

    def parse(use_threads: bool) -> pa.Table:
        invalid.clear()
        return pa_csv.read_csv(
            pa.py_buffer(source) if isinstance(source, bytes) else source,
            # physical line numbers of ragged rows are only known to the one-thread reader
            read_options=pa_csv.ReadOptions(
                use_threads=use_threads,
                column_names=None if has_header else header,
            ),
            parse_options=pa_csv.ParseOptions(invalid_row_handler=skip),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                null_values=[""],  # "nan", "NA", "null" are values to judge, not missing ones
            ),
        )

    table = parse(use_threads=True)
    if not invalid:
        return table, []
    table = parse(use_threads=False)  # rare: read again to learn the ragged rows' lines
    tables, ragged = [table], []
    for row in list(invalid):
        # pyarrow's row number counts physical lines from 1, header included
        line = first_line + (row.number or 1) - 1
        first, sep, rest = row.text.partition("\n")
        first = first.rstrip("\r")
        fields = next(csv.reader([first]), [])
        if sep:
            reason = f"line {line}: a quote opened on this line is never closed: {first!r}"
            more, more_ragged = _read_csv_text(
                rest.encode("utf-8"), header, first_line=line + 1, has_header=False
            )
            tables.append(more)
            ragged.extend(more_ragged)
        elif row.actual_columns < row.expected_columns:
            reason = (
                f"line {line}: {row.actual_columns} field(s), the header has "
                f"{row.expected_columns}: {first!r}"
            )
        else:
            reason = (
                f"line {line}: {row.actual_columns} fields, the header has only "
                f"{row.expected_columns}: {first!r}"
            )
        ragged.append(_Ragged(line, reason, fields))
    return pa.concat_tables(tables), sorted(ragged, key=lambda r: r.line)


def _ragged_table(columns: list[str], ragged: list[_Ragged]) -> pa.Table:
    """Ragged rows as rejects: what fits of their fields in the header's columns, and why."""
    arrays = {
        name: pa.array([r.fields[i] if i < len(r.fields) else None for r in ragged], pa.string())
        for i, name in enumerate(columns)
    }
    arrays[REJECT_REASON] = pa.array([r.reason for r in ragged], pa.string())
    return pa.table(arrays)


def _csv_header(path: str | Path) -> list[str]:
    """The header row, so that every column can be declared text before pyarrow guesses."""
    with open(path, newline="", encoding="utf-8") as handle:
        try:
            return next(csv.reader(handle))
        except StopIteration as exc:
            raise StoreError(f"{path}: empty file, expected a header row") from exc


def read_events(path: str | Path, plant: Plant | None = None) -> ReadResult:
    """Read and validate an event file; with ``plant``, paths must be its work units.

    Ragged CSV rows are rejects too, each naming its line; the rest of the file is read.
    """
    table, ragged = read_raw_rows(path)
    result = validate_table(table, plant)
    if ragged.num_rows == 0:
        return result
    rejects = pa.concat_tables(
        [result.rejects, ragged.cast(result.rejects.schema)], promote_options="permissive"
    )
    return ReadResult(result.events, rejects, result.read + ragged.num_rows)


def validate_table(raw: pa.Table, plant: Plant | None = None) -> ReadResult:
    """Split a raw event table (text or typed columns) into canonical events and rejects."""
    n = raw.num_rows
    if any(raw.column(name).type != pa.string() for name in raw.column_names):
        text = _as_text(raw)
    else:
        text = raw
    checks = _Checks(n)
    columns: dict[str, pa.Array] = {}
    for field in EVENT_SCHEMA:
        if field.name in raw.column_names:
            columns[field.name] = _typed(raw, text, field, checks)
        else:
            columns[field.name] = pa.nulls(n, field.type)

    kind = columns["kind"]
    for name in ("event_id", "kind", "path"):
        checks.add(_missing(columns[name]), f"{name}: missing")
    ts_text = text.column("ts") if "ts" in raw.column_names else pa.nulls(n, pa.string())
    checks.add(_missing(_combine(ts_text)), "ts: missing")
    known_kind = pc.is_in(kind, value_set=pa.array([k.value for k in EventKind]))
    checks.add(
        pc.and_kleene(pc.is_valid(kind), pc.invert(known_kind)),
        _quoted("kind: unknown kind ", kind),
    )
    for event_kind, needed in REQUIRED_BY_KIND.items():
        is_kind = pc.equal(kind, event_kind.value)
        for name in needed:
            checks.add(
                pc.and_kleene(is_kind, _missing(columns[name])),
                f"{name}: a {event_kind.value} event needs {name!r}",
            )
    state = columns["state"]
    is_state = pc.fill_null(pc.equal(kind, EventKind.STATE.value), False)
    known_state = pc.is_in(state, value_set=pa.array([s.value for s in MachineState]))
    checks.add(
        pc.and_kleene(pc.and_kleene(is_state, pc.is_valid(state)), pc.invert(known_state)),
        _quoted("state: unknown state ", state),
    )
    for name in _NON_NEGATIVE:
        value = columns[name]
        checks.add(pc.less(value, 0), _quoted(f"{name}: negative value ", _text_of(value)))
    energy = columns["energy_kwh"]
    checks.add(
        pc.or_kleene(pc.is_nan(energy), pc.is_inf(energy)),
        _quoted("energy_kwh: not a finite number ", _text_of(energy)),
    )
    if plant is not None:
        _check_paths(columns["path"], kind, plant, checks)
    _check_duplicates(columns["event_id"], checks)
    _check_overlaps(columns, is_state, _combine(ts_text), checks)

    reason = checks.reasons()
    bad = pc.is_valid(reason)
    good_table = pa.Table.from_arrays(
        [columns[f.name] for f in EVENT_SCHEMA], schema=EVENT_SCHEMA.remove_metadata()
    ).filter(pc.invert(bad))
    rejects = raw.append_column(REJECT_REASON, reason).filter(bad)
    return ReadResult(good_table.cast(EVENT_SCHEMA), rejects, n)


class _Checks:
    """Accumulates per-row reasons; a row with any reason is rejected."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.parts: list[pa.Array] = []

    def add(self, mask: pa.Array | pa.ChunkedArray, reason: str | pa.Array) -> None:
        mask = pc.fill_null(mask, False)
        if not pc.any(mask).as_py():
            return
        text = pa.array([reason] * self.n, pa.string()) if isinstance(reason, str) else reason
        # One contiguous array per part: joining chunked arrays of unequal chunking misbehaves.
        text = _combine(text)
        self.parts.append(_combine(pc.if_else(_combine(mask), text, pa.scalar(None, pa.string()))))

    def reasons(self) -> pa.Array:
        """Per row, its reasons joined by "; " (null for a good row)."""
        if not self.parts:
            return pa.nulls(self.n, pa.string())
        # Folded by hand: binary_join_element_wise(null_handling="skip") loses all-null rows
        # (pyarrow 26).
        acc = self.parts[0]
        for part in self.parts[1:]:
            both = pc.binary_join_element_wise(acc, part, "; ")
            acc = _combine(
                pc.if_else(pc.is_null(acc), part, pc.if_else(pc.is_null(part), acc, both))
            )
        return acc


def _combine(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(array, pa.ChunkedArray):
        return array.combine_chunks()
    return array


def _missing(values: pa.Array) -> pa.Array:
    if pa.types.is_string(values.type):
        return pc.or_kleene(pc.is_null(values), pc.equal(pc.utf8_trim_whitespace(values), ""))
    return pc.is_null(values)


def _text_of(values: pa.Array) -> pa.Array:
    return pc.cast(values, pa.string())


def _quoted(prefix: str, values: pa.Array) -> pa.Array:
    """``prefix 'value'`` per row (null where the value is null)."""
    return pc.binary_join_element_wise(prefix + "'", values, "'", "")


def _as_text(raw: pa.Table) -> pa.Table:
    """Every column as text, for quoting in reasons and for parsing typed-as-text columns."""
    arrays = []
    for name in raw.column_names:
        column = _combine(raw.column(name))
        if pa.types.is_timestamp(column.type) and column.type.tz is not None:
            arrays.append(pc.strftime(column, format="%Y-%m-%dT%H:%M:%SZ"))
        else:
            arrays.append(pc.cast(column, pa.string()))
    return pa.Table.from_arrays(arrays, names=raw.column_names)


def _typed(raw: pa.Table, text: pa.Table, field: pa.Field, checks: _Checks) -> pa.Array:
    """The column ``field.name`` in its canonical type; unparseable values are rejected."""
    column = _combine(raw.column(field.name))
    if column.type == field.type:
        return column
    if field.name == "ts":
        return _parse_ts(column, _combine(text.column("ts")), checks)
    if pa.types.is_string(field.type):
        return _combine(text.column(field.name))
    if not pa.types.is_string(column.type):
        try:
            return pc.cast(column, field.type)
        except pa.ArrowInvalid:
            column = _combine(text.column(field.name))
    pattern = _INT_TEXT if pa.types.is_integer(field.type) else _FLOAT_TEXT
    what = "an integer" if pa.types.is_integer(field.type) else "a number"
    trimmed = pc.utf8_trim_whitespace(column)
    blank = pc.equal(trimmed, "")
    ok = pc.match_substring_regex(trimmed, pattern, ignore_case=True)
    checks.add(
        pc.and_kleene(pc.invert(blank), pc.invert(ok)),
        _quoted(f"{field.name}: not {what}: ", column),
    )
    usable = pc.if_else(ok, trimmed, pa.scalar(None, pa.string()))
    return pc.cast(usable, field.type)


def _parse_ts(column: pa.Array, text: pa.Array, checks: _Checks) -> pa.Array:
    n = len(column)
    if pa.types.is_timestamp(column.type):
        # A typed column: either it carries a zone (converted to UTC) or none of it does.
        if column.type.tz is None:
            checks.add(pc.is_valid(column), _quoted("ts: timestamp has no time zone: ", text))
            return pa.nulls(n, TS_TYPE)
        return pc.cast(column, TS_TYPE)
    if not pa.types.is_string(column.type):
        checks.add(pc.is_valid(column), _quoted("ts: not a timestamp: ", text))
        return pa.nulls(n, TS_TYPE)
    trimmed = pc.utf8_trim_whitespace(column)
    has_zone = pc.match_substring_regex(trimmed, _ZONE_SUFFIX)
    checks.add(
        pc.and_kleene(pc.invert(_missing(trimmed)), pc.invert(has_zone)),
        _quoted("ts: timestamp has no time zone (add Z or an offset): ", text),
    )
    candidates = pc.if_else(has_zone, trimmed, pa.scalar(None, pa.string()))
    try:
        return pc.cast(candidates, TS_TYPE)
    except pa.ArrowInvalid:
        pass
    # Some value is malformed: parse row by row to find which (rare, so Python speed is fine).
    parsed: list[dt.datetime | None] = []
    bad = []
    for value in candidates.to_pylist():
        instant = None
        if value is not None:
            try:
                instant = pa.scalar(value).cast(TS_TYPE).as_py()
            except (pa.ArrowInvalid, ValueError):
                instant = None
        parsed.append(instant)
        bad.append(value is not None and instant is None)
    checks.add(pa.array(bad), _quoted("ts: cannot parse timestamp ", text))
    return pa.array(parsed, TS_TYPE)


def _check_paths(path: pa.Array, kind: pa.Array, plant: Plant, checks: _Checks) -> None:
    units = pa.array(sorted(plant.work_unit_by_path), pa.string())
    nodes: set[str] = set()
    for unit in plant.work_unit_by_path:
        parts = unit.split("/")
        nodes.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    is_order = pc.is_in(kind, value_set=pa.array(_ORDER_KINDS))
    known = pc.if_else(
        is_order,
        pc.is_in(path, value_set=pa.array(sorted(nodes), pa.string())),
        pc.is_in(path, value_set=units),
    )
    checks.add(
        pc.and_kleene(pc.is_valid(path), pc.invert(known)),
        pc.if_else(
            is_order,
            _quoted("path: not a node of the plant: ", path),
            _quoted("path: not a work unit of the plant: ", path),
        ),
    )


def _check_duplicates(event_id: pa.Array, checks: _Checks) -> None:
    rows = pa.table({"event_id": event_id, _ROW: pa.array(range(len(event_id)), pa.int64())})
    first = rows.group_by("event_id").aggregate([(_ROW, "min")])
    if first.num_rows == len(event_id):
        return
    joined = rows.join(first, "event_id", join_type="left outer").sort_by(_ROW)
    later = pc.and_kleene(
        pc.is_valid(joined["event_id"]), pc.greater(joined[_ROW], joined[f"{_ROW}_min"])
    )
    first_row = pc.cast(pc.add(joined[f"{_ROW}_min"], 1), pa.string())
    reason = pc.binary_join_element_wise(
        "event_id: duplicate id '", joined["event_id"], "', first at row ", first_row, ""
    )
    checks.add(later, _combine(reason))


def _check_overlaps(
    columns: dict[str, pa.Array], is_state: pa.Array, ts_text: pa.Array, checks: _Checks
) -> None:
    """Two state events of one work unit at one instant with different states: reject them all."""
    ok = pc.and_kleene(
        is_state, pc.and_kleene(pc.is_valid(columns["ts"]), pc.is_valid(columns["state"]))
    )
    rows = pa.table(
        {
            "path": columns["path"],
            "ts": columns["ts"],
            "state": columns["state"],
            _ROW: pa.array(range(len(ok)), pa.int64()),
        }
    ).filter(ok)
    if rows.num_rows == 0:
        return
    states = rows.group_by(["path", "ts"]).aggregate([("state", "count_distinct")])
    clashes = states.filter(pc.greater(states["state_count_distinct"], 1))
    if clashes.num_rows == 0:
        return
    hit = rows.join(clashes, ["path", "ts"], join_type="inner")
    mask = pc.is_in(pa.array(range(len(ok)), pa.int64()), value_set=hit[_ROW])
    reason = pc.binary_join_element_wise(
        "ts: overlapping state intervals: '",
        columns["path"],
        "' has another state than '",
        columns["state"],
        "' at '",
        ts_text,
        "'",
        "",
    )
    checks.add(mask, _combine(reason))


# -- importing -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportResult:
    """Counts of one import: rows read, accepted, rejected; accepted = inserted + duplicates."""

    read: int
    accepted: int
    rejected: int
    inserted: int
    duplicates: int
    rejects_path: Path | None  # where the rejects went (None when there were none)


def default_rejects_path(path: str | Path) -> Path:
    """``events.csv`` -> ``events.rejects.csv`` beside it."""
    source = Path(path)
    return source.with_name(source.name.split(".")[0] + ".rejects.csv")


def import_events(
    path: str | Path,
    store: EventStore,
    plant: Plant | None = None,
    rejects_path: str | Path | None = None,
) -> ImportResult:
    """Read, validate and append an event file; rejects go to ``rejects_path`` (CSV)."""
    result = read_events(path, plant)
    appended = store.append(result.events)
    target: Path | None = None
    if result.rejected:
        target = Path(rejects_path) if rejects_path is not None else default_rejects_path(path)
        write_rejects(result.rejects, target)
    return ImportResult(
        result.read,
        result.accepted,
        result.rejected,
        appended.inserted,
        appended.duplicates,
        target,
    )
