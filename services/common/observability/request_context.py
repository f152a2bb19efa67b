"""The current request's id, W3C trace context and deadline, carried from process to process.

Each process opens one :class:`RequestContext` per incoming request (the gateway per HTTP
request, each gRPC server per RPC) and every call it makes downstream carries the request id
(``x-request-id``), a child ``traceparent`` and the caller's remaining time as its deadline.
"""

from __future__ import annotations

import contextvars
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

REQUEST_ID_HEADER: Final = "x-request-id"
TRACEPARENT_HEADER: Final = "traceparent"
MAX_REQUEST_ID_LENGTH: Final = 128
DEADLINE_RESERVE_SECONDS: Final = 0.25
"""Kept back from a capped outbound budget so the decision still reaches the caller in time."""

_REQUEST_ID: Final = re.compile(rf"^[A-Za-z0-9._:@/+=-]{{1,{MAX_REQUEST_ID_LENGTH}}}$")
_TRACEPARENT: Final = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_ZERO_TRACE: Final = "0" * 32
_ZERO_SPAN: Final = "0" * 16


@dataclass(slots=True)
class RequestContext:
    """One request as this process sees it; ``fields`` are added to its log lines."""

    request_id: str
    trace_id: str
    span_id: str
    parent_span_id: str | None = None
    trace_flags: str = "01"
    deadline: float | None = None
    """``time.monotonic()`` by which the caller wants the answer; None: no deadline."""
    fields: dict[str, str] = field(default_factory=dict)

    def remaining(self) -> float | None:
        """Seconds left before the caller's deadline (may be <= 0), None without one."""
        if self.deadline is None:
            return None
        return self.deadline - time.monotonic()

    @property
    def traceparent(self) -> str:
        """The ``traceparent`` a downstream call carries: this span as its parent."""
        return f"00-{self.trace_id}-{self.span_id}-{self.trace_flags}"


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "switchboard_request", default=None
)


def current() -> RequestContext | None:
    """The request being served by this task, if any."""
    return _current.get()


def activate(context: RequestContext) -> contextvars.Token[RequestContext | None]:
    """Make ``context`` current for this task; pass the token to :func:`deactivate`."""
    return _current.set(context)


def deactivate(token: contextvars.Token[RequestContext | None]) -> None:
    """Restore what was current before :func:`activate`."""
    _current.reset(token)


def new_request_id() -> str:
    """A fresh request id (32 hex characters)."""
    return secrets.token_hex(16)


def accepted_request_id(value: str | None) -> str | None:
    """``value`` when it is a usable request id (short, URL-safe characters), else None."""
    if value and _REQUEST_ID.match(value):
        return value
    return None


def begin(
    *, request_id: str | None, traceparent: str | None, timeout: float | None
) -> RequestContext:
    """A context for a new incoming request: ids taken over when valid, generated otherwise."""
    trace_id = secrets.token_hex(16)
    parent: str | None = None
    flags = "01"
    match = _TRACEPARENT.match(traceparent.strip().lower()) if traceparent else None
    if match and match[1] != "ff" and match[2] != _ZERO_TRACE and match[3] != _ZERO_SPAN:
        trace_id, parent, flags = match[2], match[3], match[4]
    return RequestContext(
        request_id=accepted_request_id(request_id) or new_request_id(),
        trace_id=trace_id,
        span_id=secrets.token_hex(8),
        parent_span_id=parent,
        trace_flags=flags,
        deadline=None if timeout is None else time.monotonic() + timeout,
    )


def from_metadata(
    metadata: Iterable[tuple[str, str | bytes]] | None, timeout: float | None
) -> RequestContext:
    """A context for an incoming RPC from its metadata and ``context.time_remaining()``."""
    request_id: str | None = None
    traceparent: str | None = None
    for key, value in metadata or ():
        if not isinstance(value, str):
            continue
        if key == REQUEST_ID_HEADER:
            request_id = value
        elif key == TRACEPARENT_HEADER:
            traceparent = value
    return begin(request_id=request_id, traceparent=traceparent, timeout=timeout)


def outgoing_metadata() -> tuple[tuple[str, str], ...]:
    """The request id and child ``traceparent`` every downstream call carries."""
    context = _current.get()
    if context is None:
        return ()
    return ((REQUEST_ID_HEADER, context.request_id), (TRACEPARENT_HEADER, context.traceparent))


def timeout_for(limit: float) -> float:
    """The deadline of a downstream call: ``limit``, or less if the caller has less time left."""
    context = _current.get()
    remaining = None if context is None else context.remaining()
    if remaining is None:
        return limit
    return max(min(limit, remaining), 0.001)


def capped_budget(budget: float) -> float:
    """An outbound (webhook, strategy) budget cut to the caller's remaining time, minus a reserve.

    Zero when the caller has no time left: the request then fails at once as a timeout and
    the decision (a fallback, a failed lookup) still reaches the caller before its deadline.
    """
    context = _current.get()
    remaining = None if context is None else context.remaining()
    if remaining is None:
        return budget
    return max(min(budget, remaining - DEADLINE_RESERVE_SECONDS), 0.0)


def annotate(**values: str) -> None:
    """Add ``values`` to the current request's log fields (e.g. ``call_id``)."""
    context = _current.get()
    if context is not None:
        context.fields.update(values)
