"""JSON log lines: request ids from the context, event fields, secrets masked."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from services.common.observability import logs, request_context


def record(message: str, **fields: object) -> logging.LogRecord:
    made = logging.LogRecord("switchboard.test", logging.INFO, __file__, 1, message, (), None)
    setattr(made, logs.EVENT_ATTRIBUTE, fields)
    return made


def test_a_line_carries_the_request_ids_and_the_event_fields() -> None:
    formatter = logs.JsonFormatter("registry")
    context = request_context.begin(request_id="req-7", traceparent=None, timeout=None)
    token = request_context.activate(context)
    request_context.annotate(call_id="call-9")
    try:
        line = json.loads(formatter.format(record("rpc", code="OK", duration_ms=1.5)))
    finally:
        request_context.deactivate(token)
    assert line["process"] == "registry" and line["message"] == "rpc"
    assert line["request_id"] == "req-7" and line["call_id"] == "call-9"
    assert line["trace_id"] == context.trace_id and line["span_id"] == context.span_id
    assert line["code"] == "OK" and line["duration_ms"] == 1.5
    assert line["level"] == "info" and line["ts"].endswith("Z")


def test_configured_secrets_and_key_shapes_are_masked_wherever_they_appear() -> None:
    formatter = logs.JsonFormatter("gateway", ["edge-token-0123456789", "short"])
    text = formatter.format(
        record(
            "token edge-token-0123456789 key sb_abcdefGHIJ0123 secret whsec_c2VjcmV0LWtleQ",
            path="/exotel/edge-token-0123456789/stream",
        )
    )
    assert "edge-token-0123456789" not in text
    assert "sb_abcdefGHIJ0123" not in text and "whsec_c2VjcmV0LWtleQ" not in text
    line = json.loads(text)
    assert line["path"] == "/exotel/****/stream"
    assert "sb_****" in line["message"] and "whsec_****" in line["message"]
    assert "short" in formatter.format(record("short values are not treated as secrets"))


def test_lines_without_secrets_pass_unchanged_and_timestamps_keep_their_second() -> None:
    formatter = logs.JsonFormatter("registry", ["edge-token-0123456789"])
    plain = '{"message": "rpc", "rpc": "/switchboard.registry.v1.CallRoutingService/RouteCall"}'
    assert formatter.redact(plain) == plain
    assert formatter.redact("nosb_abcdefGHIJ0123") == "nosb_abcdefGHIJ0123"  # not at a word start
    stamps = [
        logs._timestamp(at) for at in (1_796_578_776.4495, 1_796_578_776.999, 1_796_578_777.0)
    ]
    assert stamps == [
        "2026-12-06T17:39:36.449Z",
        "2026-12-06T17:39:36.999Z",
        "2026-12-06T17:39:37.000Z",
    ]


def test_any_field_value_still_makes_one_json_line_with_secrets_masked() -> None:
    formatter = logs.JsonFormatter("registry", ["edge-token-0123456789"])
    unusual = {
        "at": datetime(2026, 12, 7, 3, 0, tzinfo=UTC),
        "huge": 2**70,  # beyond what orjson encodes: the standard encoder takes the line
        "by_number": {1: "edge-token-0123456789"},  # a key that is not a string, likewise
        "opaque": object(),
        "text": "ünïcode sb_abcdefGHIJ0123",
    }
    for name, value in unusual.items():
        text = formatter.format(record("event", **{name: value}))
        assert "\n" not in text
        line = json.loads(text)
        assert line["message"] == "event" and name in line
        assert "edge-token-0123456789" not in text and "sb_abcdefGHIJ0123" not in text
    assert json.loads(formatter.format(record("e", huge=2**70)))["huge"] == 2**70
    assert json.loads(formatter.format(record("e", text="ünïcode")))["text"] == "ünïcode"


def test_configuring_turns_off_the_record_attributes_no_line_uses() -> None:
    saved = (logging.logThreads, logging.logProcesses, logging.logMultiprocessing)
    saved_srcfile = logging._srcfile
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        logs.configure("registry", "INFO")
        assert not (logging.logThreads or logging.logProcesses or logging.logMultiprocessing)
        assert logging._srcfile is None
    finally:
        logging.logThreads, logging.logProcesses, logging.logMultiprocessing = saved
        logging._srcfile = saved_srcfile
        root.handlers[:] = handlers
        root.setLevel(level)
