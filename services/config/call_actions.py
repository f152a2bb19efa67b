"""Reading and upserting an agent identity's incoming-call action."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.auth import Principal
from services.common.budgets import WEBHOOK_BUDGET
from services.common.errors import InvalidArgument, NotFound
from services.common.urls import WEBHOOK_SCHEMES, WEBSOCKET_SCHEMES
from services.config import repository
from services.config.access import owned_identity, target_identity_id, visible
from services.config.call_target_read import CallTargetReader
from services.config.models import IncomingCallAction
from services.config.validation import (
    check_e164,
    check_sip_uri,
    check_url,
)

ACTIONS: Final = ("auto_accept", "auto_reject", "webhook", "forward", "hosted_agent")
FALLBACK_ACTIONS: Final = ("accept", "forward", "reject")
NO_CONFIG = "No inbound-call config set for this identity"


@dataclass(frozen=True)
class Destination:
    """A forwarding destination: its kind and the phone number or SIP URI."""

    target_type: str | None = None
    phone_number: str | None = None
    sip_uri: str | None = None


@dataclass(frozen=True)
class Fallback:
    """What to do when the incoming-call webhook fails."""

    action: str
    client_websocket_url: str | None = None
    forwarding_target_type: str | None = None
    forwarding_phone_number: str | None = None
    forwarding_sip_uri: str | None = None


@dataclass(frozen=True)
class CallActionConfig:
    """The writable fields of an incoming-call action (None = not set)."""

    action: str | None = None
    client_websocket_url: str | None = None
    incoming_call_webhook_url: str | None = None
    forwarding_target_type: str | None = None
    forwarding_phone_number: str | None = None
    forwarding_sip_uri: str | None = None
    webhook_timeout_ms: int | None = None
    webhook_fallback: Fallback | None = None
    secondary_webhook_url: str | None = None
    call_context_in_url: bool | None = None


FIELDS: Final = tuple(field.name for field in dataclasses.fields(CallActionConfig))
FORWARDING_FIELDS: Final = (
    "forwarding_target_type",
    "forwarding_phone_number",
    "forwarding_sip_uri",
)


async def get_call_action(
    targets: CallTargetReader, principal: Principal, requested_id: str | None
) -> IncomingCallAction:
    """The identity's stored action; NotFound if the identity or its config is missing.

    One indexed read on the fast path (the one ``ResolveCallTarget`` makes), not two ORM
    loads through a session: this is the REST ``GET`` of a call action.
    """
    identity_id = target_identity_id(principal, requested_id)
    target = await targets.resolve(identity_id)
    visible(principal, target.identity if target is not None else None)
    if target is None or target.action is None:
        raise NotFound(NO_CONFIG)
    return target.action


async def update_call_action(
    sessions: async_sessionmaker[AsyncSession],
    principal: Principal,
    requested_id: str | None,
    values: CallActionConfig,
    fields: Collection[str],
    *,
    allow_private_urls: bool,
) -> IncomingCallAction:
    """Upsert: write ``fields`` of ``values`` over the stored action (or nothing), then validate.

    The identity row is locked first, so concurrent updates of one identity apply one
    after the other and an insert never races another insert.
    """
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown call action fields: {sorted(unknown)}")
    written = {name: getattr(values, name) for name in fields}
    _check_formats(written, allow_private_urls=allow_private_urls)
    identity_id = target_identity_id(principal, requested_id)
    async with sessions.begin() as session:
        await owned_identity(session, principal, identity_id, lock=True)
        existing = await repository.get_call_action(session, identity_id)
        current = _config_of(existing) if existing is not None else CallActionConfig()
        merged = dataclasses.replace(current, **written)
        check_rules(merged)
        return await repository.save_call_action(session, identity_id, existing, _columns(merged))


def check_rules(config: CallActionConfig) -> None:
    """The whole-configuration rules: what each action requires and what must be null."""
    if config.action is None:
        raise InvalidArgument.for_field("incoming_call_action", "incoming_call_action is required")
    if config.action not in ACTIONS:
        raise InvalidArgument.for_field(
            "incoming_call_action", f"incoming_call_action must be one of: {', '.join(ACTIONS)}"
        )
    if config.action == "auto_accept" and config.client_websocket_url is None:
        raise InvalidArgument.for_field(
            "client_websocket_url",
            'client_websocket_url is required when incoming_call_action is "auto_accept"',
        )
    if config.action == "webhook" and config.incoming_call_webhook_url is None:
        raise InvalidArgument.for_field(
            "incoming_call_webhook_url",
            'incoming_call_webhook_url is required when incoming_call_action is "webhook"',
        )
    if (
        config.secondary_webhook_url is not None
        and config.secondary_webhook_url == config.incoming_call_webhook_url
    ):
        raise InvalidArgument.for_field(
            "secondary_webhook_url",
            "secondary_webhook_url must differ from incoming_call_webhook_url",
        )
    check_destination(
        "",
        Destination(
            config.forwarding_target_type,
            config.forwarding_phone_number,
            config.forwarding_sip_uri,
        ),
        required_by='incoming_call_action "forward"' if config.action == "forward" else None,
    )
    timeout = config.webhook_timeout_ms
    if timeout is not None and not WEBHOOK_BUDGET.allows(timeout / 1000):
        raise InvalidArgument.for_field(
            "webhook_timeout",
            "webhook_timeout must be between "
            f"{WEBHOOK_BUDGET.minimum:g} and {WEBHOOK_BUDGET.maximum:g} seconds",
        )
    if config.webhook_fallback is not None:
        _check_fallback(config.webhook_fallback, config.client_websocket_url)


def _check_fallback(fallback: Fallback, client_websocket_url: str | None) -> None:
    prefix = "webhook_fallback."
    destination = Destination(
        fallback.forwarding_target_type,
        fallback.forwarding_phone_number,
        fallback.forwarding_sip_uri,
    )
    if fallback.action not in FALLBACK_ACTIONS:
        raise InvalidArgument.for_field(
            f"{prefix}action", f"{prefix}action must be one of: {', '.join(FALLBACK_ACTIONS)}"
        )
    if fallback.action == "accept":
        if fallback.client_websocket_url is None and client_websocket_url is None:
            raise InvalidArgument.for_field(
                f"{prefix}client_websocket_url",
                f'{prefix}action "accept" needs {prefix}client_websocket_url'
                " or the identity's client_websocket_url",
            )
    elif fallback.client_websocket_url is not None:
        raise InvalidArgument.for_field(
            f"{prefix}client_websocket_url",
            f'{prefix}client_websocket_url must be null unless {prefix}action is "accept"',
        )
    if fallback.action == "forward":
        check_destination(prefix, destination, required_by=f'{prefix}action "forward"')
    elif destination != Destination():
        raise InvalidArgument.for_field(
            f"{prefix}forwarding_target_type",
            f'{prefix}forwarding_* must be null unless {prefix}action is "forward"',
        )


def check_destination(prefix: str, destination: Destination, required_by: str | None) -> None:
    """Exactly one destination matching its type; required when ``required_by`` says so."""
    kind = f"{prefix}forwarding_target_type"
    phone = f"{prefix}forwarding_phone_number"
    sip = f"{prefix}forwarding_sip_uri"
    if destination.target_type is None:
        if required_by is not None:
            raise InvalidArgument.for_field(
                kind,
                f'{required_by} requires {kind} ("phone" with {phone}, or "sip" with {sip})',
            )
        if destination.phone_number is not None or destination.sip_uri is not None:
            raise InvalidArgument.for_field(
                kind, f"{kind} is required when a forwarding destination is set"
            )
        return
    if destination.target_type not in ("phone", "sip"):
        raise InvalidArgument.for_field(kind, f'{kind} must be "phone" or "sip"')
    needed, needed_value, other, other_value = (
        (phone, destination.phone_number, sip, destination.sip_uri)
        if destination.target_type == "phone"
        else (sip, destination.sip_uri, phone, destination.phone_number)
    )
    if needed_value is None:
        raise InvalidArgument.for_field(
            needed, f'{needed} is required when {kind} is "{destination.target_type}"'
        )
    if other_value is not None:
        raise InvalidArgument.for_field(
            other, f'{other} must be null when {kind} is "{destination.target_type}"'
        )


def _check_formats(written: dict[str, Any], *, allow_private_urls: bool) -> None:
    """Check the shape of each value being written (stored values were checked when written)."""
    websocket = written.get("client_websocket_url")
    if websocket is not None:
        check_url(
            websocket,
            "client_websocket_url",
            schemes=WEBSOCKET_SCHEMES,
            allow_private=allow_private_urls,
        )
    for name in ("incoming_call_webhook_url", "secondary_webhook_url"):
        webhook = written.get(name)
        if webhook is not None:
            check_url(webhook, name, schemes=WEBHOOK_SCHEMES, allow_private=allow_private_urls)
    check_destination_formats(
        "",
        Destination(
            None, written.get("forwarding_phone_number"), written.get("forwarding_sip_uri")
        ),
        allow_private_urls=allow_private_urls,
    )
    fallback: Fallback | None = written.get("webhook_fallback")
    if fallback is not None:
        if fallback.client_websocket_url is not None:
            check_url(
                fallback.client_websocket_url,
                "webhook_fallback.client_websocket_url",
                schemes=WEBSOCKET_SCHEMES,
                allow_private=allow_private_urls,
            )
        check_destination_formats(
            "webhook_fallback.",
            Destination(None, fallback.forwarding_phone_number, fallback.forwarding_sip_uri),
            allow_private_urls=allow_private_urls,
        )


def check_destination_formats(
    prefix: str, destination: Destination, *, allow_private_urls: bool
) -> None:
    if destination.phone_number is not None:
        check_e164(destination.phone_number, f"{prefix}forwarding_phone_number")
    if destination.sip_uri is not None:
        check_sip_uri(
            destination.sip_uri, f"{prefix}forwarding_sip_uri", allow_private=allow_private_urls
        )


_FALLBACK_COLUMNS: Final = {
    "fallback_action": "action",
    "fallback_client_websocket_url": "client_websocket_url",
    "fallback_forwarding_target_type": "forwarding_target_type",
    "fallback_forwarding_phone_number": "forwarding_phone_number",
    "fallback_forwarding_sip_uri": "forwarding_sip_uri",
}
_PLAIN_FIELDS: Final = tuple(name for name in FIELDS if name != "webhook_fallback")


def _columns(config: CallActionConfig) -> dict[str, Any]:
    """The row columns of a configuration."""
    columns = {name: getattr(config, name) for name in _PLAIN_FIELDS}
    fallback = config.webhook_fallback
    for column, attribute in _FALLBACK_COLUMNS.items():
        columns[column] = getattr(fallback, attribute) if fallback is not None else None
    return columns


def _config_of(row: IncomingCallAction) -> CallActionConfig:
    """The configuration stored in a row."""
    fallback = (
        Fallback(**{attr: getattr(row, column) for column, attr in _FALLBACK_COLUMNS.items()})
        if row.fallback_action is not None
        else None
    )
    return CallActionConfig(
        **{name: getattr(row, name) for name in _PLAIN_FIELDS}, webhook_fallback=fallback
    )
