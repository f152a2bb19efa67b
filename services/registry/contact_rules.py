"""Caller allow/block rules of inbound numbers: create, read, list, update, delete.

A rule belongs to one active mapping and is visible to whoever sees that mapping (an
identity-scoped key: the mappings of its identity). Deleting and listing across mappings
need an admin key. Routing enforces the rules (services/registry/routing/decision.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.auth import Principal
from services.common.errors import InvalidArgument, NotFound
from services.common.phone import SERVICE_DEFAULT_REGIONS
from services.common.storage.orm import utcnow
from services.common.storage.pagination import Page, PageRequest, row_cursor
from services.registry import repository
from services.registry.contact_rule_values import (
    ACTIONS,
    BOTH,
    DEFAULT_DIRECTION,
    DEFAULT_MATCH_TYPE,
    DEFAULT_STATUS,
    DIRECTIONS,
    MATCH_TYPES,
    SIDES,
    STATUSES,
    checked_choice,
    normalized_caller,
    normalized_target,
    other_side,
)
from services.registry.models import ContactRule, InboundNumber
from services.registry.numbers import assistant_scope
from services.registry.resource_ids import mapping_not_found, referenced_id

CONTACT_RULE_NOT_FOUND = "Contact rule not found"
UPDATABLE_FIELDS = frozenset({"action", "direction", "status"})


def contact_rule_not_found() -> NotFound:
    """The rule does not exist or is not visible to the caller."""
    return NotFound(CONTACT_RULE_NOT_FOUND, reason="CONTACT_RULE_NOT_FOUND")


@dataclass(frozen=True)
class NewRule:
    """What ``create`` is asked to store (empty strings = the defaults)."""

    action: str
    match_target: str
    match_type: str = ""
    direction: str = ""
    status: str = ""


@dataclass(frozen=True)
class RuleFilter:
    """The optional filters of ``list_rules`` (None = any)."""

    inbound_id: str | None = None
    action: str | None = None
    match_type: str | None = None
    direction: str | None = None
    match_target: str | None = None


class ContactRules:
    """The contact-rule operations, on behalf of an authenticated principal."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        readers: async_sessionmaker[AsyncSession],
    ) -> None:
        self._sessions = sessions
        self._readers = readers

    async def create(self, principal: Principal, inbound_id: str, new: NewRule) -> ContactRule:
        """Store a rule; AlreadyExists when the mapping has a rule for that number."""
        action = checked_choice("action", new.action, ACTIONS)
        match_type = checked_choice("match_type", new.match_type or DEFAULT_MATCH_TYPE, MATCH_TYPES)
        direction = checked_choice("direction", new.direction or DEFAULT_DIRECTION, DIRECTIONS)
        status = checked_choice("status", new.status or DEFAULT_STATUS, STATUSES)
        mapping_id = referenced_id(inbound_id, mapping_not_found())
        now = utcnow()
        async with self._sessions.begin() as session:
            mapping = await _visible_mapping(session, principal, mapping_id)
            rule = ContactRule(
                account_id=principal.account_id,
                inbound_id=mapping.id,
                action=action,
                match_type=match_type,
                match_target_normalized=normalized_target(new.match_target, _region(mapping)),
                direction=direction,
                status=status,
                created_at=now,
                updated_at=now,
            )
            await repository.add_rule(session, rule)
            return rule

    async def get(self, principal: Principal, inbound_id: str, rule_id: str) -> ContactRule:
        """One rule of a visible mapping."""
        mapping_id = referenced_id(inbound_id, mapping_not_found())
        canonical = referenced_id(rule_id, contact_rule_not_found())
        async with self._readers() as session:
            return await _visible_rule(session, principal, mapping_id, canonical)

    async def list_rules(
        self, principal: Principal, wanted: RuleFilter, *, page_size: int, page_token: str
    ) -> Page[ContactRule]:
        """One page of rules, newest first: one visible mapping's, or (admins) the account's."""
        for field, value, allowed in (
            ("action", wanted.action, ACTIONS),
            ("match_type", wanted.match_type, MATCH_TYPES),
            ("direction", wanted.direction, DIRECTIONS),
        ):
            if value is not None:
                checked_choice(field, value, allowed)
        if wanted.inbound_id is None:
            principal.require_admin()
            mapping_id = None
        else:
            mapping_id = referenced_id(wanted.inbound_id, mapping_not_found())
        paging = PageRequest.parse(
            "ListContactRules",
            [mapping_id, wanted.action, wanted.match_type, wanted.direction, wanted.match_target],
            page_size,
            page_token,
        )
        async with self._readers() as session:
            target: str | None = None
            if mapping_id is not None:
                mapping = await _visible_mapping(session, principal, mapping_id, lock=False)
                if wanted.match_target is not None:
                    target = normalized_caller(wanted.match_target, _region(mapping)) or ""
            elif wanted.match_target is not None:
                target = normalized_caller(wanted.match_target, _any_region()) or ""
            rows = await repository.list_rules(
                session,
                principal.account_id,
                inbound_id=mapping_id,
                action=wanted.action,
                match_type=wanted.match_type,
                direction=wanted.direction,
                target=target,
                page=paging,
            )
        return paging.page(rows, row_cursor)

    async def update(
        self,
        principal: Principal,
        inbound_id: str,
        rule_id: str,
        changes: Mapping[str, str],
        *,
        apply_to: str | None = None,
    ) -> ContactRule:
        """Replace the rule's ``action`` / ``direction`` / ``status`` named in ``changes``.

        ``apply_to`` (``inbound`` or ``outbound``, with ``action``, without ``direction``)
        changes one side only: a rule covering ``both`` is split in two, this rule keeping
        that side with the new action and a new rule keeping the other side as it was.
        AlreadyExists when a new ``direction`` would cover a side another rule covers.
        """
        unknown = sorted(set(changes) - UPDATABLE_FIELDS)
        if unknown:
            raise InvalidArgument.for_field(
                "update_mask",
                f"cannot update {', '.join(unknown)}: only action, direction and status can be "
                "updated",
            )
        if not changes:
            raise InvalidArgument(
                "At least one of action, direction or status is required", reason="EMPTY_UPDATE"
            )
        allowed = {"action": ACTIONS, "direction": DIRECTIONS, "status": STATUSES}
        values = {
            name: checked_choice(name, value, allowed[name]) for name, value in changes.items()
        }
        side = None if apply_to is None else _checked_side(apply_to, values)
        mapping_id = referenced_id(inbound_id, mapping_not_found())
        canonical = referenced_id(rule_id, contact_rule_not_found())
        async with self._sessions.begin() as session:
            rule = await _visible_rule(session, principal, mapping_id, canonical, lock=True)
            now = utcnow()
            if side is not None:
                await _narrow_to(session, rule, side, values["action"], now)
            for name, value in values.items():
                setattr(rule, name, value)
            rule.updated_at = now
            await repository.flush_rules(session)
        return rule

    async def delete(self, principal: Principal, inbound_id: str, rule_id: str) -> str:
        """Delete a rule (admin keys only); its id."""
        principal.require_admin()
        mapping_id = referenced_id(inbound_id, mapping_not_found())
        canonical = referenced_id(rule_id, contact_rule_not_found())
        async with self._sessions.begin() as session:
            await _visible_rule(session, principal, mapping_id, canonical, lock=True)
            await repository.delete_rule(session, canonical)
        return canonical


