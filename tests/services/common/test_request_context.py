"""Request ids, W3C traceparent handling and deadline arithmetic of the request context."""

from __future__ import annotations

import re
import time

from services.common.observability import request_context
from services.common.rpc.options import CLIENT_OPTIONS, SERVER_OPTIONS

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


def test_a_valid_traceparent_keeps_the_trace_and_becomes_the_parent() -> None:
    context = request_context.begin(
        request_id="abc-1", traceparent=f"00-{TRACE}-{PARENT}-01", timeout=None
    )
    assert context.request_id == "abc-1"
    assert context.trace_id == TRACE
    assert context.parent_span_id == PARENT
    assert re.fullmatch(r"[0-9a-f]{16}", context.span_id) and context.span_id != PARENT
    assert context.traceparent == f"00-{TRACE}-{context.span_id}-01"


def test_invalid_ids_are_replaced_by_generated_ones() -> None:
    for bad in (
        "garbage",
        f"00-{'0' * 32}-{PARENT}-01",
        f"00-{TRACE}-{'0' * 16}-01",
        f"ff-{TRACE}-{PARENT}-01",
    ):
        context = request_context.begin(request_id=None, traceparent=bad, timeout=None)
        assert context.trace_id != TRACE and context.parent_span_id is None
        assert re.fullmatch(r"[0-9a-f]{32}", context.trace_id)
    for bad_id in ("", "a b", "x" * 129, "é", "a\nb"):
        context = request_context.begin(request_id=bad_id, traceparent=None, timeout=None)
        assert re.fullmatch(r"[0-9a-f]{32}", context.request_id)


def test_outgoing_metadata_carries_the_id_and_a_child_traceparent() -> None:
    assert request_context.outgoing_metadata() == ()
    context = request_context.begin(request_id="r-1", traceparent=None, timeout=None)
    token = request_context.activate(context)
    try:
        assert dict(request_context.outgoing_metadata()) == {
            "x-request-id": "r-1",
            "traceparent": context.traceparent,
        }
    finally:
        request_context.deactivate(token)
    assert request_context.current() is None


def test_downstream_time_is_the_smaller_of_the_limit_and_what_is_left() -> None:
    assert request_context.timeout_for(2.0) == 2.0
    assert request_context.capped_budget(10.0) == 10.0
    token = request_context.activate(
        request_context.begin(request_id=None, traceparent=None, timeout=3.0)
    )
    try:
        assert 2.5 < request_context.timeout_for(30.0) <= 3.0
        assert request_context.timeout_for(1.0) == 1.0
        budget = request_context.capped_budget(10.0)
        assert 2.4 < budget <= 3.0 - request_context.DEADLINE_RESERVE_SECONDS
        assert request_context.capped_budget(0.5) == 0.5
    finally:
        request_context.deactivate(token)
    expired = request_context.begin(request_id=None, traceparent=None, timeout=0.0)
    expired.deadline = time.monotonic() - 1
    token = request_context.activate(expired)
    try:
        assert request_context.capped_budget(5.0) == 0.0
        assert 0 < request_context.timeout_for(5.0) <= 0.001
    finally:
        request_context.deactivate(token)


def test_keepalive_settings_agree_on_both_sides() -> None:
    client, server = dict(CLIENT_OPTIONS), dict(SERVER_OPTIONS)
    # The server accepts pings at least as often as clients send them, with or without calls.
    assert (
        server["grpc.http2.min_recv_ping_interval_without_data_ms"]
        <= (client["grpc.keepalive_time_ms"])
    )
    assert client["grpc.keepalive_permit_without_calls"] == 1
    assert server["grpc.keepalive_permit_without_calls"] == 1
    assert client["grpc.keepalive_timeout_ms"] == server["grpc.keepalive_timeout_ms"]
