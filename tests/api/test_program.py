"""The programme routes over a registry of four hand-made factories (known answers), who may read
them, and a plant's own assessment for its site's users."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from factoryos.api import create_app
from factoryos.app.service import Service, ServiceSettings
from factoryos.store.registry import SCHEMAS, Registry
from tests.api.conftest import PLANT_A, ROOT, auth

ANSWERS = ROOT / "examples" / "assess" / "robot_factory_answers.yaml"
# id, district, industry, year, level, total, robots, employees, (productivity, energy) factors
FACTORIES = [
    ("f0001/main", "Pudong", "automotive", 2024, 3, 2.9, 50, 1000, (1.5, 0.8)),
    ("f0002/main", "Pudong", "electronics", 2023, 4, 3.9, 10, 500, (0.9, 1.1)),
    ("f0003/main", "Jiading", "automotive", 2025, 2, 1.9, 0, 200, (1.2, 0.9)),
    ("f0004/main", "Jiading", "biomedicine", 2024, 3, 3.1, 5, 100, (1.2, 0.7)),
]
DAYS = 10


def _tables() -> dict[str, pa.Table]:
    factories, scores, days = [], [], []
    for fid, district, industry, year, level, total, robots, employees, (prod, energy) in FACTORIES:
        factories.append(
            {
                "factory_id": fid,
                "name": f"Factory {fid[:5]}",
                "district": district,
                "industry": industry,
                "certification_year": year,
                "type": "discrete",
                "level": level,
                "total_score": total,
                "robots": robots,
                "employees": employees,
                "assumed_axes": 0,
                "public_key": None,
                "source": "test",
            }
        )
        for lv in (1, 2):
            for sub, score in (("planning", 1.0), ("production", 0.8 if lv == 1 else 0.5)):
                scores.append({"factory_id": fid, "level": lv, "sub_domain": sub, "score": score})
        for period, first, va, kwh in (
            ("baseline", dt.date(2023, 1, 2), 1000.0, 100.0),
            ("current", dt.date(2025, 1, 6), 1000.0 * prod, 100.0 * energy * prod),
        ):
            for i in range(DAYS):
                # +-1 % day to day so that the bootstrap has spread, same in both periods
                wobble = 1 + 0.01 * (i % 3 - 1)
                days.append(
                    {
                        "factory_id": fid,
                        "period": period,
                        "day": first + dt.timedelta(days=i),
                        "value_added_cny": va * wobble,
                        "good_units": 10.0 * wobble,
                        "labour_h": 100.0,
                        "operating_cost_cny": 500.0,
                        "energy_kwh": kwh * wobble,
                        "oee_good_run_s": 20_000.0,
                        "pbt_s": 30_000.0,
                    }
                )
    return {
        "factories": pa.Table.from_pylist(factories, SCHEMAS["factories"]),
        "scores": pa.Table.from_pylist(scores, SCHEMAS["scores"]),
        "days": pa.Table.from_pylist(days, SCHEMAS["days"]),
    }


@pytest.fixture(scope="module")
def program_client(
    service: Service, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """The conftest's sites, store and users, served with a programme registry and answers."""
    path = tmp_path_factory.mktemp("program") / "programme.duckdb"
    registry = Registry(path)
    registry.put(_tables())
    registry.close()
    settings = ServiceSettings(
        service.settings.plants,
        db=":memory:",
        work_dir=service.work_dir,
        registry=path,
        answers=(("jiading", ANSWERS),),
    )
    svc = Service(settings, store=service.store, users=service.accounts.users)
    with TestClient(create_app(settings, service=svc)) as c:
        yield c


def _get(client: TestClient, tokens: dict[str, str], user: str, url: str, **params: Any) -> Any:
    r = client.get(f"/api/v1{url}", params=params, headers=auth(tokens, user))
    assert r.status_code == 200, (url, r.status_code, r.text)
    return r.json()


