"""Compound Sparkplug values: arrays decode to the values of the specification's own byte
examples; Template instances and DataSets are stored as samples under dotted names; what does
not fit its declaration is a dead letter naming the metric."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from factoryos.app.ingesting import make_commit
from factoryos.ingest import sparkplug_b_pb2 as pb
from factoryos.ingest.mapping import load_mapping_text
from factoryos.ingest.pipeline import Pipeline
from factoryos.ingest.sparkplug import CodecError, DataType, decode
from factoryos.ingest.sparkplug_values import flatten
from factoryos.model import load_plant
from factoryos.store.deadletters import DuckDBDeadLetterStore
from factoryos.store.duckdb_store import DuckDBStore

ROOT = Path(__file__).resolve().parents[2]
NOW_MS = 1_780_000_000_000
TOPIC = "spBv1.0/jiading/{}/machining.cnc_machining"

# Sparkplug 3.0, section 6.4.16 "Array Types": (datatype, the example's values, its bytes_value)
SPEC_EXAMPLES = [
    # the example says [-23, 123]; its bytes are [-17, 123] (-23 is 0xE9): a typo of the text
    (DataType.INT8_ARRAY, [-17, 123], [0xEF, 0x7B]),
    (DataType.INT16_ARRAY, [-30000, 30000], [0xD0, 0x8A, 0x30, 0x75]),
    (DataType.INT32_ARRAY, [-1, 315338746], [0xFF, 0xFF, 0xFF, 0xFF, 0xFA, 0xAF, 0xCB, 0x12]),
    (
        DataType.INT64_ARRAY,
        [-4270929666821191986, -3601064768563266876],
        [
            *[0xCE, 0x06, 0x72, 0xAC, 0x18, 0x9C, 0xBA, 0xC4],
            *[0xC4, 0xBA, 0x9C, 0x18, 0xAC, 0x72, 0x06, 0xCE],
        ],
    ),
    (DataType.UINT8_ARRAY, [23, 250], [0x17, 0xFA]),
    (DataType.UINT16_ARRAY, [30, 52360], [0x1E, 0x00, 0x88, 0xCC]),
    (DataType.UINT32_ARRAY, [52, 3293969225], [0x34, 0x00, 0x00, 0x00, 0x49, 0xFB, 0x55, 0xC4]),
    (
        DataType.UINT64_ARRAY,
        [52, 16444743074749521625],
        [0x34, 0, 0, 0, 0, 0, 0, 0, 0xD9, 0x9E, 0x02, 0xD1, 0xB2, 0x76, 0x37, 0xE4],
    ),
    # 12 booleans, then bit-packed most significant bit first; the spec leaves the last four
    # bits open ("0xDX"): 0 here
    (
        DataType.BOOLEAN_ARRAY,
        [False, False, True, True, False, True, False, False, True, True, False, True],
        [0x0C, 0x00, 0x00, 0x00, 0x34, 0xD0],
    ),
    (
        DataType.STRING_ARRAY,
        ["ABC", "hello"],
        [0x41, 0x42, 0x43, 0x00, 0x68, 0x65, 0x6C, 0x6C, 0x6F, 0x00],
    ),
]


def _array_payload(datatype: DataType, data: bytes) -> bytes:
    message = pb.Payload(timestamp=NOW_MS, seq=0)
    message.metrics.add(name="arr", timestamp=NOW_MS, datatype=datatype, bytes_value=data)
    return message.SerializeToString()


@pytest.mark.parametrize(("datatype", "values", "spec_bytes"), SPEC_EXAMPLES)
def test_the_specifications_array_examples_decode(
    datatype: DataType, values: list[object], spec_bytes: list[int]
) -> None:
    payload, fields = decode(_array_payload(datatype, bytes(spec_bytes)))
    [metric] = payload.metrics
    assert metric.datatype is not None
    flat = flatten("arr", metric.datatype, fields[0], metric.value)
    assert [(n, v) for n, _, v in flat] == [(f"arr[{i}]", v) for i, v in enumerate(values)]


def test_float_double_and_datetime_arrays_are_little_endian() -> None:
    # The specification's text says little-endian; its FloatArray and DoubleArray example bytes
    # are big-endian (3F 9D 70 A4 is 1.23 big-endian) and its DateTimeArray example drops the
    # two zero bytes of each value, so these are checked against the text, not those bytes.
    cases = [
        (DataType.FLOAT_ARRAY, "<2f", [1.25, 89.5]),
        (DataType.DOUBLE_ARRAY, "<2d", [12.354213, 1022.9123213]),
        (DataType.DATETIME_ARRAY, "<2Q", [1256102875335, 1656107875000]),
    ]
    for datatype, layout, values in cases:
        flat = flatten("a", datatype, "bytes_value", struct.pack(layout, *values))
        assert [v for _, _, v in flat] == values
    assert flatten("a", DataType.DATETIME_ARRAY, "bytes_value", b"")[:1] == []


def test_arrays_that_do_not_fit_their_datatype_are_codec_errors() -> None:
    with pytest.raises(CodecError, match="INT32_ARRAY 'a': 6 bytes, not 4-byte values"):
        flatten("a", DataType.INT32_ARRAY, "bytes_value", bytes(6))
    with pytest.raises(CodecError, match="of 12 values has 1 bytes"):
        flatten("a", DataType.BOOLEAN_ARRAY, "bytes_value", bytes([12, 0, 0, 0, 0]))
    with pytest.raises(CodecError, match="does not end with a null byte"):
        flatten("a", DataType.STRING_ARRAY, "bytes_value", b"ABC")
    with pytest.raises(CodecError, match="needs bytes_value, got string_value"):
        flatten("a", DataType.UINT8_ARRAY, "string_value", "x")


MAPPING = """
sources:
""" + "".join(
    f"""  - sparkplug: {{group: jiading, node: "+", device: "+", metric: "{metric}"}}
    path: "step_robotics/jiading/{{node}}/{{device}}"
    kind: sample
    sensor: {sensor}
