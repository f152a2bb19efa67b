"""``/docs`` and ``/redoc`` in headless Chromium: offline, every route listed, Try it out works."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Request, Response, async_playwright

from services.config.provisioning import CreatedAccount
from tests.support.browser import CHROMIUM_FLAGS, chromium_path
from tests.support.stack import Stack

_HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
# Rendering the whole API takes the browser seconds on a quiet machine and far longer on a
# loaded one: the bounds below are about hanging, not speed.
_PAGE_TIMEOUT_MS = 180_000
pytestmark = pytest.mark.timeout(600)


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
        page.on("response", self._on_response)

    def _on_response(self, response: Response) -> None:
        if response.status >= 400:
            self.errors.append(f"{response.status} {response.url}")

    def _on_failed(self, request: Request) -> None:
        self.failed.append(f"{request.url}: {request.failure}")

    def _on_request(self, request: Request, origin: str) -> None:
        if not request.url.startswith((origin, "data:", "blob:")):
            self.foreign.append(request.url)


async def _new_page(browser: Browser) -> Page:
    page = await browser.new_page()
    page.set_default_timeout(_PAGE_TIMEOUT_MS)
    page.set_default_navigation_timeout(_PAGE_TIMEOUT_MS)
    return page


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
    page = await _new_page(browser)
    traffic = _Traffic(page, stack.gateway_url)
    await page.goto(f"{stack.gateway_url}/docs", wait_until="networkidle")
    await page.wait_for_selector(".opblock")
    listed = await page.eval_on_selector_all(
        ".opblock",
        """blocks => blocks.map(block => [
            block.querySelector('.opblock-summary-method').textContent.trim(),
            block.querySelector('.opblock-summary [data-path]').getAttribute('data-path'),
        ])""",
    )
    await page.close()
    assert {(method, path) for method, path in listed} == expected
    assert traffic.failed == []
    assert traffic.foreign == []
    assert traffic.errors == []


async def test_redoc_loads_offline_and_lists_every_route(stack: Stack, browser: Browser) -> None:
    expected = _operations(await _spec(stack))
    page = await _new_page(browser)
    traffic = _Traffic(page, stack.gateway_url)
    await page.goto(f"{stack.gateway_url}/redoc", wait_until="networkidle")
    await page.wait_for_selector("[data-section-id^='operation/']")
    sections = await page.eval_on_selector_all(
        "[data-section-id^='operation/']", "nodes => nodes.length"
    )
    await page.close()
    assert sections == len(expected)
    assert traffic.failed == []
    assert traffic.foreign == []
    assert traffic.errors == []


def _secured(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in _HTTP_METHODS and operation.get("security")
    }


async def _try_it_out(page: Page, method: str, path: str) -> str:
    """Expand one operation, press "Try it out" and "Execute"; the live response's status."""
    block = page.locator(
        f".opblock-{method.lower()}:has(.opblock-summary-path[data-path='{path}'])"
    ).first
    await block.locator(".opblock-summary").first.click()
    await block.locator(".try-out__btn").click()
    await block.locator(".execute").click()
    status = block.locator(".live-responses-table .response .response-col_status").first
    await status.wait_for()
    return (await status.inner_text()).strip()


async def test_try_it_out_authenticates_with_either_scheme(
    stack: Stack, browser: Browser, account: CreatedAccount
) -> None:
    spec = await _spec(stack)
    secured = _secured(spec)
    public = _operations(spec) - secured
    # Only health probes and the Exotel adapter (its edge token is in the path) are open.
    assert {path for _, path in public} <= {"/healthz", "/readyz", "/exotel/{edge_token}/stream"}
    page = await _new_page(browser)
    traffic = _Traffic(page, stack.gateway_url)
    sent: list[dict[str, str]] = []
    page.on("request", lambda request: sent.append(request.headers))
    await page.goto(f"{stack.gateway_url}/docs", wait_until="networkidle")
    await page.wait_for_selector(".opblock")
    locked = await page.eval_on_selector_all(
        ".opblock:has(.authorization__btn)",
        """blocks => blocks.map(block => [
            block.querySelector('.opblock-summary-method').textContent.trim(),
            block.querySelector('.opblock-summary [data-path]').getAttribute('data-path'),
        ])""",
    )
    assert {(method, path) for method, path in locked} == secured

    await page.locator("button.btn.authorize").first.click()
    for scheme in ("ApiKey", "Bearer"):
        container = page.locator(f".auth-container:has-text('{scheme}')").first
        await container.locator("input").first.fill(account.api_key)
        await container.locator("button.authorize").click()
    await page.locator("button.btn-done").first.click()

    assert await _try_it_out(page, "GET", "/api/v1/identities/") == "200"
    assert await _try_it_out(page, "GET", "/inbound/list") == "200"
    await page.close()
    api_calls = [h for h in sent if h.get("x-api-key") or h.get("authorization")]
    assert any(h.get("x-api-key") == account.api_key for h in api_calls)
    assert any(h.get("authorization") == f"Bearer {account.api_key}" for h in api_calls)
    assert traffic.failed == []
    assert traffic.foreign == []
    assert traffic.errors == []
