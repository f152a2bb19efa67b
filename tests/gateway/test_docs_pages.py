"""``/docs`` and ``/redoc`` in a real headless Chromium: served offline, every route listed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Request, async_playwright

from tests.support.browser import CHROMIUM_FLAGS, chromium_path
from tests.support.stack import Stack

_HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    # Playwright gives each launch a fresh, empty profile directory of its own.
    executable = chromium_path()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(executable), args=list(CHROMIUM_FLAGS)
        )
        try:
            yield launched
        finally:
            await launched.close()


class _Traffic:
    """Every request a page made that failed, or that left this gateway."""

    def __init__(self, page: Page, origin: str) -> None:
        self.failed: list[str] = []
        self.foreign: list[str] = []
        self.errors: list[str] = []
        page.on("requestfailed", self._on_failed)
        page.on("request", lambda request: self._on_request(request, origin))
        page.on("response", lambda r: r.status >= 400 and self.errors.append(f"{r.status} {r.url}"))

    def _on_failed(self, request: Request) -> None:
        self.failed.append(f"{request.url}: {request.failure}")

    def _on_request(self, request: Request, origin: str) -> None:
        if not request.url.startswith((origin, "data:", "blob:")):
            self.foreign.append(request.url)


def _operations(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in _HTTP_METHODS
    }


async def _spec(stack: Stack) -> dict[str, Any]:
    response = await stack.http.get("/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    return spec


async def test_swagger_ui_loads_offline_and_lists_every_route(
    stack: Stack, browser: Browser
) -> None:
    expected = _operations(await _spec(stack))
    assert any(path.startswith("/api/v1/") for _, path in expected)  # Inkbox dialect
    assert any(path.startswith("/inbound") for _, path in expected)  # Vyom dialect
    page = await browser.new_page()
    traffic = _Traffic(page, stack.gateway_url)
    await page.goto(f"{stack.gateway_url}/docs", wait_until="networkidle")
    await page.wait_for_selector(".opblock", timeout=30_000)
    listed = await page.eval_on_selector_all(
        ".opblock",
        """blocks => blocks.map(block => [
            block.querySelector('.opblock-summary-method').textContent.trim(),
            block.querySelector('.opblock-summary-path').getAttribute('data-path'),
        ])""",
    )
    await page.close()
    assert {(method, path) for method, path in listed} == expected
    assert traffic.failed == []
    assert traffic.foreign == []
    assert traffic.errors == []


async def test_redoc_loads_offline_and_lists_every_route(stack: Stack, browser: Browser) -> None:
    expected = _operations(await _spec(stack))
    page = await browser.new_page()
    traffic = _Traffic(page, stack.gateway_url)
    await page.goto(f"{stack.gateway_url}/redoc", wait_until="networkidle")
    await page.wait_for_selector("[data-section-id^='operation/']", timeout=30_000)
    sections = await page.eval_on_selector_all(
        "[data-section-id^='operation/']", "nodes => nodes.length"
    )
    await page.close()
    assert sections == len(expected)
    assert traffic.failed == []
    assert traffic.foreign == []
    assert traffic.errors == []