"""
    for metric, sensor in [
        ("Spindle.Speed", "spindle_speed"),
        ("Spindle.Bearing.Temp", "bearing_temp"),
        ("Zones[0].temp", "zone_a_temp"),
        ("Zones[1].temp", "zone_b_temp"),
    ]
)


def _member(t: pb.Payload.Template, name: str, datatype: DataType, value: float | None) -> None:
    m = t.metrics.add(name=name, datatype=datatype)
    if value is None:
        m.is_null = True
    elif datatype == DataType.FLOAT:
        m.float_value = value
    else:
        m.double_value = value


def _motor(t: pb.Payload.Template, speed: float | None, temp: float | None) -> None:
    """A "Motor" template: Speed (Double) and a nested "Bearing" template with Temp (Float)."""
    if speed is not None:
        _member(t, "Speed", DataType.DOUBLE, speed)
    bearing = t.metrics.add(name="Bearing", datatype=DataType.TEMPLATE).template_value
    bearing.template_ref = "Bearing"
    _member(bearing, "Temp", DataType.FLOAT, temp)


def _zones(d: pb.Payload.DataSet, rows: list[list[tuple[str, float]]]) -> None:
    d.num_of_columns = 2
    d.columns.extend(["zone", "temp"])
    d.types.extend([DataType.STRING, DataType.DOUBLE])
    for row in rows:
        r = d.rows.add()
        for zone, temp in row:
            r.elements.add(string_value=zone)
            r.elements.add(double_value=temp)


def _messages() -> list[tuple[str, bytes]]:
    nbirth = pb.Payload(timestamp=NOW_MS, seq=0)
    nbirth.metrics.add(name="bdSeq", datatype=DataType.INT64, long_value=0)
    definition = nbirth.metrics.add(name="_types_/Motor", datatype=DataType.TEMPLATE)
    definition.template_value.is_definition = True
    _motor(definition.template_value, 0.0, 0.0)
    dbirth = pb.Payload(timestamp=NOW_MS, seq=1)
    spindle = dbirth.metrics.add(name="Spindle", alias=1, timestamp=NOW_MS)
    spindle.datatype = DataType.TEMPLATE
    spindle.template_value.template_ref = "Motor"
    _motor(spindle.template_value, 1200.0, 45.5)
    zones = dbirth.metrics.add(name="Zones", alias=2, timestamp=NOW_MS, datatype=DataType.DATASET)
    _zones(zones.dataset_value, [[("a", 20.0)], [("b", 21.0)]])
    ddata = pb.Payload(timestamp=NOW_MS + 1000, seq=2)
    update = ddata.metrics.add(alias=1, timestamp=NOW_MS + 1000)  # the datatype from the birth
    update.template_value.template_ref = "Motor"
    _motor(update.template_value, None, 46.25)  # an instance in DATA may carry some members
    table = ddata.metrics.add(alias=2, timestamp=NOW_MS + 1000)
    _zones(table.dataset_value, [[("a", 20.5)], [("b", 21.5)]])
    bad = pb.Payload(timestamp=NOW_MS + 2000, seq=3)
    ragged = bad.metrics.add(alias=2, timestamp=NOW_MS + 2000)
    _zones(ragged.dataset_value, [[("a", 22.0)]])
    ragged.dataset_value.rows.add().elements.add(string_value="b")  # no temp
    nameless = bad.metrics.add(alias=1, timestamp=NOW_MS + 2000).template_value
    nameless.metrics.add(double_value=1.0, datatype=DataType.DOUBLE)
    return [
        (TOPIC.format("NBIRTH"), nbirth.SerializeToString()),
        (TOPIC.format("DBIRTH") + "/hmc.1", dbirth.SerializeToString()),
        (TOPIC.format("DDATA") + "/hmc.1", ddata.SerializeToString()),
        (TOPIC.format("DDATA") + "/hmc.1", bad.SerializeToString()),
    ]


def test_templates_and_datasets_are_stored_as_samples_or_dead_letters(tmp_path: Path) -> None:
    plant = load_plant(ROOT / "examples" / "robot_factory.yaml")
    pipeline = Pipeline(load_mapping_text(MAPPING), frozenset(u.path for u in plant.work_units))
    for topic, data in _messages():
        assert pipeline.sparkplug(topic, data, NOW_MS, None) is None
    store = DuckDBStore(tmp_path / "plant.duckdb")
    letters = DuckDBDeadLetterStore(tmp_path / "letters.duckdb")
    batch = pipeline.take()
    done = make_commit(store, letters)(batch, pipeline.session())
    pipeline.committed(batch, done.inserted, done.duplicates, done.letters)
    rows = store.events().to_pylist()
    samples = sorted((r["sensor"], r["ts"].timestamp() * 1000 - NOW_MS, r["value"]) for r in rows)
    assert samples == [
        ("bearing_temp", 0, 45.5),
        ("bearing_temp", 1000, 46.25),
        ("spindle_speed", 0, 1200.0),
        ("zone_a_temp", 0, 20.0),
        ("zone_a_temp", 1000, 20.5),
        ("zone_b_temp", 0, 21.0),
        ("zone_b_temp", 1000, 21.5),
    ]
    assert sorted(d.reason for d in letters.letters()) == [
        "metric 'Spindle': a member of template 'Spindle' has no name",
        "metric 'Zones': DataSet 'Zones' row 1 has 1 values for 2 columns",
    ]
    assert pipeline.counts.reconciles(), pipeline.counts.line()
