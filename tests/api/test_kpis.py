"""KPIs, losses, drill-down and events over HTTP: the CLI's figures, bad parameters as 422."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from factoryos.app.kpi_json import report_to_json
from factoryos.app.kpis import kpi_report
from factoryos.app.service import Service
from factoryos.kpi.report import GroupBy
from tests.api.conftest import DAY0, auth

WINDOW = {"from": "2026-03-02", "to": "2026-03-04"}
LINE = "final_assembly/arm_assembly"


def test_kpis_are_the_cli_json(
    client: TestClient, tokens: dict[str, str], service: Service
) -> None:
    r = client.get(
        "/api/v1/sites/jiading/kpis",
        params={**WINDOW, "node": LINE, "by": "day"},
        headers=auth(tokens, "vic"),
    )
    assert r.status_code == 200, r.text
    plant = service.sites["jiading"].plant
    expected = report_to_json(
        kpi_report(
            service.store,
            plant,
            start=DAY0.astimezone(dt.UTC),
            end=(DAY0 + dt.timedelta(days=2)).astimezone(dt.UTC),
            node=f"{plant.root_path}/{LINE}",
            by=GroupBy.DAY,
        )
    )
    got = r.json()
    assert got["schema"] == "factoryos.kpi/2"
    assert [g["group"]["local_day"] for g in got["groups"]] == ["2026-03-02", "2026-03-03"]
    assert got == expected
    assert 0 < got["total"]["kpis"]["oee_index"] <= 1


def test_unchanged_kpis_answer_304(client: TestClient, tokens: dict[str, str]) -> None:
    url, headers = "/api/v1/sites/jiading/kpis", auth(tokens, "vic")
    first = client.get(url, params=WINDOW, headers=headers)
    tag = first.headers["ETag"]
    again = client.get(url, params=WINDOW, headers={**headers, "If-None-Match": tag})
    assert again.status_code == 304
    other = client.get(
        url, params={**WINDOW, "by": "shift"}, headers={**headers, "If-None-Match": tag}
    )
    assert other.status_code == 200


@pytest.mark.parametrize(
    ("path", "params", "field", "value"),
    [
        ("kpis", {"node": "no_such_area/x"}, "node", "no_such_area/x"),
        ("kpis", {"from": "2026-03-02T08:00"}, "from", "2026-03-02T08:00"),
        ("kpis", {"from": "2026-03-04", "to": "2026-03-02"}, "to", "2026-03-02"),
        ("kpis", {"from": "yesterday"}, "from", "yesterday"),
        ("kpis/drill", {**WINDOW, "kpi": "happiness"}, "kpi", "happiness"),
        ("losses", {"node": "step_robotics/pudong"}, "node", "step_robotics/pudong"),
    ],
)
def test_bad_parameters_are_422_naming_field_and_value(
    client: TestClient,
    tokens: dict[str, str],
    path: str,
    params: dict[str, str],
    field: str,
    value: str,
) -> None:
    r = client.get(f"/api/v1/sites/jiading/{path}", params=params, headers=auth(tokens, "vic"))
    assert r.status_code == 422, r.text
    [detail] = r.json()["detail"]
    assert detail["loc"][-1] == field
    assert detail["input"] == value
    assert value in detail["msg"]


def test_unknown_grouping_is_422(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.get("/api/v1/sites/jiading/kpis", params={"by": "week"}, headers=auth(tokens, "vic"))
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "by"]
    assert r.json()["detail"][0]["input"] == "week"


def test_losses_and_pareto(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.get("/api/v1/sites/jiading/losses", params=WINDOW, headers=auth(tokens, "vic"))
    doc = r.json()
    assert set(doc["losses_s"]) == {
        "breakdowns_s",
        "setup_and_adjustment_s",
        "idling_and_minor_stops_s",
        "reduced_speed_s",
        "defects_and_rework_s",
        "fully_productive_s",
    }
    assert doc["losses_s"]["breakdowns_s"] == pytest.approx(
        sum(p["seconds"] for p in doc["downtime_pareto"] if p["state"] == "fault")
    )
    shares = [p["share"] for p in doc["downtime_pareto"]]
    assert shares == sorted(shares, reverse=True)
    assert doc["downtime_pareto"][-1]["cumulative_share"] == pytest.approx(1.0)


def test_drill_from_kpi_to_elements_to_events(client: TestClient, tokens: dict[str, str]) -> None:
    h = auth(tokens, "vic")
    kpi = client.get(
        "/api/v1/sites/jiading/kpis/drill",
        params={**WINDOW, "node": LINE, "kpi": "availability"},
        headers=h,
    ).json()
    te = kpi["time_elements_s"]
    assert kpi["value"] == pytest.approx(te["apt"] / te["pbt"])
    assert sum(u["time_elements_s"]["apt"] for u in kpi["units"]) == pytest.approx(te["apt"])
    events = client.get(
        "/api/v1/sites/jiading/kpis/drill/events",
        params={**WINDOW, "node": LINE, "element": "apt", "limit": 5},
        headers=h,
    ).json()
    assert events["states"] == ["producing"]
    assert events["total"] > 5 and len(events["items"]) == 5
    # whole state intervals: at least the APT inside planned busy time
    assert events["seconds"] >= te["apt"] - 1e-6
    assert all(
        i["path"].startswith("step_robotics/jiading/final_assembly/arm_assembly")
        for i in events["items"]
    )


def test_events_are_paged(client: TestClient, tokens: dict[str, str]) -> None:
    h = auth(tokens, "vic")
    params = {**WINDOW, "node": LINE, "kind": "state", "limit": 3}
    first = client.get("/api/v1/sites/jiading/events", params=params, headers=h).json()
    second = client.get(
        "/api/v1/sites/jiading/events", params={**params, "offset": 3}, headers=h
    ).json()
    assert first["total"] == second["total"] > 6
    ids = [e["event_id"] for e in first["items"] + second["items"]]
    assert len(set(ids)) == 6
    assert all(e["kind"] == "state" for e in first["items"])


def test_energy(client: TestClient, tokens: dict[str, str]) -> None:
    doc = client.get(
        "/api/v1/sites/jiading/energy", params=WINDOW, headers=auth(tokens, "vic")
    ).json()
    assert doc["energy_kwh"] == pytest.approx(sum(h["kwh"] for h in doc["hours"]), rel=1e-6)
    assert (
        doc["energy_per_10k_cny_value_added_kwh"] is None
        or doc["energy_per_10k_cny_value_added_kwh"] > 0
    )
    assert {h["price_cny_per_kwh"] for h in doc["hours"]}.__len__() >= 2  # peak and valley


def test_units_state_and_counts(
    client: TestClient, tokens: dict[str, str], service: Service
) -> None:
    doc = client.get("/api/v1/sites/jiading/units", headers=auth(tokens, "vic")).json()
    plant = service.sites["jiading"].plant
    assert [u["path"] for u in doc["units"]] == [u.path for u in plant.work_units]
    # the service clock is the wall clock (no twin): the stored March days are long past
    assert all(u["good_today"] == 0 for u in doc["units"])
    known = [u for u in doc["units"] if u["state"] is not None]
    assert all(dt.datetime.fromisoformat(u["since"]).tzinfo is not None for u in known)


def test_line_oee_today_equals_each_line_report(service: Service) -> None:
    from factoryos.app.live_view import line_oee_today

    plant = service.sites["jiading"].plant
    now = (DAY0 + dt.timedelta(days=1, hours=12)).astimezone(dt.UTC)
    lines = line_oee_today(service.store, plant, now)
    assert len(lines) == len(list(plant.lines()))
    for line in lines:
        report = kpi_report(
            service.store,
            plant,
            start=(DAY0 + dt.timedelta(days=1)).astimezone(dt.UTC),
            end=now,
            node=line["path"],
        )
        expected = report.total.kpis
        assert line["oee"] == pytest.approx(expected["oee_index"])
        assert line["availability"] == pytest.approx(expected["availability"])
    assert any(line["oee"] for line in lines)
