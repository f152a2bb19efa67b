"""The fail-open caller-context lookup of a mapping's inbound context strategy."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from services.common.budgets import STRATEGY_BUDGET
from services.common.observability import metrics, request_context
from services.common.urls import STRATEGY_SCHEMES
from services.registry.routing.outbound_http import (
    OutboundBlocked,
    OutboundError,
    OutboundHttp,
    OutboundTimeout,
    OutboundTooLarge,
)


class ContextStatus(Enum):
    """Outcome of a lookup (mirrors ``ContextLookupStatus``)."""

    NOT_CONFIGURED = "not_configured"
    NOT_LOOKED_UP = "not_looked_up"
    OK = "ok"
    TIMEOUT = "timeout"
    HTTP_ERROR = "http_error"
    INVALID_RESPONSE = "invalid_response"
    BLOCKED_ADDRESS = "blocked_address"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class StrategyRef:
    """The strategy attached to the matched mapping, as read with it."""

    id: str
    name: str
    strategy_type: str
    config: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class CallerContextResult:
    """What the lookup produced: variables when OK, otherwise why not."""

    status: ContextStatus
    variables: dict[str, Any] | None = None
    error: str | None = None
    strategy_id: str | None = None
    elapsed_seconds: float | None = None
    """How long the lookup took; None when none was made."""


NOT_CONFIGURED: Final = CallerContextResult(ContextStatus.NOT_CONFIGURED)


def budget_seconds(config: Mapping[str, Any]) -> float:
    """The strategy's ``timeout_seconds`` clamped to :data:`STRATEGY_BUDGET` (its default
    when unusable)."""
    value = config.get("timeout_seconds")
    if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
        return STRATEGY_BUDGET.default
    return STRATEGY_BUDGET.clamped(float(value))


async def look_up(
    http: OutboundHttp,
    strategy: StrategyRef,
    *,
    assistant_id: str,
    assistant_name: str,
    service: str,
    inbound_id: str,
    caller_number: str,
    inbound_number: str,
) -> CallerContextResult:
    """One POST (no retries) within the strategy's budget; never raises.

    The status and duration are counted in the context-lookup metrics and kept in the result.
    """
    started = time.perf_counter()
    result = await _look_up(
        http,
        strategy,
        assistant_id=assistant_id,
        assistant_name=assistant_name,
        service=service,
        inbound_id=inbound_id,
        caller_number=caller_number,
        inbound_number=inbound_number,
    )
    elapsed = time.perf_counter() - started
    metrics.CONTEXT_LOOKUPS.labels(status=result.status.value).inc()
    metrics.CONTEXT_DURATION.observe(elapsed)
    return dataclasses.replace(result, elapsed_seconds=elapsed)


async def _look_up(
    http: OutboundHttp,
    strategy: StrategyRef,
    *,
    assistant_id: str,
    assistant_name: str,
    service: str,
    inbound_id: str,
    caller_number: str,
    inbound_number: str,
) -> CallerContextResult:
    body = json.dumps(
        {
            "assistant_id": assistant_id,
            "assistant_name": assistant_name,
            "strategy_id": strategy.id,
            "strategy_name": strategy.name,
            "strategy_type": strategy.strategy_type,
            "call_type": "inbound",
            "service": service,
            "inbound_id": inbound_id,
            "caller_number": caller_number,
            "inbound_number": inbound_number,
        },
        separators=(",", ":"),
    ).encode()
    configured = strategy.config.get("headers") or {}
    headers = {
        str(name): str(value) for name, value in configured.items() if isinstance(value, str)
    }
    url = strategy.config.get("url")
    if not isinstance(url, str):
        return _failed(strategy, ContextStatus.ERROR, "strategy has no URL")
    try:
        response = await http.post_json(
            url,
            body,
            headers=headers,
            budget=request_context.capped_budget(budget_seconds(strategy.config)),
            schemes=STRATEGY_SCHEMES,
        )
    except OutboundTimeout as error:
        return _failed(strategy, ContextStatus.TIMEOUT, error.message)
    except OutboundBlocked as error:
        return _failed(strategy, ContextStatus.BLOCKED_ADDRESS, error.message)
    except OutboundTooLarge as error:
        return _failed(strategy, ContextStatus.INVALID_RESPONSE, error.message)
    except OutboundError as error:
        return _failed(strategy, ContextStatus.ERROR, error.message)
    if not 200 <= response.status_code < 300:
        return _failed(
            strategy, ContextStatus.HTTP_ERROR, f"lookup answered HTTP {response.status_code}"
        )
    try:
        variables = json.loads(response.content)
    except ValueError:
        return _failed(strategy, ContextStatus.INVALID_RESPONSE, "lookup answer is not JSON")
    if not isinstance(variables, dict):
        return _failed(
            strategy, ContextStatus.INVALID_RESPONSE, "lookup answer is not a JSON object"
        )
    return CallerContextResult(ContextStatus.OK, variables=variables, strategy_id=strategy.id)


def _failed(strategy: StrategyRef, status: ContextStatus, error: str) -> CallerContextResult:
    return CallerContextResult(status, error=error, strategy_id=strategy.id)
