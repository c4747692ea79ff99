"""Loading a plant: every kind of bad input names file, line, field and the offending value."""

from __future__ import annotations

from pathlib import Path

import pytest

from factoryos.model import Issue, MachineState, PlantModelError, load_plant, load_plant_text

from .plants import MINI, line_with, replaced

WEEKLY = "    weekly: {day: mon, start: '08:00', duration: 1 h}\n"

# (case id, YAML text, substring of the line the error must point at, field path, value quoted)
BAD_INPUT: list[tuple[str, str, str | tuple[str, int], str, str]] = [
    (
        "unknown skill in an operation",
        replaced("skill: assembly, run_time: 5 min", "skill: weld, run_time: 5 min"),
        "skill: weld",
        "products[1].routing[0].skill",
        "unknown skill 'weld'",
    ),
    (
        "unknown skill of equipment",
        replaced("skills: [assembly]", "skills: [assembly, weld]"),
        "[assembly, weld]",
        "areas[0].lines[0].equipment[1].skills[1]",
        "unknown skill 'weld'",
    ),
    (
        "unknown equipment in an operation",
        replaced(
            "{id: mill, skill: machining,", "{id: mill, skill: machining, equipment: [lathe],"
        ),
        "lathe",
        "products[0].routing[0].equipment[0]",
        "unknown equipment 'lathe'",
    ),
    (
        "unknown equipment in a maintenance window",
        MINI + "maintenance:\n  - equipment: [lathe]\n" + WEEKLY,
        "lathe",
        "maintenance[0].equipment[0]",
        "unknown equipment 'lathe'",
    ),
    (
        "equipment without the operation's skill",
        replaced(
            "{id: mill, skill: machining,", "{id: mill, skill: machining, equipment: [bench],"
        ),
        "equipment: [bench]",
        "products[0].routing[0].equipment[0]",
        "equipment 'bench' lacks skill 'machining'",
    ),
    (
        "cyclic routing",
        replaced(
            "{id: mill, skill: machining, run_time: 10 min}",
            "{id: mill, skill: machining, run_time: 10 min, consumes: [{product: widget}]}",
        ),
        "routing:",
        "products[0].routing",
        "cyclic routing: part -> widget -> part",
    ),
    (
        "unknown component product",
        replaced("{product: part, quantity: 2}", "{product: gear, quantity: 2}"),
        "gear",
        "products[1].routing[0].consumes[0].product",
        "unknown product 'gear'",
    ),
    (
        "unit mismatch: a power as a run time",
        replaced("run_time: 5 min", "run_time: 5 kW"),
        "5 kW",
        "products[1].routing[0].run_time",
        "'5 kW' is a power, expected a duration",
    ),
    (
        "unit mismatch: a duration as a power",
        replaced("producing: 20 kW", "producing: 20 min"),
        "20 min",
        "areas[0].lines[0].equipment[0].power.producing",
        "'20 min' is a duration, expected a power",
    ),
    (
        "unknown unit",
        replaced("run_time: 10 min", "run_time: 10 fortnights"),
        "fortnights",
        "products[0].routing[0].run_time",
        "unknown unit 'fortnights'",
    ),
    (
        "negative run time",
        replaced("run_time: 5 min", "run_time: -5 min"),
        "-5 min",
        "products[1].routing[0].run_time",
        "negative duration '-5 min'",
    ),
    (
        "negative setup time",
        replaced("run_time: 10 min}", "run_time: 10 min, setup_time: -1 h}"),
        "-1 h",
        "products[0].routing[0].setup_time",
        "negative duration '-1 h'",
    ),
    (
        "negative power",
        replaced("producing: 20 kW", "producing: -20 kW"),
        "-20 kW",
        "areas[0].lines[0].equipment[0].power.producing",
        "negative power '-20 kW'",
    ),
    (
        "zero run time",
        replaced("run_time: 5 min", "run_time: 0 s"),
        "0 s",
        "products[1].routing[0].run_time",
        "greater than 0",
    ),
    (
        "unknown time zone",
        replaced("Asia/Shanghai", "Asia/Shanghay"),
        "Asia/Shanghay",
        "site.timezone",
        "unknown time zone 'Asia/Shanghay'",
    ),
    (
        "break outside its shift",
        replaced('{start: "12:00", end: "12:30"}', '{start: "17:00", end: "17:30"}'),
        "name: early",
        "calendars.day.shifts[0]",
        "break 17:00-17:30 lies outside shift 'early' (08:00-16:00)",
    ),
    (
        "tariff with a gap",
        replaced('hours: ["00:00-24:00"]', 'hours: ["00:00-12:00", "13:00-24:00"]'),
        "tariff:",
        "tariff",
        "bands leave 12:00 uncovered",
    ),
    (
        "tariff with an overlap",
        replaced('hours: ["00:00-24:00"]', 'hours: ["00:00-24:00", "10:00-11:00"]'),
        "tariff:",
        "tariff",
        "bands overlap at 10:00",
    ),
    (
        "duplicate equipment id",
        replaced("id: bench", "id: cnc"),
        ("id: cnc", 2),  # the second of the two
        "areas[0].lines[0].equipment[1].id",
        "duplicate equipment id 'cnc'",
    ),
    (
        "duplicate product id, without a false cycle",
        replaced("id: widget", "id: part"),
        ("id: part", 2),
        "products[1].id",
        "duplicate product id 'part'",
    ),
    (
        "unknown field",
        replaced("units: 2", "units: 2\n            colour: red"),
        "colour: red",
        "areas[0].lines[0].equipment[0].colour",
        "unknown field",
    ),
    (
        "unknown failure distribution",
        replaced("dist: weibull", "dist: beta"),
        "dist: beta",
        "areas[0].lines[0].equipment[0].failure.time_between_failures",
        "'beta'",
    ),
    (
        "a bad identifier",
        replaced("id: bench", "id: Bench-1"),
        "Bench-1",
        "areas[0].lines[0].equipment[1].id",
        "'Bench-1'",
    ),
    (
        "unknown calendar of a line",
        replaced("      - id: line1\n", "      - id: line1\n        calendar: night\n"),
        "calendar: night",
        "areas[0].lines[0].calendar",
        "unknown calendar 'night'",
    ),
    (
        "a site without a time zone",
        replaced("site: {id: plant1, timezone: Asia/Shanghai}", "site: {id: plant1}"),
        "site: {id: plant1}",
        "site.timezone",
        "required, there is no default: give the site's IANA time zone",
    ),
    (
        "a shift without days",
        replaced("days: [mon, tue, wed, thu, fri], ", ""),
        "name: early",
        "calendars.day.shifts[0].days",
        "required, there is no default: give the weekdays the shift starts on",
    ),
    (
        "a shift time with an offset",
        replaced('start: "08:00", end: "16:00"', 'start: "08:00+02:00", end: "16:00"'),
        "name: early",
        "calendars.day.shifts[0].start",
        "clock time '08:00+02:00' has an offset: write the local time of the site",
    ),
    (
        "overlapping shifts",
        replaced(
            "  day:\n    shifts:\n",
            "  day:\n    shifts:\n"
            '      - {name: late, start: "15:30", end: "23:30", days: [fri, sat]}\n',
        ),
        "  day:",
        "calendars.day",
        "shifts 'late' (15:30-23:30) and 'early' (08:00-16:00) overlap on fri at 15:30: "
        "the time would count twice",
    ),
    (
        "overlapping breaks",
        replaced(
            'breaks: [{start: "12:00", end: "12:30"}]',
            'breaks: [{start: "12:00", end: "12:30"}, {start: "12:15", end: "12:45"}]',
        ),
        "name: early",
        "calendars.day.shifts[0]",
        "breaks 12:00-12:30 and 12:15-12:45 of shift 'early' overlap: merge them into one",
    ),
    (
        "a one-off maintenance window without a time zone",
        MINI
        + "maintenance:\n  - equipment: [cnc]\n"
        + "    start: 2026-03-02T08:00\n    end: 2026-03-02T10:00\n",
        "equipment: [cnc]",
        "maintenance[0]",
        "need a time zone",
    ),
]


