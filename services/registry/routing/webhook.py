"""The incoming-call webhook: send Inkbox's payload, signed, and read the customer's answer."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from services.common.budgets import WEBHOOK_BUDGET
from services.common.observability import metrics, request_context
from services.common.urls import (
    WEBHOOK_SCHEMES,
    WEBSOCKET_SCHEMES,
    UnsafeUrl,
    validate_outbound_url,
)
from services.registry.call_target import CallAction, Identity
from services.registry.routing.outbound_http import OutboundError, OutboundHttp
from services.registry.routing.signing import signed_headers


class WebhookVerdict(Enum):
    """What the webhook exchange came to."""

    ANSWER = "answer"
    REJECT = "reject"
    FAILED = "failed"
    CIRCUIT_OPEN = "circuit_open"
    """Not asked: its endpoint failed repeatedly and its circuit is open (a failure)."""

    @property
    def answered(self) -> bool:
        """Whether the customer's app gave a usable verdict (answer or reject)."""
        return self in (WebhookVerdict.ANSWER, WebhookVerdict.REJECT)


@dataclass(frozen=True, slots=True)
class WebhookResult:
    """The verdict; ``url`` is the WebSocket URL to bridge to for ANSWER, ``detail`` says why."""

    verdict: WebhookVerdict
    url: str | None = None
    detail: str | None = None
    elapsed_seconds: float = 0.0
    """How long the exchange took (set by :func:`ask`)."""
    endpoint: str | None = None
    """Which configured endpoint gave the result: ``primary`` or ``secondary``."""


def budget_seconds(action: CallAction) -> float:
    """The identity's webhook budget: its ``webhook_timeout`` clamped to :data:`WEBHOOK_BUDGET`."""
    seconds = action.webhook_timeout_seconds
    if seconds is None:
        return WEBHOOK_BUDGET.default
    return WEBHOOK_BUDGET.clamped(seconds)


def _identity_json(identity: Identity) -> dict[str, str | None]:
    return {
        "id": identity.id,
        "agent_handle": identity.agent_handle,
        "display_name": identity.display_name,
    }


def payload(
    call_id: str,
    local_number: str,
    remote_number: str,
    identity: Identity,
    action: CallAction,
    remote_identities: Sequence[Identity] = (),
) -> bytes:
    """The flat Inkbox incoming-call JSON body: every key of Inkbox's own, in its order.

    Keys Switchboard has no value for are null: ``use_inkbox_tts``/``use_inkbox_stt``
    (no Inkbox media), ``hangup_reason``/``started_at``/``ended_at`` (the call has not
    started), ``rate_limit`` (Switchboard has no call quotas). ``contacts`` is the
    address-book match of the caller: Switchboard keeps no address book, so it is empty.
    ``agent_identities`` is, as Inkbox documents it, the identity match of the *remote*
    party: identities of the same account whose mapped number is the caller's. The called
    identity is the Switchboard extension ``called_agent_identity``.
    """
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    body = {
        "id": call_id,
        "local_phone_number": local_number,
        "remote_phone_number": remote_number,
        "direction": "inbound",
        "status": "initiated",
        "client_websocket_url": action.client_websocket_url,
        "use_inkbox_tts": None,
        "use_inkbox_stt": None,
        "hangup_reason": None,
        "started_at": None,
        "ended_at": None,
        "created_at": now,
        "updated_at": now,
        "rate_limit": None,
        "contacts": [],
        "agent_identities": [_identity_json(remote) for remote in remote_identities],
        "called_agent_identity": _identity_json(identity),
    }
    return json.dumps(body, separators=(",", ":")).encode()


async def ask(
    http: OutboundHttp,
    url: str,
    *,
    call_id: str,
    local_number: str,
    remote_number: str,
    identity: Identity,
    action: CallAction,
    secret: str | None,
    remote_identities: Sequence[Identity] = (),
) -> WebhookResult:
    """POST the payload to ``url`` (one of the identity's webhook endpoints) and interpret the
    answer (never raises).

    The outcome and duration are counted in the webhook metrics and kept in the result.
    """
    started = time.perf_counter()
    result = await _exchange(
        http,
        url,
        call_id=call_id,
        local_number=local_number,
        remote_number=remote_number,
        identity=identity,
        action=action,
        secret=secret,
        remote_identities=remote_identities,
    )
    elapsed = time.perf_counter() - started
    metrics.WEBHOOK_REQUESTS.labels(outcome=result.verdict.value).inc()
    metrics.WEBHOOK_DURATION.observe(elapsed)
    return dataclasses.replace(result, elapsed_seconds=elapsed)


async def _exchange(
    http: OutboundHttp,
    url: str,
    *,
    call_id: str,
    local_number: str,
    remote_number: str,
    identity: Identity,
    action: CallAction,
    secret: str | None,
    remote_identities: Sequence[Identity],
) -> WebhookResult:
    body = payload(call_id, local_number, remote_number, identity, action, remote_identities)
    headers = signed_headers(secret, str(uuid.uuid4()), int(time.time()), body)
    try:
        response = await http.post_json(
            url,
            body,
            headers=headers,
            budget=request_context.capped_budget(budget_seconds(action)),
            schemes=WEBHOOK_SCHEMES,
        )
    except OutboundError as error:
        return WebhookResult(WebhookVerdict.FAILED, detail=f"webhook {error.message}")
    if not 200 <= response.status_code < 300:
        return WebhookResult(
            WebhookVerdict.FAILED, detail=f"webhook answered HTTP {response.status_code}"
        )
    return interpret(
        response.content, action.client_websocket_url, allow_private=http.allow_private
    )


def interpret(content: bytes, configured_url: str | None, *, allow_private: bool) -> WebhookResult:
    """``{"action": "answer"|"reject", "client_websocket_url"?}`` to a result."""
    try:
        answer = json.loads(content)
    except ValueError:
        return WebhookResult(WebhookVerdict.FAILED, detail="webhook answer is not JSON")
    if not isinstance(answer, dict):
        return WebhookResult(WebhookVerdict.FAILED, detail="webhook answer is not a JSON object")
    verb = answer.get("action")
    if verb == "reject":
        return WebhookResult(WebhookVerdict.REJECT, detail="webhook answered reject")
    if verb != "answer":
        return WebhookResult(
            WebhookVerdict.FAILED, detail='webhook answer has no valid "action" (answer|reject)'
        )
    url = answer.get("client_websocket_url")
    if url is None:
        url = configured_url
        if url is None:
            return WebhookResult(
                WebhookVerdict.FAILED,
                detail="webhook answered without client_websocket_url and none is configured",
            )
    try:
        validate_outbound_url(url, schemes=WEBSOCKET_SCHEMES, allow_private=allow_private)
    except UnsafeUrl as error:
        return WebhookResult(
            WebhookVerdict.FAILED,
            detail=f"webhook client_websocket_url is not usable: {error.message}",
        )
    return WebhookResult(WebhookVerdict.ANSWER, url=url)
