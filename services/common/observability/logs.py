"""JSON log lines: one object per line, with the current request's ids and secrets redacted."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable, Mapping
from typing import Any, Final

import orjson

from services.common.credential_formats import API_KEY_PREFIX, SIGNING_SECRET_PREFIX
from services.common.observability import request_context

EVENT_ATTRIBUTE: Final = "event_fields"
"""``logging`` ``extra`` key whose dict of fields is merged into the line."""

_SECRET_PATTERNS: Final = re.compile(
    rf"\b({re.escape(API_KEY_PREFIX)}|{re.escape(SIGNING_SECRET_PREFIX)})[A-Za-z0-9_\-]{{6,}}"
)
"""Shapes of Switchboard API keys and webhook signing secrets, masked wherever they appear."""
_SECRET_PREFIXES: Final = ("sb_", "whsec_")
"""The literal starts of :data:`_SECRET_PATTERNS` (a line without them has nothing to mask)."""
_MIN_REDACTED_LENGTH: Final = 8
_MASK: Final = "****"
_PARAMETER_LOGGERS: Final = ("sqlalchemy", "aiosqlite", "asyncpg", "httpx", "httpcore", "hpack")
"""Libraries whose DEBUG/INFO records carry SQL parameters, URLs or headers (secrets among
them): never below WARNING, whatever ``SWITCHBOARD_LOG_LEVEL`` says."""


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "process", process fields..., "logger", "message", request ids...,
    fields...}``.

    ``process_fields`` are the same on every line of this process (a gateway worker's
    ``worker`` and ``pid``). Every configured secret value and anything shaped like an API
    key or a signing secret is replaced by ``****`` in the finished line, whatever field it
    ended up in.
    """

    def __init__(
        self,
        process: str,
        secrets: Iterable[str] = (),
        process_fields: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self._process = process
        self._process_fields = dict(process_fields or {})
        values = sorted(
            {value for value in secrets if len(value) >= _MIN_REDACTED_LENGTH},
            key=len,
            reverse=True,
        )
        self._secret_values = tuple(values)
        self._secrets = (
            re.compile("|".join(re.escape(value) for value in values)) if values else None
        )

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "process": self._process,
            **self._process_fields,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = request_context.current()
        if context is not None:
            line["request_id"] = context.request_id
            line["trace_id"] = context.trace_id
            line["span_id"] = context.span_id
            line.update(context.fields)
        fields = getattr(record, EVENT_ATTRIBUTE, None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return self.redact(_json_text(line))

    def redact(self, text: str) -> str:
        """``text`` with every secret masked."""
        # The substring tests are what a match needs first; most lines hold no secret, and
        # they skip the regular expressions' scan of the whole line.
        if self._secrets is not None and any(value in text for value in self._secret_values):
            text = self._secrets.sub(_MASK, text)
        if any(prefix in text for prefix in _SECRET_PREFIXES):
            text = _SECRET_PATTERNS.sub(lambda match: match.group(1) + _MASK, text)
        return text


def _json_text(line: dict[str, Any]) -> str:
    try:
        return orjson.dumps(line, default=str).decode()
    except (orjson.JSONEncodeError, TypeError):
        # What orjson refuses (keys that are not strings, integers beyond 64 bits).
        return json.dumps(line, default=str, ensure_ascii=False)


def _timestamp(created: float) -> str:
    whole = int(created)
    seconds = _SECOND_TEXT.get(whole)
    if seconds is None:
        seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        _SECOND_TEXT.clear()  # lines come in time order: only the current second is kept
        _SECOND_TEXT[whole] = seconds
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


_SECOND_TEXT: dict[int, str] = {}


def configure(
    process: str,
    level: str,
    secrets: Iterable[str | None] = (),
    process_fields: Mapping[str, Any] | None = None,
) -> None:
    """Send every log record of this process to stderr as JSON lines (replaces other handlers);
    ``process_fields`` go into every line."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(process, [value for value in secrets if value], process_fields)
    )
    _skip_unused_record_attributes()
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Alembic announces each of its plugins at INFO; only its migration steps are news.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    for name in _PARAMETER_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True


def _skip_unused_record_attributes() -> None:
    # A line holds none of the caller's file and line, thread or process: collecting them
    # was a fifth of the cost of a request's log line. The switches are logging's own
    # (its "Optimization" how-to); ``_srcfile = None`` is how it documents turning off the
    # caller lookup.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None


def event(logger: logging.Logger, message: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``message`` with ``fields`` as top-level keys of the JSON line."""
    if logger.isEnabledFor(level):
        logger.log(level, message, extra={EVENT_ATTRIBUTE: fields})
