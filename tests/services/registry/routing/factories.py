"""Routing test state written straight into both databases with the ORM models."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, update

from services.common.phone import InvalidPhoneNumber, normalize_phone_number
from services.config.models import (
    AgentIdentity,
    IdentityBusinessHours,
    IdentitySigningKey,
    IncomingCallAction,
)
from services.registry.contact_rule_values import (
    ACTIVE,
    BLOCK,
    DEFAULT_DIRECTION,
    DEFAULT_MATCH_TYPE,
)
from services.registry.models import ContactRule, InboundContextStrategy, InboundNumber
from tests.support.stack import Stack


@dataclass(frozen=True)
class Mapping:
    """A mapped number: how to dial it and what it maps to."""

    number: str
    normalized: str
    inbound_id: str
    assistant_id: str | None


def new_number() -> tuple[str, str]:
    """A random valid Indian mobile number: (E.164 with "+", normalized)."""
    while True:
        digits = "9198" + "".join(random.choices("0123456789", k=8))
        try:
            return "+" + digits, normalize_phone_number("+" + digits, "IN")
        except InvalidPhoneNumber:
            continue


async def create_identity(stack: Stack, account_id: str, display_name: str = "Agent") -> str:
    """A new agent identity of ``account_id``; returns its id."""
    async with stack.config_sessions.begin() as session:
        identity = AgentIdentity(
            account_id=account_id,
            agent_handle=f"agent-{random.getrandbits(64):016x}",
            display_name=display_name,
        )
        session.add(identity)
        await session.flush()
        return identity.id


async def set_call_action(stack: Stack, identity_id: str, action: str, **fields: Any) -> None:
    """Configure the identity's incoming-call action (columns of IncomingCallAction)."""
    async with stack.config_sessions.begin() as session:
        existing = await session.get(IncomingCallAction, identity_id)
        if existing is None:
            session.add(IncomingCallAction(agent_identity_id=identity_id, action=action, **fields))
        else:
            existing.action = action
            for name, value in fields.items():
                setattr(existing, name, value)


async def set_signing_key(stack: Stack, identity_id: str, secret: str) -> None:
    """Give the identity a webhook signing key."""
    async with stack.config_sessions.begin() as session:
        session.add(IdentitySigningKey(agent_identity_id=identity_id, secret=secret))


async def set_business_hours(
    stack: Stack, identity_id: str, schedule: dict[str, Any], outside_action: dict[str, Any]
) -> None:
    """Give the identity business hours (the JSON forms the config service stores)."""
    async with stack.config_sessions.begin() as session:
        existing = await session.get(IdentityBusinessHours, identity_id)
        if existing is not None:
            await session.delete(existing)
            await session.flush()
        session.add(
            IdentityBusinessHours(
                agent_identity_id=identity_id, schedule=schedule, outside_action=outside_action
            )
        )


async def delete_identity(stack: Stack, identity_id: str) -> None:
    """Remove an identity (and, by cascade, its call action)."""
    async with stack.config_sessions.begin() as session:
        await session.execute(delete(AgentIdentity).where(AgentIdentity.id == identity_id))


async def create_strategy(
    stack: Stack,
    account_id: str,
    url: str,
    *,
    timeout_seconds: float = 2.0,
    headers: dict[str, str] | None = None,
    name: str = "CRM lookup",
) -> str:
    """A webhook context strategy; returns its id."""
    async with stack.registry_sessions.begin() as session:
        strategy = InboundContextStrategy(
            account_id=account_id,
            name=name,
            strategy_type="webhook",
            config={"url": url, "headers": headers or {}, "timeout_seconds": timeout_seconds},
        )
        session.add(strategy)
        await session.flush()
        return strategy.id


async def map_number(
    stack: Stack,
    account_id: str,
    assistant_id: str | None,
    *,
    strategy_id: str | None = None,
) -> Mapping:
    """An active mapping of a new random number."""
    number, normalized = new_number()
    async with stack.registry_sessions.begin() as session:
        row = InboundNumber(
            account_id=account_id,
            phone_number=number,
            phone_number_normalized=normalized,
            service="exotel",
            inbound_config={"type": "exotel", "phone_number": number},
            assistant_id=assistant_id,
            inbound_context_strategy_id=strategy_id,
        )
        session.add(row)
        await session.flush()
        return Mapping(number, normalized, row.id, assistant_id)


async def deactivate(stack: Stack, inbound_id: str) -> None:
    """Soft-delete a mapping."""
    async with stack.registry_sessions.begin() as session:
        await session.execute(
            update(InboundNumber)
            .where(InboundNumber.id == inbound_id)
            .values(active=False, assistant_id=None)
        )


async def routed_identity(
    stack: Stack,
    account_id: str,
    action: str,
    *,
    strategy_id: str | None = None,
    display_name: str = "Agent",
    **fields: Any,
) -> Mapping:
    """Identity + call action + mapping in one step."""
    identity_id = await create_identity(stack, account_id, display_name)
    await set_call_action(stack, identity_id, action, **fields)
    return await map_number(stack, account_id, identity_id, strategy_id=strategy_id)


async def block_caller(stack: Stack, account_id: str, mapping: Mapping, caller: str) -> str:
    """An active inbound+outbound block rule on ``mapping`` for ``caller``; returns its id."""
    async with stack.registry_sessions.begin() as session:
        rule = ContactRule(
            account_id=account_id,
            inbound_id=mapping.inbound_id,
            action=BLOCK,
            match_type=DEFAULT_MATCH_TYPE,
            match_target_normalized=normalize_phone_number(caller, "IN"),
            direction=DEFAULT_DIRECTION,
            status=ACTIVE,
        )
        session.add(rule)
        await session.flush()
        return rule.id