@pytest.mark.parametrize(
    ("text", "needle", "field", "message"),
    [case[1:] for case in BAD_INPUT],
    ids=[case[0] for case in BAD_INPUT],
)
def test_bad_input_names_file_line_field_and_value(
    text: str, needle: str | tuple[str, int], field: str, message: str
) -> None:
    with pytest.raises(PlantModelError) as caught:
        load_plant_text(text, filename="plant.yaml")
    issue = next((i for i in caught.value.issues if i.field == field), None)
    assert issue is not None, f"no issue for {field}: {caught.value}"
    assert message in issue.message
    assert issue.file == "plant.yaml"
    assert issue.line == (
        line_with(text, needle) if isinstance(needle, str) else line_with(text, *needle)
    )
    assert str(issue).startswith(f"plant.yaml:{issue.line}: {field}: ")


def test_malformed_yaml_reports_its_line() -> None:
    text = replaced("workforce: {headcount: 10}", "workforce:\n\theadcount: 10")
    with pytest.raises(PlantModelError) as caught:
        load_plant_text(text, filename="plant.yaml")
    [issue] = caught.value.issues
    assert (issue.file, issue.line, issue.field) == ("plant.yaml", line_with(text, "\t"), "yaml")
    assert "'\\t'" in issue.message


def test_unclosed_flow_sequence_reports_a_line_near_it() -> None:
    text = replaced("skills: [machining, assembly]", "skills: [machining, assembly")
    with pytest.raises(PlantModelError) as caught:
        load_plant_text(text, filename="plant.yaml")
    [issue] = caught.value.issues
    assert issue.field == "yaml"
    assert issue.line is not None
    assert line_with(text, "skills: [machining") <= issue.line <= line_with(text, "calendars:")


