"""The dashboard in a real Chromium (Debian ``chromium``, driven by Playwright): sign in, watch a
work unit change state while the twin runs, open a line's KPIs, the plan's Gantt, the energy
view, and switch to Chinese. Screenshots go to the test's temporary folder."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from factoryos.app.service import Service, ServiceSettings
from factoryos.store.duckdb_store import DuckDBStore
from factoryos.store.users import DuckDBUserStore
from tests.api.browser import CHROMIUM, MARKS, served
from tests.api.conftest import PLANT_A, ROOT, SHANGHAI

pytestmark = MARKS


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Service]]:
    settings = ServiceSettings(
        (PLANT_A,),
        db=":memory:",
        twin=True,
        speed=120.0,
        twin_at=dt.datetime(2026, 3, 3, 10, 0, tzinfo=SHANGHAI),  # a Tuesday morning shift
        orders=ROOT / "examples" / "orders_small.csv",
        plan_time_limit_s=3.0,
        work_dir=tmp_path_factory.mktemp("work"),
    )
    service = Service(settings, store=DuckDBStore(":memory:"), users=DuckDBUserStore(":memory:"))
    service.accounts.add("ada", "browser pass")
    service.accounts.grant("ada", "admin", "jiading")
    with served(service) as url:
        yield url, service


def test_dashboard_live_line_plan_energy_chinese(
    server: tuple[str, Service], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    url, service = server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url)
        page.fill("input[name=username]", "ada")
        page.fill("input[name=password]", "browser pass")
        page.click("form#login button[type=submit]")
        page.wait_for_selector(".unit[data-state=producing]", timeout=20_000)
        page.screenshot(path=tmp_path / "1_overview.png", full_page=True)

        # a work unit changes state while the twin runs (pushed over SSE, no reload)
        before = page.eval_on_selector_all(".unit", "els => els.map(e => e.dataset.state)")
        page.wait_for_function(
            "before => [...document.querySelectorAll('.unit')]"
            ".some((e, i) => e.dataset.state !== before[i])",
            arg=before,
            timeout=30_000,
        )
        page.wait_for_function("document.querySelector('.line .oee').textContent.includes('%')")
        page.screenshot(path=tmp_path / "2_overview_changed.png", full_page=True)

        page.click("nav button[data-view=line]")
        page.wait_for_selector("#line-oee .main-svg", timeout=20_000)
        # the Pareto, or its note that the window had no unplanned downtime
        page.wait_for_selector("#line-pareto .main-svg, #line-pareto .empty", timeout=20_000)
        assert "%" in page.inner_text("#line-summary")
        page.screenshot(path=tmp_path / "3_line.png", full_page=True)

        plan_job = service.jobs.list("jiading", "schedule")[0]
        assert service.jobs.wait(plan_job.id, 120) is not None
        page.click("nav button[data-view=plan]")
        page.wait_for_selector("#gantt .main-svg", timeout=20_000)
        page.screenshot(path=tmp_path / "4_gantt.png", full_page=True)

        page.click("nav button[data-view=energy]")
        page.wait_for_selector("#energy-load .main-svg", timeout=20_000)
        page.screenshot(path=tmp_path / "5_energy.png", full_page=True)

        page.click("#lang")
        page.click("nav button[data-view=overview]")
        page.wait_for_function(
            "document.querySelector('.line .oee').textContent.includes('设备综合效率')"
        )
        assert page.inner_text("nav button[data-view=overview]") == "工厂总览"
        page.screenshot(path=tmp_path / "6_overview_zh.png", full_page=True)
        browser.close()
    print(f"screenshots in {tmp_path}")
