"""Hedging: the p95 tracker's delay (clamped, defaulted, bounded in memory) and the race
between a primary and a secondary, driven by events so that every outcome is deterministic."""

from __future__ import annotations

import asyncio

import pytest

from services.registry.routing.hedging import HedgeSettings, LatencyTracker, hedged

ENDPOINT = "https://hooks.example.com/incoming"
NEVER = 3600.0


def test_p95_is_the_nearest_rank_of_the_recent_window() -> None:
    tracker = LatencyTracker(HedgeSettings(window=20, min_samples=10))
    for index in range(1, 10):
        tracker.observe(ENDPOINT, index / 100)
    assert tracker.p95(ENDPOINT) is None  # 9 samples: too few
    tracker.observe(ENDPOINT, 0.10)
    assert tracker.p95(ENDPOINT) == pytest.approx(0.10)
    for _ in range(20):
        tracker.observe(ENDPOINT, 0.2)
    tracker.observe(ENDPOINT, 3.0)  # one outlier in a window of 20 is the p95 rank's 20th
    assert tracker.p95(ENDPOINT) == pytest.approx(0.2)
    tracker.observe(ENDPOINT, 3.0)
    assert tracker.p95(ENDPOINT) == pytest.approx(3.0)
    assert tracker.p95("https://unknown.example.com") is None


def test_the_hedge_delay_is_the_p95_clamped_to_the_budget_and_a_floor() -> None:
    settings = HedgeSettings(min_samples=3, min_delay=0.05, max_fraction=0.8, default_fraction=0.5)
    tracker = LatencyTracker(settings)
    assert tracker.hedge_delay(ENDPOINT, budget=4.0) == 2.0  # no history: half the budget
    for seconds in (0.3, 0.3, 0.3):
        tracker.observe(ENDPOINT, seconds)
    assert tracker.hedge_delay(ENDPOINT, budget=4.0) == pytest.approx(0.3)
    fast = "https://fast.example.com"
    for _ in range(3):
        tracker.observe(fast, 0.001)
    assert tracker.hedge_delay(fast, budget=4.0) == 0.05
    slow = "https://slow.example.com"
    for _ in range(3):
        tracker.observe(slow, 9.0)
    assert tracker.hedge_delay(slow, budget=4.0) == pytest.approx(3.2)


def test_the_tracker_forgets_the_least_recently_used_endpoint() -> None:
    tracker = LatencyTracker(HedgeSettings(min_samples=1, window=4, max_endpoints=2))
    tracker.observe("a", 0.1)
    tracker.observe("b", 0.2)
    tracker.observe("a", 0.1)
    tracker.observe("c", 0.3)  # forgets b
    assert tracker.p95("b") is None
    assert tracker.p95("a") == pytest.approx(0.1)
    assert tracker.p95("c") == pytest.approx(0.3)


@pytest.mark.parametrize(
    "settings",
    [
        {"min_samples": 0},
        {"min_samples": 65},
        {"default_fraction": 0},
        {"max_fraction": 1.5},
        {"min_delay": -1},
        {"max_endpoints": 0},
    ],
)
def test_unusable_hedge_settings_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        HedgeSettings(**settings)  # type: ignore[arg-type]


class Request:
    """A fake webhook request: answers ``result`` once ``release`` is set."""

    def __init__(self, result: str) -> None:
        self.result = result
        self.release = asyncio.Event()
        self.started = asyncio.Event()
        self.cancelled = False

    async def __call__(self) -> str:
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return self.result


def ok(result: str) -> bool:
    return result.startswith("ok")


async def test_a_primary_answering_within_the_delay_never_asks_the_secondary() -> None:
    primary, secondary = Request("ok-primary"), Request("ok-secondary")
    primary.release.set()
    outcome = await hedged(primary, secondary, delay=NEVER, succeeded=ok)
    assert (outcome.result, outcome.winner, outcome.secondary_asked) == (
        "ok-primary",
        "primary",
        False,
    )
    assert not secondary.started.is_set()


async def test_a_slow_primary_is_hedged_and_the_secondary_can_win() -> None:
    primary, secondary = Request("ok-primary"), Request("ok-secondary")
    secondary.release.set()
    outcome = await hedged(primary, secondary, delay=0, succeeded=ok)
    assert (outcome.result, outcome.winner, outcome.secondary_asked) == (
        "ok-secondary",
        "secondary",
        True,
    )
    assert primary.cancelled  # the loser is cancelled, not left running


async def test_after_hedging_the_primary_can_still_win() -> None:
    primary, secondary = Request("ok-primary"), Request("ok-secondary")
    race = asyncio.create_task(hedged(primary, secondary, delay=0, succeeded=ok))
    await secondary.started.wait()
    primary.release.set()
    outcome = await race
    assert (outcome.winner, outcome.secondary_asked) == ("primary", True)
    assert secondary.cancelled


async def test_a_failing_primary_fails_over_to_the_secondary_at_once() -> None:
    primary, secondary = Request("failed"), Request("ok-secondary")
    primary.release.set()
    secondary.release.set()
    outcome = await hedged(primary, secondary, delay=NEVER, succeeded=ok)
    assert (outcome.result, outcome.winner) == ("ok-secondary", "secondary")


async def test_a_failed_secondary_leaves_the_race_to_the_primary() -> None:
    primary, secondary = Request("ok-primary"), Request("failed-secondary")
    race = asyncio.create_task(hedged(primary, secondary, delay=0, succeeded=ok))
    await secondary.started.wait()
    secondary.release.set()
    await asyncio.sleep(0)
    assert not race.done()
    primary.release.set()
    outcome = await race
    assert (outcome.result, outcome.winner) == ("ok-primary", "primary")


async def test_when_both_fail_the_primarys_failure_is_returned() -> None:
    primary, secondary = Request("failed-primary"), Request("failed-secondary")
    primary.release.set()
    secondary.release.set()
    outcome = await hedged(primary, secondary, delay=0, succeeded=ok)
    assert (outcome.result, outcome.winner, outcome.secondary_asked) == (
        "failed-primary",
        "primary",
        True,
    )


async def test_without_a_secondary_the_primary_is_simply_awaited() -> None:
    primary = Request("failed")
    primary.release.set()
    outcome = await hedged(primary, None, delay=0, succeeded=ok)
    assert (outcome.result, outcome.secondary_asked) == ("failed", False)


async def test_cancelling_the_race_cancels_both_requests() -> None:
    primary, secondary = Request("ok-primary"), Request("ok-secondary")
    race = asyncio.create_task(hedged(primary, secondary, delay=0, succeeded=ok))
    await secondary.started.wait()
    race.cancel()
    with pytest.raises(asyncio.CancelledError):
        await race
    assert primary.cancelled and secondary.cancelled


async def test_an_exception_propagates_after_the_other_request_is_cancelled() -> None:
    secondary = Request("ok-secondary")

    async def broken() -> str:
        await secondary.started.wait()
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        await hedged(broken, secondary, delay=0, succeeded=ok)
    assert secondary.cancelled
