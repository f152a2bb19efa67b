"""``ContactRuleService``: caller allow/block rules, protobuf in and out."""

from __future__ import annotations

from google.protobuf import empty_pb2
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from switchboard.registry.v1 import registry_pb2, registry_pb2_grpc

from services.common.storage import idempotency
from services.registry.config_client import ConfigClient
from services.registry.contact_rules import ContactRules, NewRule, RuleFilter
from services.registry.convert import enum_value, mask_paths, rule_to_proto
from services.registry.servicer import Context, RegistryServicerBase


class ContactRuleServicer(RegistryServicerBase, registry_pb2_grpc.ContactRuleServiceServicer):
    """``switchboard.registry.v1.ContactRuleService``."""

    def __init__(
        self,
        rules: ContactRules,
        sessions: async_sessionmaker[AsyncSession],
        config: ConfigClient,
    ) -> None:
        super().__init__(sessions, config)
        self._rules = rules

    async def CreateContactRule(
        self, request: registry_pb2.CreateContactRuleRequest, context: Context
    ) -> registry_pb2.ContactRule:
        principal = await self._principal(context)
        rule = request.contact_rule
        new = NewRule(
            action=enum_value(rule, "action") or "",
            match_target=rule.match_target,
            match_type=enum_value(rule, "match_type") or "",
            direction=enum_value(rule, "direction") or "",
            status=enum_value(rule, "status") or "",
        )

        async def create() -> registry_pb2.ContactRule:
            return rule_to_proto(await self._rules.create(principal, request.inbound_id, new))

        return await idempotency.once(
            self._sessions, principal, request, registry_pb2.ContactRule, create
        )

    async def GetContactRule(
        self, request: registry_pb2.GetContactRuleRequest, context: Context
    ) -> registry_pb2.ContactRule:
        principal = await self._principal(context)
        found = await self._rules.get(principal, request.inbound_id, request.contact_rule_id)
        return rule_to_proto(found)

    async def ListContactRules(
        self, request: registry_pb2.ListContactRulesRequest, context: Context
    ) -> registry_pb2.ListContactRulesResponse:
        principal = await self._principal(context)
        wanted = RuleFilter(
            inbound_id=request.inbound_id if request.HasField("inbound_id") else None,
            action=enum_value(request, "action"),
            match_type=enum_value(request, "match_type"),
            direction=enum_value(request, "direction"),
            match_target=request.match_target if request.HasField("match_target") else None,
        )
        page = await self._rules.list_rules(
            principal, wanted, page_size=request.page_size, page_token=request.page_token
        )
        return registry_pb2.ListContactRulesResponse(
            contact_rules=[rule_to_proto(rule) for rule in page.items],
            next_page_token=page.next_page_token,
        )

    async def UpdateContactRule(
        self, request: registry_pb2.UpdateContactRuleRequest, context: Context
    ) -> registry_pb2.ContactRule:
        principal = await self._principal(context)
        changes = {
            path: enum_value(request.contact_rule, path) or ""
            if path in ("action", "direction", "status")
            else ""
            for path in mask_paths(request.update_mask.paths)
        }
        # An unknown enum number is named like an unknown text value (INVALID_ARGUMENT).
        apply_to = (enum_value(request, "apply_to") or "unknown") if request.apply_to else None
        updated = await self._rules.update(
            principal, request.inbound_id, request.contact_rule_id, changes, apply_to=apply_to
        )
        return rule_to_proto(updated)

    async def DeleteContactRule(
        self, request: registry_pb2.DeleteContactRuleRequest, context: Context
    ) -> empty_pb2.Empty:
        principal = await self._principal(context)
        await self._rules.delete(principal, request.inbound_id, request.contact_rule_id)
        return empty_pb2.Empty()