def _program_routes(client: TestClient) -> list[tuple[str, str]]:
    doc = client.get("/api/v1/openapi.json").json()
    return [
        (method.upper(), path)
        for path, item in doc["paths"].items()
        if path.startswith("/api/v1/program/")
        for method in item
    ]


def test_program_officer_reads_the_registry_with_filters(
    program_client: TestClient, tokens: dict[str, str]
) -> None:
    doc = _get(program_client, tokens, "ola", "/program/factories")
    assert doc["count"] == doc["of"] == 4
    assert [f["factory_id"] for f in doc["factories"]] == [  # best total score first
        "f0002/main",
        "f0004/main",
        "f0001/main",
        "f0003/main",
    ]
    assert doc["levels"] == {"0": 0, "1": 0, "2": 1, "3": 2, "4": 1, "5": 0}
    pudong = _get(program_client, tokens, "ola", "/program/factories", district="Pudong")
    assert {f["factory_id"] for f in pudong["factories"]} == {"f0001/main", "f0002/main"}
    level3 = _get(
        program_client, tokens, "ola", "/program/factories", level=3, industry="automotive"
    )
    assert [f["factory_id"] for f in level3["factories"]] == ["f0001/main"]
    assert level3["factories"][0]["change_pct"]["value_added_per_labour_hour_cny"] == pytest.approx(
        50
    )


def test_one_factory_has_its_scores_gains_and_density(
    program_client: TestClient, tokens: dict[str, str]
) -> None:
    f = _get(program_client, tokens, "ola", "/program/factories/f0001/main")
    assert (f["name"], f["level"], f["density"]["per_10k"]) == ("Factory f0001", 3, 500.0)
    by_level = {lv["level"]: {s["sub_domain"]: s["score"] for s in lv["sub_domains"]}
                for lv in f["sub_domain_scores"]}  # fmt: skip
    assert by_level == {
        1: {"planning": 1.0, "production": 0.8},
        2: {"planning": 1.0, "production": 0.5},
    }
    assert all(s["name_zh"] and s["name_en"] for s in f["sub_domain_scores"][0]["sub_domains"])
    gains = {g["metric"]: g for g in f["gains"]}
    prod = gains["value_added_per_labour_hour_cny"]
    assert prod["change_pct"] == pytest.approx(50)
    assert prod["low_pct"] <= 50 <= prod["high_pct"]
    assert prod["programme_reported_pct"] == 50.0
    assert gains["energy_per_10k_cny_value_added_kwh"]["change_pct"] == pytest.approx(-20)
    r = program_client.get("/api/v1/program/factories/nope/main", headers=auth(tokens, "ola"))
    assert r.status_code == 404


def test_targets_rankings_shortlist_and_density(
    program_client: TestClient, tokens: dict[str, str]
) -> None:
    targets = {
        t["id"]: t for t in _get(program_client, tokens, "ola", "/program/targets")["targets"]
    }
    assert (targets["new_2024"]["actual"], targets["new_2024"]["goal"]) == (2, 70)
    assert targets["upper_2024"]["actual"] == 1.0  # both 2024 factories at level 3
    assert targets["upper_2024"]["met"] and not targets["new_2024"]["met"]
    assert targets["new_by_2025"]["actual"] == 3
    assert targets["total_by_2025"]["actual"] == 4

    ranks = _get(program_client, tokens, "ola", "/program/rankings")
    pudong, jiading = ranks["by_district"]
    assert (pudong["group"], pudong["rank"], pudong["factories"]) == ("Pudong", 1, 2)
    assert pudong["mean_total"] == pytest.approx(3.4)
    assert jiading["mean_total"] == pytest.approx(2.5)
    assert [g["group"] for g in ranks["by_industry"]] == [
        "electronics",
        "biomedicine",
        "automotive",
    ]

    # 2024: certified by then, level >= 3, productivity up and energy intensity down: f0001,
    # f0004 (f0002's productivity fell); best total first
    short = _get(program_client, tokens, "ola", "/program/shortlist", year=2024)
    assert [n["factory_id"] for n in short["nominees"]] == ["f0004/main", "f0001/main"]
    assert any("robot density 500 >= 383" in r for r in short["nominees"][1]["reasons"])
    assert short["nominees"][0]["reasons"][0].startswith("level 3")
    assert _get(program_client, tokens, "ola", "/program/shortlist", year=2023)["nominees"] == []

    dens = _get(program_client, tokens, "ola", "/program/density")
    industry = {g["group"]: g for g in dens["by_industry"]}
    assert industry["automotive"]["robots"] == 50
    assert industry["automotive"]["per_10k"] == pytest.approx(50 / 1200 * 10_000)
    assert dens["total"]["per_10k"] == pytest.approx(65 / 1800 * 10_000)
    assert sorted(r["per_10k"] for r in dens["references"]) == [162.0, 383.0, 470.0]


