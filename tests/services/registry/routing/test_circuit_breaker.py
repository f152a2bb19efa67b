"""Webhook circuit breakers with an injected clock: K consecutive failures open, an open
circuit answers at once, one half-open probe at a time closes or reopens it (backing off),
stale results are ignored, memory is bounded, transitions are logged and counted."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import REGISTRY

from services.common.observability.logs import EVENT_ATTRIBUTE
from services.registry.routing.circuit_breaker import (
    BreakerSettings,
    CircuitBreakers,
    CircuitState,
    Permit,
    endpoint_label,
)
from tests.support.clock import ManualClock

URL = "https://hooks.example.com/incoming/secret-path?token=abc"
SETTINGS = BreakerSettings(
    failure_threshold=3, open_seconds=10, max_open_seconds=35, probe_timeout_seconds=5
)


def breakers(clock: ManualClock, settings: BreakerSettings = SETTINGS) -> CircuitBreakers:
    return CircuitBreakers(settings, clock=clock)


def fail(circuits: CircuitBreakers, endpoint: str = URL, times: int = 1) -> None:
    for _ in range(times):
        permit = circuits.allow(endpoint)
        assert permit is not None
        circuits.record(permit, success=False)


def transitions(from_state: str, to_state: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "switchboard_webhook_circuit_transitions_total",
            {"from_state": from_state, "to_state": to_state},
        )
        or 0
    )


def gauge() -> float:
    return REGISTRY.get_sample_value("switchboard_webhook_circuits_open") or 0


def short_circuits() -> float:
    return REGISTRY.get_sample_value("switchboard_webhook_circuit_short_circuits_total") or 0


def test_k_consecutive_failures_open_the_circuit_and_a_success_resets_the_count() -> None:
    circuits = breakers(ManualClock())
    fail(circuits, times=2)
    permit = circuits.allow(URL)
    assert permit is not None
    circuits.record(permit, success=True)
    fail(circuits, times=2)
    assert circuits.state(URL) is CircuitState.CLOSED
    fail(circuits)
    assert circuits.state(URL) is CircuitState.OPEN


def test_an_open_circuit_refuses_at_once_and_counts_it() -> None:
    clock = ManualClock()
    circuits = breakers(clock)
    fail(circuits, times=3)
    before = short_circuits()
    for _ in range(5):
        assert circuits.allow(URL) is None  # no await, no I/O: the fallback applies now
    assert short_circuits() == before + 5
    clock.now += 9.999
    assert circuits.allow(URL) is None
    # Other endpoints are not affected.
    assert circuits.allow("https://other.example.com/hook") is not None


def test_one_probe_at_a_time_and_its_success_closes_the_circuit() -> None:
    clock = ManualClock()
    circuits = breakers(clock)
    fail(circuits, times=3)
    clock.now += 10
    probe = circuits.allow(URL)
    assert probe is not None
    assert probe.probe
    assert circuits.state(URL) is CircuitState.HALF_OPEN
    assert circuits.allow(URL) is None  # a second caller while the probe runs
    circuits.record(probe, success=True)
    assert circuits.state(URL) is CircuitState.CLOSED
    permit = circuits.allow(URL)
    assert permit is not None
    assert not permit.probe


def test_a_failed_probe_reopens_with_a_doubled_cool_down_up_to_the_cap() -> None:
    clock = ManualClock()
    circuits = breakers(clock)
    fail(circuits, times=3)
    waits = []
    for _ in range(4):
        waited = 0.0
        while (probe := circuits.allow(URL)) is None:
            clock.now += 1
            waited += 1
        waits.append(waited)
        circuits.record(probe, success=False)
        assert circuits.state(URL) is CircuitState.OPEN
    assert waits == [10, 20, 35, 35]
    clock.now += 35
    probe = circuits.allow(URL)
    assert probe is not None
    circuits.record(probe, success=True)
    # Closed again, the next opening starts from the base cool-down.
    fail(circuits, times=3)
    clock.now += 10
    assert circuits.allow(URL) is not None


def test_a_probe_that_never_reports_is_replaced_after_the_probe_timeout() -> None:
    clock = ManualClock()
    circuits = breakers(clock)
    fail(circuits, times=3)
    clock.now += 10
    lost = circuits.allow(URL)
    assert lost is not None
    clock.now += 4.9
    assert circuits.allow(URL) is None
    clock.now += 0.1
    replacement = circuits.allow(URL)
    assert replacement is not None
    assert replacement.probe
    circuits.record(replacement, success=True)
    assert circuits.state(URL) is CircuitState.CLOSED


def test_an_abandoned_probe_lets_the_next_caller_probe_at_once() -> None:
    clock = ManualClock()
    circuits = breakers(clock)
    fail(circuits, times=3)
    clock.now += 10
    cancelled = circuits.allow(URL)
    assert cancelled is not None
    circuits.abandon(cancelled)
    assert circuits.state(URL) is CircuitState.HALF_OPEN
    assert circuits.allow(URL) is not None


def test_results_of_requests_let_through_before_a_transition_are_ignored() -> None:
    clock = ManualClock()
    circuits = breakers(clock)
    in_flight = [circuits.allow(URL) for _ in range(5)]
    assert all(permit is not None for permit in in_flight)
    permits: list[Permit] = [permit for permit in in_flight if permit is not None]
    for permit in permits[:3]:
        circuits.record(permit, success=False)
    assert circuits.state(URL) is CircuitState.OPEN
    # A slow request of the closed period answers fine now: it does not close the circuit.
    circuits.record(permits[3], success=True)
    assert circuits.state(URL) is CircuitState.OPEN
    clock.now += 10
    probe = circuits.allow(URL)
    assert probe is not None
    circuits.record(permits[4], success=False)  # stale again: the probe still decides
    assert circuits.state(URL) is CircuitState.HALF_OPEN
    circuits.record(probe, success=True)
    assert circuits.state(URL) is CircuitState.CLOSED
    circuits.record(probe, success=False)  # a second report of the same probe: stale
    assert circuits.state(URL) is CircuitState.CLOSED


def test_transitions_are_counted_and_the_open_gauge_follows() -> None:
    clock = ManualClock()
    circuits = breakers(clock)
    endpoint = "https://gauge.example.com/hook"
    opened, probing, closed = (
        transitions("closed", "open"),
        transitions("open", "half_open"),
        transitions("half_open", "closed"),
    )
    open_now = gauge()
    fail(circuits, endpoint, times=3)
    assert gauge() == open_now + 1
    clock.now += 10
    probe = circuits.allow(endpoint)
    assert probe is not None
    assert gauge() == open_now + 1  # half-open still counts
    circuits.record(probe, success=True)
    assert gauge() == open_now
    assert transitions("closed", "open") == opened + 1
    assert transitions("open", "half_open") == probing + 1
    assert transitions("half_open", "closed") == closed + 1


def test_transitions_are_logged_without_the_endpoints_path_or_query(
    caplog: pytest.LogCaptureFixture,
) -> None:
    circuits = breakers(ManualClock())
    with caplog.at_level(logging.INFO, logger="services.registry.routing.circuit_breaker"):
        fail(circuits, times=3)
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "webhook circuit closed -> open"
    fields = getattr(record, EVENT_ATTRIBUTE)
    assert fields["endpoint"] == endpoint_label(URL)
    assert fields["consecutive_failures"] == 3
    assert "secret-path" not in str(fields) and "token" not in str(fields)


def test_endpoint_labels_keep_the_origin_and_tell_urls_apart() -> None:
    label = endpoint_label(URL)
    assert label.startswith("https://hooks.example.com #")
    assert label != endpoint_label(URL.replace("abc", "abd"))
    assert endpoint_label("https://h.example.com:8443/x").startswith("https://h.example.com:8443 #")
    assert endpoint_label("http://[::1/x").startswith("(unparseable) #")


def test_memory_is_bounded_by_forgetting_the_least_recently_used_endpoint() -> None:
    clock = ManualClock()
    circuits = breakers(clock, BreakerSettings(failure_threshold=1, max_endpoints=3))
    open_now = gauge()
    fail(circuits, "https://a.example.com/")
    for name in ("b", "c"):
        assert circuits.allow(f"https://{name}.example.com/") is not None
    assert circuits.allow("https://a.example.com/") is None  # a is now the most recent
    assert circuits.allow("https://d.example.com/") is not None  # forgets b
    assert circuits.state("https://a.example.com/") is CircuitState.OPEN
    assert circuits.allow("https://e.example.com/") is not None  # forgets c
    assert circuits.allow("https://f.example.com/") is not None  # forgets a (open)
    assert circuits.state("https://a.example.com/") is CircuitState.CLOSED
    assert gauge() == open_now  # the forgotten open circuit left the gauge


@pytest.mark.parametrize(
    "settings",
    [
        {"failure_threshold": 0},
        {"open_seconds": 0},
        {"open_seconds": 400},
        {"probe_timeout_seconds": 0},
        {"max_endpoints": 0},
    ],
)
def test_unusable_settings_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        BreakerSettings(**settings)  # type: ignore[arg-type]
