"""GraphiQL in a real headless Chromium against a real gateway, with nothing from the internet.

Chromium is Debian's (``make browser`` installs it); Playwright only drives it. A browser
that cannot start fails the test: it is never skipped.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import BrowserContext, Page, async_playwright, expect

from storage.database import create_engine
from tests.conftest import auth
from tests.fixtures.dataset import LOC_X, USER_A, add_device
from tests.live_server import live_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium; missing, the test fails (never skips)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path, tmp_path: Path) -> AsyncIterator[BrowserContext]:
    """Debian's Chromium with a fresh profile."""
    async with async_playwright() as playwright:
        try:
            context = await playwright.chromium.launch_persistent_context(
                tmp_path / "profile",
                executable_path=chromium,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1400, "height": 900},
            )
        except Exception as error:
            pytest.fail(f"Chromium ({chromium}) could not start: {error}", pytrace=False)
        try:
            yield context
        finally:
            await context.close()


class Recorder:
    """Every request, WebSocket frame and error of a page."""

    def __init__(self, page: Page) -> None:
        self.urls: list[str] = []
        self.errors: list[str] = []
        self.acknowledged = asyncio.Event()
        page.on("request", lambda request: self.urls.append(request.url))
        page.on("websocket", self._websocket)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on(
            "console",
            lambda message: (
                self.errors.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )

    def _websocket(self, socket) -> None:
        self.urls.append(socket.url)
        socket.on("framereceived", self._frame)

    def _frame(self, payload: str | bytes) -> None:
        if isinstance(payload, str) and json.loads(payload).get("type") == "connection_ack":
            self.acknowledged.set()

    def outside(self) -> list[str]:
        """Requests that left the machine (data: URLs never do)."""
        return [
            url
            for url in self.urls
            if urlsplit(url).scheme != "data" and urlsplit(url).hostname != "127.0.0.1"
        ]


async def start_session_elsewhere(base: str, url: str, token: str) -> None:
    engine = create_engine(url)
    try:
        locker = await add_device(engine, "locker", location=LOC_X)
    finally:
        await engine.dispose()
    mutation = (
        f'mutation {{ startSession(deviceId: "{locker}", userId: "{USER_A}") {{ __typename }} }}'
    )
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{base}/graphql", json={"query": mutation}, headers=auth(token)
        )
    assert response.json()["data"] == {"startSession": {"__typename": "Session"}}


async def test_graphiql_runs_queries_and_subscriptions_offline_in_chromium(
    writable, browser, tmp_path
):
    async with live_server(writable.url, args=["--demo"], **writable.env) as base:
        page = browser.pages[0] if browser.pages else await browser.new_page()
        recorder = Recorder(page)
        await page.goto(f"{base}/graphql")

        # `serve --demo` put its admin token in the header editor.
        headers = page.locator('section.graphiql-editor-tool[aria-label="Headers"]')
        await expect(headers).to_contain_text('"Authorization": "Bearer sgw_')

        # The first tab's nested sessions query, run with the run button.
        await page.locator(".graphiql-execute-button").click()
        result = page.locator(".result-window")
        await expect(result).to_contain_text('"sessions"', timeout=20_000)
        text = await result.inner_text()
        assert '"edges"' in text and '"uuid"' in text and '"errors"' not in text
        query_shot = tmp_path / "graphiql-query.png"
        await page.screenshot(path=query_shot)
        print(f"GraphiQL screenshot: {query_shot}")

        # The subscription tab, run with Ctrl-Enter, then a change made by another client.
        await page.get_by_role("tab", name="LiveUpdates").click()
        editor = page.locator(".graphiql-query-editor .CodeMirror-code")
        await expect(editor).to_contain_text("subscription LiveUpdates")
        await editor.get_by_text("sessionUpdated").click()
        await page.keyboard.press("Escape")  # the field's tooltip
        await page.keyboard.press("Control+Enter")
        await asyncio.wait_for(recorder.acknowledged.wait(), 20)
        await asyncio.sleep(0.5)  # let the server register the subscription
        await start_session_elsewhere(base, writable.url, writable.tokens["admin"])
        await expect(result).to_contain_text('"sessionUpdated"', timeout=20_000)
        await expect(result).to_contain_text('"ACTIVE"')
        live_shot = tmp_path / "graphiql-subscription.png"
        await page.screenshot(path=live_shot)
        print(f"GraphiQL subscription screenshot: {live_shot}")

    assert any(url.startswith("ws://127.0.0.1") for url in recorder.urls)
    assert any("/graphql/static/graphiql/graphiql.min.js" in url for url in recorder.urls)
    assert recorder.outside() == []
    assert recorder.errors == []