@pytest.mark.parametrize("user", ["vic", "ada", "pia", "bob"])
def test_site_users_may_not_open_the_programme_view(
    program_client: TestClient, tokens: dict[str, str], user: str
) -> None:
    routes = _program_routes(program_client)
    assert len(routes) >= 7 and all(method == "GET" for method, _ in routes)  # reads only
    for _, path in routes:
        url = path.replace("{factory_id}", "f0001/main")
        r = program_client.get(url, headers=auth(tokens, user))
        if path.endswith("/program/me"):
            assert r.json()["program_officer"] is False
        else:
            assert r.status_code == 403, (user, path, r.status_code)
            assert "f0001" not in r.text


def test_nobody_writes_to_the_registry(program_client: TestClient, tokens: dict[str, str]) -> None:
    for user in ("ola", "vic"):
        r = program_client.post("/api/v1/program/factories", headers=auth(tokens, user), json={})
        assert r.status_code == 405


def test_site_user_sees_only_its_own_assessment(
    program_client: TestClient, tokens: dict[str, str]
) -> None:
    a = _get(program_client, tokens, "vic", "/sites/jiading/assessment")
    assert a["node"] == "step_robotics/jiading"
    assert a["answers_file"] == ANSWERS.name
    assert 0 <= a["level"] <= 5 and len(a["levels"]) == 5
    sources = {r["source"] for r in a["requirements"]}
    assert "platform" in sources  # scored from the stored events
    assert a["density"]["employees"] == 300
    r = program_client.get("/api/v1/sites/pudong/assessment", headers=auth(tokens, "vic"))
    assert r.status_code == 404
    # the programme officer reads every site's, without answers given for pudong
    b = _get(program_client, tokens, "ola", "/sites/pudong/assessment")
    assert b["answers_file"] is None and b["node"] == "step_robotics/pudong"


def test_assessment_gains_need_both_periods(
    program_client: TestClient, tokens: dict[str, str]
) -> None:
    url = "/api/v1/sites/jiading/assessment"
    r = program_client.get(
        url, params={"baseline": "2026-03-02..2026-03-03"}, headers=auth(tokens, "vic")
    )
    assert r.status_code == 422 and "current" in r.text
    r = program_client.get(url, params={"baseline": "2026-03-02"}, headers=auth(tokens, "vic"))
    assert r.status_code == 422 and "A..B" in r.text
    a = _get(
        program_client, tokens, "vic", "/sites/jiading/assessment",
        baseline="2026-03-02..2026-03-03", current="2026-03-03..2026-03-04",
    )  # fmt: skip
    assert {g["metric"] for g in a["gains"]} >= {"value_added_per_labour_hour_cny", "oee"}


def test_program_page_is_served(program_client: TestClient) -> None:
    page = program_client.get("/program")
    assert page.status_code == 200 and 'id="city"' in page.text
    assert program_client.get("/static/program.js").status_code == 200


def test_registry_missing_is_a_clear_error(tmp_path: Path) -> None:
    from factoryos.model.errors import ParameterError

    with pytest.raises(ParameterError, match="no programme registry"):
        Service(ServiceSettings((PLANT_A,), db=":memory:", registry=tmp_path / "none.duckdb"))