def test_a_document_that_is_not_a_mapping_is_rejected() -> None:
    with pytest.raises(PlantModelError, match="expected a mapping"):
        load_plant_text("- just\n- a list\n", filename="plant.yaml")


def test_several_problems_are_all_reported() -> None:
    text = replaced("skill: assembly, run_time: 5 min", "skill: weld, run_time: 5 min")
    text = replaced("Asia/Shanghai", "Mars/Olympus", text)
    with pytest.raises(PlantModelError) as caught:
        load_plant_text(text, filename="plant.yaml")
    # Field validation stops before the cross-reference checks: the zone is reported first.
    assert [i.field for i in caught.value.issues] == ["site.timezone"]
    text = replaced("skill: assembly, run_time: 5 min", "skill: weld, run_time: 5 min")
    text = replaced("skills: [assembly]", "skills: [assembly, glue]", text)
    with pytest.raises(PlantModelError) as caught:
        load_plant_text(text, filename="plant.yaml")
    fields = {i.field for i in caught.value.issues}
    assert fields == {"areas[0].lines[0].equipment[1].skills[1]", "products[1].routing[0].skill"}


def test_missing_file_is_a_plant_model_error(tmp_path: Path) -> None:
    with pytest.raises(PlantModelError, match="cannot read"):
        load_plant(tmp_path / "nope.yaml")


def test_load_plant_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "robot_factory.yaml"
    path.write_text(replaced("skill: assembly,", "skill: weld,"), encoding="utf-8")
    with pytest.raises(PlantModelError) as caught:
        load_plant(path)
    assert str(caught.value).startswith("robot_factory.yaml:")
    assert "products[1].routing[0].skill: unknown skill 'weld'" in str(caught.value)


def test_issue_without_file_or_line_still_reads() -> None:
    assert str(Issue("a.b", "bad")) == "a.b: bad"
    assert str(Issue("a.b", "bad", line=3)) == "line 3: a.b: bad"
    assert str(Issue("a.b", "bad", file="f.yaml")) == "f.yaml: a.b: bad"


def test_valid_plant_loads_with_units_converted() -> None:
    plant = load_plant_text(MINI, filename="plant.yaml")
    cnc = plant.equipment_by_id["cnc"]
    assert cnc.units == 2
    assert cnc.power_in(MachineState.PRODUCING) == 20.0
    assert cnc.power_in(MachineState.IDLE) == 5.0
    assert cnc.power_in(MachineState.OFF) == 0.0
    assert plant.product_by_id["part"].routing[0].run_time_s == 600.0
    assert [u.path for u in plant.work_units] == [
        "acme/plant1/main/line1/cnc/1",
        "acme/plant1/main/line1/cnc/2",
        "acme/plant1/main/line1/bench",
    ]


def test_overlay_merges_lists_by_id() -> None:
    overlay = {"areas": [{"id": "main", "lines": [{"id": "line1", "equipment": [
        {"id": "cnc", "units": 5}]}]}]}  # fmt: skip
    plant = load_plant_text(MINI, overlay=overlay)
    assert plant.equipment_by_id["cnc"].units == 5
    assert plant.equipment_by_id["cnc"].kind == "cnc"
    assert "bench" in plant.equipment_by_id
