"""The programme pages in a real Chromium (Debian ``chromium``, driven by Playwright): a programme
officer signs in on /program, sees the city view (targets, charts of levels, density and gains,
the shortlist, the rankings, the factory table), filters it, opens a factory's report (radar), and
switches to Chinese. Screenshots go to the test's temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from factoryos.app.service import Service, ServiceSettings
from factoryos.store.duckdb_store import DuckDBStore
from factoryos.store.users import DuckDBUserStore
from tests.api.browser import CHROMIUM, MARKS, served
from tests.api.conftest import PLANT_A
from tests.api.program_registry import write_registry

pytestmark = MARKS


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("program-browser")
    settings = ServiceSettings(
        (PLANT_A,),
        db=":memory:",
        work_dir=tmp / "work",
        registry=write_registry(tmp / "programme.duckdb"),
    )
    service = Service(settings, store=DuckDBStore(":memory:"), users=DuckDBUserStore(":memory:"))
    service.accounts.add("ola", "browser pass")
    service.accounts.grant("ola", "program_officer", "*")
    with served(service) as url:
        yield url


def test_city_view_factory_report_chinese(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{server}/program")
        page.fill("input[name=username]", "ola")
        page.fill("input[name=password]", "browser pass")
        page.click("form#login button[type=submit]")
        for chart in ("#chart-levels", "#chart-density", "#chart-gains", "#chart-density-district"):
            page.wait_for_selector(f"{chart} .main-svg", timeout=20_000)
        page.wait_for_selector("#factories tr.pick")
        assert page.locator("#factories tr.pick").count() == 4
        assert page.locator("#shortlist tr.pick").count() == 2  # f0004, f0001 (award year 2025)
        assert "2 of 70" in page.inner_text("#targets")  # 70 new in 2024: 2 here
        assert "383" in page.inner_text("#chart-density")  # the Shanghai reference line
        assert "Robot density by industry" in page.inner_text("#chart-density")  # its title
        page.screenshot(path=tmp_path / "1_city.png", full_page=True)

        page.select_option("#f-district", "Pudong")
        page.wait_for_function("document.querySelectorAll('#factories tr.pick').length === 2")
        assert page.inner_text("#f-count") == "2 / 4"

        page.click("#factories tr.pick >> nth=0")  # best score first: f0002
        page.wait_for_selector("#factory-radar .main-svg", timeout=20_000)
        page.wait_for_selector("#factory-gains .main-svg", timeout=20_000)
        # its scores hold levels 1-2 only: the radar falls back to showing them
        page.wait_for_selector("#factory-radar .scatterlayer .trace", timeout=20_000)
        assert page.inner_text("#factory-name") == "Factory f0002"
        page.screenshot(path=tmp_path / "2_factory.png", full_page=True)

        page.click("#lang")
        page.click("nav button[data-view=city]")
        page.wait_for_function(
            "document.querySelector('#chart-levels').textContent.includes('等级')"
        )
        assert page.inner_text("nav button[data-view=city]") == "全市总览"
        page.screenshot(path=tmp_path / "3_city_zh.png", full_page=True)
        browser.close()
    print(f"screenshots in {tmp_path}")
