"""Which agent identity a principal may act on, and loading it within its account."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal, Scope
from services.common.errors import InvalidArgument, NotFound, PermissionDenied
from services.common.ids import parse_uuid
from services.config import repository
from services.config.models import AgentIdentity

IDENTITY_NOT_FOUND = "Agent identity not found"


def target_identity_id(principal: Principal, requested: str | None) -> str:
    """The identity an incoming-call-action request acts on.

    Admin keys must name it; identity-scoped keys act on their own and may not name
    another (PermissionDenied, whether or not that identity exists).
    """
    if not requested:
        if principal.scope is Scope.IDENTITY and principal.identity_id is not None:
            return principal.identity_id
        raise InvalidArgument.for_field("agent_identity_id", "agent_identity_id is required")
    identity_id = parse_uuid(requested, "agent_identity_id")
    check_own_identity(principal, identity_id)
    return identity_id


def check_own_identity(principal: Principal, identity_id: str) -> None:
    """Refuse an identity-scoped key acting on an identity other than its own."""
    if principal.scope is Scope.IDENTITY and identity_id != principal.identity_id:
        raise PermissionDenied("an identity-scoped API key may only act on its own agent identity")


def visible(principal: Principal, identity: AgentIdentity | None) -> AgentIdentity:
    """``identity`` if it belongs to the principal's account; NotFound otherwise."""
    if identity is None or identity.account_id != principal.account_id:
        raise NotFound(IDENTITY_NOT_FOUND)
    return identity


async def owned_identity(
    session: AsyncSession, principal: Principal, identity_id: str, *, lock: bool = False
) -> AgentIdentity:
    """The account's identity ``identity_id`` (locked if asked); NotFound otherwise."""
    load = repository.lock_identity if lock else repository.get_identity
    return visible(principal, await load(session, identity_id))
