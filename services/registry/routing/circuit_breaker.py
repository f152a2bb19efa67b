"""Per-endpoint circuit breakers for the customer's webhooks (this replica's view, bounded).

CLOSED: every request is let through; ``failure_threshold`` consecutive failures (non-2xx,
bad answer, timeout, connection error) open the circuit. OPEN: :meth:`allow` answers None
at once, an in-memory check of microseconds, so the caller applies its fallback well within
the 50 ms the edge can spare instead of waiting out the webhook budget. After the cool-down
the next request is let through as the single HALF_OPEN *probe* (others still get None): its
success closes the circuit, its failure reopens it with the cool-down doubled (up to
``max_open_seconds``). A probe that never reports (its task was cancelled without
:meth:`abandon`) is given up after ``probe_timeout_seconds`` and another is let through.

Each transition starts a new *generation*: a result reported for a permit of an earlier
generation (a slow request that was in flight when the circuit opened) changes nothing.

State is per replica and per endpoint URL, at most ``max_endpoints`` of them (least
recently used forgotten first). Transitions are logged (the endpoint by origin and a short
hash, never its path or query, which may carry a secret) and counted in
``switchboard_webhook_circuit_transitions_total``; short-circuited requests in
``switchboard_webhook_circuit_short_circuits_total``; ``switchboard_webhook_circuits_open``
is the number of endpoints not CLOSED.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Final
from urllib.parse import urlsplit

from services.common.observability import metrics
from services.common.observability.logs import EVENT_ATTRIBUTE

_log = logging.getLogger(__name__)

Clock = Callable[[], float]
"""Monotonic seconds."""


class CircuitState(Enum):
    """Where an endpoint's circuit stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerSettings:
    """How eagerly circuits open and how they recover."""

    failure_threshold: int = 5
    open_seconds: float = 30.0
    max_open_seconds: float = 300.0
    probe_timeout_seconds: float = 15.0
    max_endpoints: int = 10_000

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.max_endpoints < 1:
            raise ValueError("failure_threshold and max_endpoints must be at least 1")
        if not 0 < self.open_seconds <= self.max_open_seconds:
            raise ValueError("open_seconds must be positive and at most max_open_seconds")
        if self.probe_timeout_seconds <= 0:
            raise ValueError("probe_timeout_seconds must be positive")


@dataclass(frozen=True, slots=True)
class Permit:
    """Leave to send one request; report it with ``record`` (or ``abandon``)."""

    endpoint: str
    generation: int
    probe: bool


@dataclass(slots=True)
class _Circuit:
    state: CircuitState = CircuitState.CLOSED
    generation: int = 0
    failures: int = 0
    open_seconds: float = 0.0
    opened_at: float = 0.0
    probe_started_at: float | None = None


class CircuitBreakers:
    """The circuits of every webhook endpoint this replica calls."""

    def __init__(self, settings: BreakerSettings | None = None, *, clock: Clock = time.monotonic):
        self._settings = settings or BreakerSettings()
        self._clock = clock
        self._circuits: OrderedDict[str, _Circuit] = OrderedDict()

    def state(self, endpoint: str) -> CircuitState:
        """The endpoint's state now (CLOSED when never seen or forgotten)."""
        circuit = self._circuits.get(endpoint)
        return CircuitState.CLOSED if circuit is None else circuit.state

    def allow(self, endpoint: str) -> Permit | None:
        """A permit to call ``endpoint``, or None: its circuit is open, apply the fallback."""
        circuit = self._circuit(endpoint)
        now = self._clock()
        if circuit.state is CircuitState.CLOSED:
            return Permit(endpoint, circuit.generation, probe=False)
        if circuit.state is CircuitState.OPEN and now - circuit.opened_at >= circuit.open_seconds:
            self._move(endpoint, circuit, CircuitState.HALF_OPEN)
            circuit.probe_started_at = now
            return Permit(endpoint, circuit.generation, probe=True)
        if circuit.state is CircuitState.HALF_OPEN and (
            circuit.probe_started_at is None
            or now - circuit.probe_started_at >= self._settings.probe_timeout_seconds
        ):
            circuit.probe_started_at = now  # the last probe was abandoned or never reported
            return Permit(endpoint, circuit.generation, probe=True)
        metrics.WEBHOOK_CIRCUIT_SHORT_CIRCUITS.inc()
        return None

    def record(self, permit: Permit, *, success: bool) -> None:
        """Report how the permitted request went."""
        circuit = self._circuits.get(permit.endpoint)
        if circuit is None or circuit.generation != permit.generation:
            return
        if success:
            circuit.failures = 0
            if circuit.state is not CircuitState.CLOSED:
                circuit.open_seconds = 0.0
                self._move(permit.endpoint, circuit, CircuitState.CLOSED)
            return
        circuit.failures += 1
        if circuit.state is CircuitState.HALF_OPEN:
            self._open(
                permit.endpoint,
                circuit,
                min(circuit.open_seconds * 2, self._settings.max_open_seconds),
            )
        elif circuit.failures >= self._settings.failure_threshold:
            self._open(permit.endpoint, circuit, self._settings.open_seconds)

    def abandon(self, permit: Permit) -> None:
        """The permitted request ended without a verdict (cancelled): let another probe in."""
        circuit = self._circuits.get(permit.endpoint)
        if permit.probe and circuit is not None and circuit.generation == permit.generation:
            circuit.probe_started_at = None

    def _circuit(self, endpoint: str) -> _Circuit:
        circuit = self._circuits.get(endpoint)
        if circuit is None:
            circuit = self._circuits[endpoint] = _Circuit()
            while len(self._circuits) > self._settings.max_endpoints:
                _, forgotten = self._circuits.popitem(last=False)
                if forgotten.state is not CircuitState.CLOSED:
                    metrics.WEBHOOK_CIRCUITS_OPEN.dec()
        else:
            self._circuits.move_to_end(endpoint)
        return circuit

    def _open(self, endpoint: str, circuit: _Circuit, seconds: float) -> None:
        circuit.open_seconds = seconds
        circuit.opened_at = self._clock()
        circuit.probe_started_at = None
        self._move(endpoint, circuit, CircuitState.OPEN)

    def _move(self, endpoint: str, circuit: _Circuit, state: CircuitState) -> None:
        previous = circuit.state
        circuit.state = state
        circuit.generation += 1
        if previous is CircuitState.CLOSED:
            metrics.WEBHOOK_CIRCUITS_OPEN.inc()
        elif state is CircuitState.CLOSED:
            metrics.WEBHOOK_CIRCUITS_OPEN.dec()
        metrics.WEBHOOK_CIRCUIT_TRANSITIONS.labels(
            from_state=previous.value, to_state=state.value
        ).inc()
        fields = {
            "endpoint": endpoint_label(endpoint),
            "from_state": previous.value,
            "to_state": state.value,
            "consecutive_failures": circuit.failures,
            "open_seconds": circuit.open_seconds,
        }
        level = logging.WARNING if state is CircuitState.OPEN else logging.INFO
        _log.log(
            level,
            "webhook circuit %s -> %s",
            previous.value,
            state.value,
            extra={EVENT_ATTRIBUTE: fields},
        )


_HASH_LENGTH: Final = 12


def endpoint_label(url: str) -> str:
    """``scheme://host[:port] #<hash>``: tells endpoints apart without their path or query."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:_HASH_LENGTH]
    try:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.hostname or ''}"
        if parts.port is not None:
            origin += f":{parts.port}"
    except ValueError:
        origin = "(unparseable)"
    return f"{origin} #{digest}"
