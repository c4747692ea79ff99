"""The maintenance risk page in a real Chromium: sign in as maintenance, wait for the classifier
(trained in the background on the first request), see the risky unit above the threshold with
its proposed window, switch to Chinese. Screenshots go to the test's temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.browser import CHROMIUM, MARKS, served
from tests.api.test_risk import ORDERS, PASSWORD, risk_service

pytestmark = MARKS


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    service = risk_service(tmp_path_factory.mktemp("risk-browser"))
    plans = service.plans["works"]
    plans.solve(plans.new(ORDERS, "weighted_tardiness"), 1.0, lambda _: None)
    with served(service) as url:
        yield url
    service.stop()


def test_risk_page_flags_the_strained_unit_and_speaks_chinese(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1300, "height": 700})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # the page passes its window search on to the API: a light one keeps the test short
        page.goto(f"{server}/risk?horizon_h=16&step_h=8&time_limit_s=0.5")
        page.fill("input[name=username]", "mia")
        page.fill("input[name=password]", PASSWORD)
        page.click("form#login button[type=submit]")
        # the page polls while the model trains; then the table holds the three mills
        page.wait_for_function(
            "document.querySelectorAll('#units tr').length === 4", timeout=30_000
        )
        assert not errors, errors
        rows = page.locator("#units tr")
        assert (
            "mill/1" in rows.nth(1).inner_text() and "above threshold" in rows.nth(1).inner_text()
        )
        # the proposed window, in the site's zone (UTC): the first candidate, at the samples' end
        window = rows.nth(1).locator("td").nth(3).inner_text()
        assert window.startswith("2026-03-02, ") and "–" in window, window
        assert "above threshold" not in rows.nth(2).inner_text()
        assert "missing" in rows.nth(3).inner_text()
        page.screenshot(path=tmp_path / "1_risk.png", full_page=True)
        page.click("#lang")
        page.wait_for_function("document.querySelector('#risk h2').textContent === '设备故障风险'")
        page.wait_for_function("document.querySelector('#units').textContent.includes('故障风险')")
        page.screenshot(path=tmp_path / "2_risk_zh.png", full_page=True)
        browser.close()
    print(f"screenshots in {tmp_path}")