def _checked_side(apply_to: str, values: Mapping[str, str]) -> str:
    side = checked_choice("apply_to", apply_to, SIDES)
    if "direction" in values:
        raise InvalidArgument.for_field("apply_to", "apply_to cannot be combined with direction")
    if "action" not in values:
        raise InvalidArgument.for_field("apply_to", "apply_to needs an action to apply")
    return side


async def _narrow_to(
    session: AsyncSession, rule: ContactRule, side: str, action: str, now: datetime
) -> None:
    """Before ``rule``'s action changes on ``side`` only: split a ``both`` rule in two."""
    if rule.direction not in (side, BOTH):
        raise InvalidArgument.for_field("apply_to", f"the rule does not cover {side} calls")
    if rule.direction == side or rule.action == action:
        return
    rule.direction = side
    rule.updated_at = now
    await repository.flush_rules(session)  # frees the other side before it gets its own rule
    await repository.add_rule(
        session,
        ContactRule(
            account_id=rule.account_id,
            inbound_id=rule.inbound_id,
            action=rule.action,
            match_type=rule.match_type,
            match_target_normalized=rule.match_target_normalized,
            direction=other_side(side),
            status=rule.status,
            created_at=now,
            updated_at=now,
        ),
    )


def _region(mapping: InboundNumber) -> str:
    return SERVICE_DEFAULT_REGIONS.get(mapping.service, _any_region())


def _any_region() -> str:
    """The region national-format targets are read in when no mapping says (the first one)."""
    return next(iter(SERVICE_DEFAULT_REGIONS.values()))


async def _visible_mapping(
    session: AsyncSession, principal: Principal, mapping_id: str, *, lock: bool = True
) -> InboundNumber:
    mapping = await repository.get_active_mapping(
        session,
        principal.account_id,
        mapping_id,
        assistant_id=assistant_scope(principal),
        for_update=lock,
    )
    if mapping is None:
        raise mapping_not_found()
    return mapping


async def _visible_rule(
    session: AsyncSession,
    principal: Principal,
    mapping_id: str,
    rule_id: str,
    *,
    lock: bool = False,
) -> ContactRule:
    await _visible_mapping(session, principal, mapping_id, lock=False)
    rule = await repository.get_rule(session, mapping_id, rule_id, for_update=lock)
    if rule is None:
        raise contact_rule_not_found()
    return rule
