"""Mapping files: errors with file, line, field and value; rules resolve sources to units."""

from __future__ import annotations

import pytest

from factoryos.ingest.mapping import fill_path, load_mapping_text, path_pattern
from factoryos.model.errors import MappingError

GOOD = """
sources:
  - sparkplug: {group: jiading, node: "+", device: "+", metric: state}
    path: "acme/{group}/{node}/{device}"
    kind: state
    values: packml
  - mqtt: {topic: "plant/{line}/{unit}/count", value: "$.good", timestamp: "$.ts"}
    path: "acme/jiading/{line}/{unit}"
    kind: count
    field: good
    product: r1
    cumulative: true
    rollover: 65536
"""


def test_a_good_mapping_loads() -> None:
    mapping = load_mapping_text(GOOD)
    state, count = mapping.sources
    assert state.value_map()["6"] == "producing"
    assert count.mqtt is not None and count.mqtt.topic_filter == "plant/+/+/count"
    assert count.mqtt.matches("plant/l1/cnc.3/count") == {"line": "l1", "unit": "cnc.3"}
    assert (
        fill_path(state.path, {"group": "g", "node": "a.l", "device": "cnc.3"})
        == "acme/g/a/l/cnc/3"
    )
    assert path_pattern(state.path).fullmatch("acme/jiading/a/l/cnc/3")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            GOOD.replace("values: packml", "values: plcopen"),
            "m.yaml:3: sources[0]: unknown value map",
        ),
        (GOOD.replace("field: good", "field: goood"), "m.yaml:10: sources[1].field"),
        (GOOD.replace('device: "+"', 'device: "a/b"'), "m.yaml:3: sources[0].sparkplug.device"),
        (GOOD.replace('{line}/{unit}"\n', '{cell}"\n'), "placeholders the source does not give"),
        (GOOD.replace("    product: r1\n", ""), "needs one of product or product_metric"),
    ],
)
def test_bad_mappings_name_file_line_and_field(text: str, message: str) -> None:
    with pytest.raises(MappingError) as err:
        load_mapping_text(text, "m.yaml")
    assert message in str(err.value)
