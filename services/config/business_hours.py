"""Reading, setting and removing an agent identity's business hours and outside-hours action.

The schedule is validated by the one rule in ``services.common.business_hours`` (the
registry reads it with the same module); the outside-hours action is validated like a
call action's destination.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.auth import Principal
from services.common.business_hours import parse_business_hours
from services.common.errors import InvalidArgument, NotFound
from services.common.ids import parse_uuid
from services.common.urls import WEBHOOK_SCHEMES
from services.config import repository
from services.config.access import check_own_identity, visible
from services.config.call_actions import (
    FORWARDING_FIELDS,
    Destination,
    check_destination,
    check_destination_formats,
)
from services.config.identities import find_by_handle
from services.config.models import AgentIdentity, IdentityBusinessHours
from services.config.validation import check_url

OUTSIDE_ACTIONS: Final = ("reject", "forward", "identity", "webhook")
SCHEDULE_FIELD: Final = "business_hours.schedule"
ACTION_FIELD: Final = "business_hours.outside_hours_action"
NO_BUSINESS_HOURS: Final = "No business hours set for this identity (it is always open)"


@dataclass(frozen=True)
class OutsideAction:
    """What happens to a call outside business hours (None = not set)."""

    action: str | None = None
    forwarding_target_type: str | None = None
    forwarding_phone_number: str | None = None
    forwarding_sip_uri: str | None = None
    agent_identity_id: str | None = None
    incoming_call_webhook_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The stored form: set fields only."""
        return {name: value for name, value in asdict(self).items() if value is not None}

    @classmethod
    def from_json(cls, stored: dict[str, Any]) -> OutsideAction:
        """The action of a stored row."""
        return cls(**stored)


_USES: Final[dict[str, frozenset[str]]] = {
    "reject": frozenset(),
    "forward": frozenset(FORWARDING_FIELDS),
    "identity": frozenset({"agent_identity_id"}),
    "webhook": frozenset({"incoming_call_webhook_url"}),
}
"""The fields each action reads; every other field must be unset."""


async def get_business_hours(
    readers: async_sessionmaker[AsyncSession], principal: Principal, agent_handle: str
) -> IdentityBusinessHours:
    """The identity's business hours; NotFound when it has none."""
    async with readers() as session:
        identity = await _identity(session, principal, agent_handle)
        row = await repository.get_business_hours(session, identity.id)
    if row is None:
        raise NotFound(NO_BUSINESS_HOURS)
    return row


async def set_business_hours(
    sessions: async_sessionmaker[AsyncSession],
    principal: Principal,
    agent_handle: str,
    schedule: Any,
    outside: OutsideAction,
    *,
    allow_private_urls: bool,
) -> IdentityBusinessHours:
    """Create or replace the identity's business hours; invalid input changes nothing."""
    hours = parse_business_hours(schedule, SCHEDULE_FIELD)
    check_outside_action(outside, allow_private_urls=allow_private_urls)
    async with sessions.begin() as session:
        identity = await _identity(session, principal, agent_handle)
        await repository.lock_identity(session, identity.id)
        if outside.action == "identity":
            other_id = await _other_identity(session, principal, identity, outside)
            outside = replace(outside, agent_identity_id=other_id)
        return await repository.save_business_hours(
            session, identity.id, hours.to_json(), outside.to_json()
        )


async def delete_business_hours(
    sessions: async_sessionmaker[AsyncSession], principal: Principal, agent_handle: str
) -> None:
    """Remove the identity's business hours (always open again); NotFound when it has none."""
    async with sessions.begin() as session:
        identity = await _identity(session, principal, agent_handle)
        if not await repository.delete_business_hours(session, identity.id):
            raise NotFound(NO_BUSINESS_HOURS)


def check_outside_action(outside: OutsideAction, *, allow_private_urls: bool) -> None:
    """What each outside-hours action needs, and nothing it does not read."""
    prefix = f"{ACTION_FIELD}."
    if outside.action not in OUTSIDE_ACTIONS:
        raise InvalidArgument.for_field(
            f"{prefix}action", f"{prefix}action must be one of: {', '.join(OUTSIDE_ACTIONS)}"
        )
    used = _USES[outside.action]
    for name, value in asdict(outside).items():
        if name != "action" and name not in used and value is not None:
            raise InvalidArgument.for_field(
                f"{prefix}{name}", f"{prefix}{name} must be null unless {prefix}action reads it"
            )
    destination = Destination(
        outside.forwarding_target_type, outside.forwarding_phone_number, outside.forwarding_sip_uri
    )
    check_destination_formats(prefix, destination, allow_private_urls=allow_private_urls)
    if outside.action == "forward":
        check_destination(prefix, destination, required_by=f'{prefix}action "forward"')
    elif outside.action == "identity":
        if outside.agent_identity_id is None:
            raise InvalidArgument.for_field(
                f"{prefix}agent_identity_id",
                f'{prefix}action "identity" requires {prefix}agent_identity_id',
            )
        parse_uuid(outside.agent_identity_id, f"{prefix}agent_identity_id")
    elif outside.action == "webhook":
        url = outside.incoming_call_webhook_url
        field = f"{prefix}incoming_call_webhook_url"
        if url is None:
            raise InvalidArgument.for_field(field, f'{prefix}action "webhook" requires {field}')
        check_url(url, field, schemes=WEBHOOK_SCHEMES, allow_private=allow_private_urls)


async def _other_identity(
    session: AsyncSession, principal: Principal, identity: AgentIdentity, outside: OutsideAction
) -> str:
    """The canonical id of the identity the action routes to, checked to be another of ours."""
    field = f"{ACTION_FIELD}.agent_identity_id"
    other_id = parse_uuid(outside.agent_identity_id or "", field)
    # A scoped key acts on its own identity only: it may not send calls to another.
    check_own_identity(principal, other_id)
    if other_id == identity.id:
        raise InvalidArgument.for_field(field, f"{field} must name another identity")
    other = await repository.get_identity(session, other_id)
    if other is None or other.account_id != principal.account_id:
        raise InvalidArgument.for_field(field, f"{field}: no such identity in this account")
    return other_id


async def _identity(session: AsyncSession, principal: Principal, handle: str) -> AgentIdentity:
    identity = await find_by_handle(session, handle)
    # Like the signing key: a scoped key gets 403 for every handle but its own.
    check_own_identity(principal, identity.id if identity is not None else "")
    return visible(principal, identity)
