"""The call-target cache: single flight, refresh ahead, errors and the TTL bound (fake clock)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from services.common.errors import Unavailable
from services.registry.call_target import CallTarget, Identity
from services.registry.config_client import ConfigClient
from services.registry.routing.call_targets import CallTargetCache
from tests.support.clock import ManualClock

TTL = 4.0


class FakeConfig:
    """``resolve_call_target`` answering ``version``-named targets, optionally held or failing."""

    def __init__(self) -> None:
        self.calls = 0
        self.version = "v1"
        self.gate: asyncio.Event | None = None
        self.error: Exception | None = None

    async def resolve_call_target(self, identity_id: str) -> CallTarget | None:
        self.calls += 1
        version = self.version
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        return CallTarget(
            Identity(id=identity_id, account_id="a", agent_handle="h", display_name=version)
        )


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    fake = ManualClock()
    monkeypatch.setattr("services.registry.routing.call_targets.monotonic", fake)
    return fake


def cache_of(config: FakeConfig, ttl: float = TTL) -> CallTargetCache:
    return CallTargetCache(cast(ConfigClient, config), ttl)


def name(target: Any) -> str:
    assert target is not None
    return str(target.identity.display_name)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_concurrent_misses_share_one_request(clock: ManualClock) -> None:
    config = FakeConfig()
    config.gate = asyncio.Event()
    cache = cache_of(config)
    waiters = [asyncio.create_task(cache.get("a")) for _ in range(50)]
    await settle()
    config.gate.set()
    targets = await asyncio.gather(*waiters)
    assert config.calls == 1
    assert {name(target) for target in targets} == {"v1"}


async def test_a_cancelled_waiter_does_not_cancel_the_shared_request(clock: ManualClock) -> None:
    config = FakeConfig()
    config.gate = asyncio.Event()
    cache = cache_of(config)
    first, second = (asyncio.create_task(cache.get("a")) for _ in range(2))
    await settle()
    first.cancel()
    config.gate.set()
    assert name(await second) == "v1"
    assert first.cancelled()
    assert config.calls == 1


async def test_errors_reach_every_waiter_and_are_not_cached(clock: ManualClock) -> None:
    config = FakeConfig()
    config.gate = asyncio.Event()
    config.error = Unavailable("config down")
    cache = cache_of(config)
    waiters = [asyncio.create_task(cache.get("a")) for _ in range(3)]
    await settle()
    config.gate.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(result, Unavailable) for result in results)
    config.error = None
    assert name(await cache.get("a")) == "v1"
    assert config.calls == 2


async def test_no_answer_is_served_after_the_ttl_even_when_refreshed_ahead(
    clock: ManualClock,
) -> None:
    config = FakeConfig()
    cache = cache_of(config)
    assert name(await cache.get("a")) == "v1"  # asked at t0: valid until t0 + TTL
    config.version = "v2"
    clock.now += TTL * 0.5
    assert name(await cache.get("a")) == "v1"
    assert config.calls == 1  # not yet in the refresh window

    # In the last quarter a hit refreshes in the background; while that request is out,
    # the old answer is served only until its own deadline.
    config.gate = asyncio.Event()
    clock.now += TTL * 0.3
    assert name(await cache.get("a")) == "v1"
    await settle()
    assert config.calls == 2
    clock.now += TTL * 0.2  # t0 + TTL: the old answer has expired
    late = asyncio.create_task(cache.get("a"))
    await settle()
    assert not late.done()  # waits for the refresh instead of serving a stale answer
    config.gate.set()
    assert name(await late) == "v2"
    assert config.calls == 2  # joined the refresh already in flight


async def test_a_failed_background_refresh_leaves_the_entry_to_expire(clock: ManualClock) -> None:
    config = FakeConfig()
    cache = cache_of(config)
    await cache.get("a")
    config.error = Unavailable("config down")
    clock.now += TTL * 0.9
    assert name(await cache.get("a")) == "v1"
    await settle()
    clock.now += TTL * 0.2
    with pytest.raises(Unavailable):
        await cache.get("a")


async def test_ttl_zero_asks_config_every_time(clock: ManualClock) -> None:
    config = FakeConfig()
    cache = cache_of(config, ttl=0)
    for _ in range(3):
        await cache.get("a")
    assert config.calls == 3
