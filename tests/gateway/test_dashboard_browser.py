"""The operator dashboard in a real headless Chromium against a real gateway, offline.

The page is a plain client of the public GraphQL API: the token is typed into its form
(the server never serves one), charts come from the vendored uPlot, and the occupancy
follows the ``sessionUpdated`` subscription. The run saves a screenshot in
``tests/screenshots/`` (git-ignored).
"""

import re
from pathlib import Path

import httpx
from playwright.async_api import expect

from gateway.graphql.explorer import CONTENT_SECURITY_POLICY
from tests.fixtures.dataset import LOC_X
from tests.gateway.test_graphiql_browser import (  # noqa: F401  (fixtures)
    Recorder,
    browser,
    chromium,
    start_session_elsewhere,
)
from tests.live_server import live_server

SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"


async def test_the_dashboard_draws_statistics_and_live_occupancy_offline(
    writable,
    browser,  # noqa: F811  (the fixture imported above)
):
    async with live_server(writable.url, **writable.env) as base:
        async with httpx.AsyncClient() as client:
            served = await client.get(f"{base}/dashboard")
        assert served.status_code == 200
        assert served.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert not re.search(r"sgw_[A-Za-z0-9_-]{43}", served.text)

        page = browser.pages[0] if browser.pages else await browser.new_page()
        recorder = Recorder(page)
        await page.goto(f"{base}/dashboard")
        await page.fill("#token", writable.tokens["admin"])
        await page.fill("#until", "2025-01-20")
        await page.click("button[type=submit]")

        # The first location (X) is chosen: its 30 days up to 20 January, drawn by uPlot.
        await expect(page.locator("#location")).to_be_enabled(timeout=20_000)
        await expect(page.locator("#location")).to_have_value(str(LOC_X))
        await expect(page.locator("#status")).to_contain_text("2024-12-22 to 2025-01-20")
        for chart in ("sessions-chart", "revenue-chart", "duration-chart"):
            await expect(page.locator(f"#{chart} canvas")).to_have_count(1)
            points = await page.locator(f"#{chart}").get_attribute("data-points")
            assert points is not None and int(points) > 0, chart
        await expect(page.locator("#duration-summary")).to_contain_text("p50")

        # Occupancy now, then live: a session started by another client shows at once.
        await expect(page.locator("#live")).to_have_text("live", timeout=20_000)
        numbers = page.locator(f'#occupancy li[data-location="{LOC_X}"] .numbers')
        before = await numbers.inner_text()
        occupied, devices = (int(n) for n in re.findall(r"\d+", before))
        await start_session_elsewhere(base, writable.url, writable.tokens["admin"])
        await expect(numbers).to_have_text(f"{occupied + 1} / {devices + 1}", timeout=20_000)

        SCREENSHOTS.mkdir(exist_ok=True)
        shot = SCREENSHOTS / "dashboard.png"
        await page.screenshot(path=shot, full_page=True)
        print(f"dashboard screenshot: {shot}")

    assert any(url.startswith("ws://127.0.0.1") for url in recorder.urls)
    assert any("/graphql/static/dashboard/uPlot.iife.min.js" in url for url in recorder.urls)
    assert recorder.outside() == []
    assert recorder.errors == []
