"""Asking an identity's webhook endpoints: circuit breaker first, then a hedged race.

:class:`WebhookEndpoints` is the routing decision's one way to ask the customer's app. Each
endpoint (the primary ``incoming_call_webhook_url`` and the optional ``secondary_webhook_url``)
is asked only when its circuit lets it (:mod:`.circuit_breaker`); an open circuit answers
CIRCUIT_OPEN in microseconds, so without a secondary the identity's fallback applies at once
instead of after the webhook budget. With a secondary, :func:`.hedging.hedged` races them:
the secondary is asked when the primary has not answered within its recent p95
(:mod:`.hedging`), at once when the primary fails or is short-circuited, and the first usable
verdict (answer or reject) wins. Every request's outcome feeds its endpoint's circuit, every
answer its latency window; a request cancelled by the race is abandoned, not counted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Sequence

from services.common.observability import request_context
from services.registry.call_target import CallAction, Identity
from services.registry.routing import webhook
from services.registry.routing.circuit_breaker import CircuitBreakers, endpoint_label
from services.registry.routing.hedging import LatencyTracker, hedged
from services.registry.routing.outbound_http import OutboundHttp
from services.registry.routing.webhook import WebhookResult, WebhookVerdict

_NO_URL = WebhookResult(WebhookVerdict.FAILED, detail="no incoming_call_webhook_url configured")


class WebhookEndpoints:
    """This replica's view of every webhook endpoint: circuits and recent latencies."""

    def __init__(
        self, http: OutboundHttp, breakers: CircuitBreakers, latencies: LatencyTracker
    ) -> None:
        self._http = http
        self._breakers = breakers
        self._latencies = latencies

    async def ask(
        self,
        *,
        call_id: str,
        local_number: str,
        remote_number: str,
        identity: Identity,
        action: CallAction,
        secret: str | None,
        remote_identities: Sequence[Identity] = (),
    ) -> WebhookResult:
        """The customer's verdict on the call (never raises for an endpoint's failure)."""
        primary_url = action.webhook_url
        if primary_url is None:
            return _NO_URL
        secondary_url = action.secondary_webhook_url

        def attempt(url: str, role: str) -> Callable[[], Awaitable[WebhookResult]]:
            async def run() -> WebhookResult:
                permit = self._breakers.allow(url)
                if permit is None:
                    return WebhookResult(
                        WebhookVerdict.CIRCUIT_OPEN,
                        detail=f"{role} webhook not asked: its circuit is open "
                        f"({endpoint_label(url)})",
                        endpoint=role,
                    )
                try:
                    result = await webhook.ask(
                        self._http,
                        url,
                        call_id=call_id,
                        local_number=local_number,
                        remote_number=remote_number,
                        identity=identity,
                        action=action,
                        secret=secret,
                        remote_identities=remote_identities,
                    )
                except asyncio.CancelledError:
                    self._breakers.abandon(permit)
                    raise
                answered = result.verdict.answered
                self._breakers.record(permit, success=answered)
                if answered:
                    self._latencies.observe(url, result.elapsed_seconds)
                return dataclasses.replace(result, endpoint=role)

            return run

        started = time.perf_counter()
        budget = request_context.capped_budget(webhook.budget_seconds(action))
        outcome = await hedged(
            attempt(primary_url, "primary"),
            attempt(secondary_url, "secondary") if secondary_url is not None else None,
            delay=self._latencies.hedge_delay(primary_url, budget),
            succeeded=lambda result: result.verdict.answered,
        )
        result = outcome.result
        if result.endpoint == "secondary" and result.verdict.answered:
            result = dataclasses.replace(
                result,
                detail=f"{result.detail or 'answered'} (by secondary_webhook_url)",
            )
        return dataclasses.replace(result, elapsed_seconds=time.perf_counter() - started)
