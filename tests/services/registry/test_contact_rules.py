"""``ContactRuleService`` over gRPC: CRUD, one rule per side of a normalized number, apply_to,
visibility."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from typing import cast

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from switchboard.registry.v1 import registry_pb2 as pb
from switchboard.registry.v1 import registry_pb2_grpc

from tests.services.registry.factories import (
    Tenant,
    create_identity,
    create_scoped_key,
    fresh_number,
    grpc_metadata,
    numbers_stub,
    status_of,
)
from tests.support.stack import Stack


def rules_stub(stack: Stack) -> registry_pb2_grpc.ContactRuleServiceStub:
    return registry_pb2_grpc.ContactRuleServiceStub(stack.registry_channel)


async def mapped(stack: Stack, tenant: Tenant, assistant_id: str | None = None) -> str:
    mapping = await numbers_stub(stack).AssignInboundNumber(
        pb.AssignInboundNumberRequest(
            assistant_id=assistant_id or tenant.assistant_id,
            service="exotel",
            inbound_config=pb.InboundConfig(phone_number=fresh_number()),
        ),
        metadata=tenant.metadata,
    )
    inbound_id: str = mapping.id
    return inbound_id


async def create(
    stack: Stack,
    metadata: tuple[tuple[str, str], ...],
    inbound_id: str,
    target: str,
    action: pb.ContactRuleAction = pb.CONTACT_RULE_ACTION_BLOCK,
) -> pb.ContactRule:
    rule: pb.ContactRule = await rules_stub(stack).CreateContactRule(
        pb.CreateContactRuleRequest(
            inbound_id=inbound_id, contact_rule=pb.ContactRule(action=action, match_target=target)
        ),
        metadata=metadata,
    )
    return rule


async def code_of(call: Awaitable[object]) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return status_of(caught.value)


async def test_create_defaults_and_canonical_target(stack: Stack, tenant: Tenant) -> None:
    inbound_id = await mapped(stack, tenant)
    rule = await create(stack, tenant.metadata, inbound_id, "098123 45678")
    assert uuid.UUID(rule.id)
    assert rule.inbound_id == inbound_id
    assert rule.action == pb.CONTACT_RULE_ACTION_BLOCK
    assert rule.match_type == pb.CONTACT_RULE_MATCH_TYPE_EXACT_NUMBER
    assert rule.match_target == "+919812345678"
    assert rule.direction == pb.CONTACT_RULE_DIRECTION_BOTH
    assert rule.status == pb.CONTACT_RULE_STATUS_ACTIVE
    fetched = await rules_stub(stack).GetContactRule(
        pb.GetContactRuleRequest(inbound_id=inbound_id, contact_rule_id=rule.id),
        metadata=tenant.metadata,
    )
    assert fetched == rule


async def test_one_rule_per_normalized_number(stack: Stack, tenant: Tenant) -> None:
    inbound_id = await mapped(stack, tenant)
    await create(stack, tenant.metadata, inbound_id, "+919812345678")
    for same in ("919812345678", "09812345678", "+91 98123 45678"):
        code = await code_of(
            create(stack, tenant.metadata, inbound_id, same, pb.CONTACT_RULE_ACTION_ALLOW)
        )
        assert code == grpc.StatusCode.ALREADY_EXISTS
    listed = await rules_stub(stack).ListContactRules(
        pb.ListContactRulesRequest(inbound_id=inbound_id, match_target="919812345678"),
        metadata=tenant.metadata,
    )
    assert len(listed.contact_rules) == 1
    # Another number of the same account may have its own rule for the caller.
    other = await mapped(stack, tenant)
    await create(stack, tenant.metadata, other, "+919812345678")


async def create_on(
    stack: Stack,
    tenant: Tenant,
    inbound_id: str,
    direction: pb.ContactRuleDirection,
    action: pb.ContactRuleAction,
) -> pb.ContactRule:
    rule: pb.ContactRule = await rules_stub(stack).CreateContactRule(
        pb.CreateContactRuleRequest(
            inbound_id=inbound_id,
            contact_rule=pb.ContactRule(
                action=action, match_target="+919812345678", direction=direction
            ),
        ),
        metadata=tenant.metadata,
    )
    return rule


async def test_one_rule_per_side_of_a_number(stack: Stack, tenant: Tenant) -> None:
    inbound_id = await mapped(stack, tenant)
    block, allow = pb.CONTACT_RULE_ACTION_BLOCK, pb.CONTACT_RULE_ACTION_ALLOW
    inbound = await create_on(stack, tenant, inbound_id, pb.CONTACT_RULE_DIRECTION_INBOUND, block)
    outbound = await create_on(stack, tenant, inbound_id, pb.CONTACT_RULE_DIRECTION_OUTBOUND, allow)
    assert inbound.id != outbound.id
    for direction in (
        pb.CONTACT_RULE_DIRECTION_INBOUND,
        pb.CONTACT_RULE_DIRECTION_OUTBOUND,
        pb.CONTACT_RULE_DIRECTION_BOTH,
    ):
        code = await code_of(create_on(stack, tenant, inbound_id, direction, block))
        assert code == grpc.StatusCode.ALREADY_EXISTS
    widen = rules_stub(stack).UpdateContactRule(
        pb.UpdateContactRuleRequest(
            inbound_id=inbound_id,
            contact_rule_id=inbound.id,
            contact_rule=pb.ContactRule(direction=pb.CONTACT_RULE_DIRECTION_BOTH),
            update_mask=FieldMask(paths=["direction"]),
        ),
        metadata=tenant.metadata,
    )
    assert await code_of(widen) == grpc.StatusCode.ALREADY_EXISTS


async def test_simultaneous_rules_for_overlapping_sides_store_one(
    stack: Stack, tenant: Tenant
) -> None:
    inbound_id = await mapped(stack, tenant)
    sides = [pb.CONTACT_RULE_DIRECTION_BOTH, pb.CONTACT_RULE_DIRECTION_INBOUND] * 8
    results = await asyncio.gather(
        *(
            create_on(stack, tenant, inbound_id, side, pb.CONTACT_RULE_ACTION_BLOCK)
            for side in sides
        ),
        return_exceptions=True,
    )
    created = [r for r in results if isinstance(r, pb.ContactRule)]
    refused = [r for r in results if not isinstance(r, pb.ContactRule)]
    assert len(created) == 1
    assert {status_of(error) for error in refused} == {grpc.StatusCode.ALREADY_EXISTS}


async def update_apply_to(
    stack: Stack,
    tenant: Tenant,
    inbound_id: str,
    rule_id: str,
    action: pb.ContactRuleAction,
    apply_to: pb.ContactRuleDirection,
) -> pb.ContactRule:
    rule: pb.ContactRule = await rules_stub(stack).UpdateContactRule(
        pb.UpdateContactRuleRequest(
            inbound_id=inbound_id,
            contact_rule_id=rule_id,
            contact_rule=pb.ContactRule(action=action),
            update_mask=FieldMask(paths=["action"]),
            apply_to=apply_to,
        ),
        metadata=tenant.metadata,
    )
    return rule


async def test_apply_to_splits_a_rule_covering_both_sides(stack: Stack, tenant: Tenant) -> None:
    inbound_id = await mapped(stack, tenant)
    both = await create_on(
        stack, tenant, inbound_id, pb.CONTACT_RULE_DIRECTION_BOTH, pb.CONTACT_RULE_ACTION_BLOCK
    )
    split = await update_apply_to(
        stack,
        tenant,
        inbound_id,
        both.id,
        pb.CONTACT_RULE_ACTION_ALLOW,
        pb.CONTACT_RULE_DIRECTION_INBOUND,
    )
    assert split.id == both.id
    assert (split.action, split.direction) == (
        pb.CONTACT_RULE_ACTION_ALLOW,
        pb.CONTACT_RULE_DIRECTION_INBOUND,
    )
    listed = await rules_stub(stack).ListContactRules(
        pb.ListContactRulesRequest(inbound_id=inbound_id), metadata=tenant.metadata
    )
    [kept] = [r for r in listed.contact_rules if r.id != both.id]
    assert (kept.action, kept.direction, kept.status, kept.match_target) == (
        pb.CONTACT_RULE_ACTION_BLOCK,
        pb.CONTACT_RULE_DIRECTION_OUTBOUND,
        pb.CONTACT_RULE_STATUS_ACTIVE,
        "+919812345678",
    )
    # The same action again changes nothing; the other side is not this rule's to change.
    again = await update_apply_to(
        stack,
        tenant,
        inbound_id,
        both.id,
        pb.CONTACT_RULE_ACTION_ALLOW,
        pb.CONTACT_RULE_DIRECTION_INBOUND,
    )
    assert again.direction == pb.CONTACT_RULE_DIRECTION_INBOUND
    for apply_to, mask in (
        (pb.CONTACT_RULE_DIRECTION_OUTBOUND, ["action"]),
        (pb.CONTACT_RULE_DIRECTION_BOTH, ["action"]),
        (cast(pb.ContactRuleDirection, 99), ["action"]),
        (pb.CONTACT_RULE_DIRECTION_INBOUND, ["status"]),
        (pb.CONTACT_RULE_DIRECTION_INBOUND, ["action", "direction"]),
    ):
        refused = rules_stub(stack).UpdateContactRule(
            pb.UpdateContactRuleRequest(
                inbound_id=inbound_id,
                contact_rule_id=both.id,
                contact_rule=pb.ContactRule(
                    action=pb.CONTACT_RULE_ACTION_BLOCK,
                    direction=pb.CONTACT_RULE_DIRECTION_INBOUND,
                    status=pb.CONTACT_RULE_STATUS_PAUSED,
                ),
                update_mask=FieldMask(paths=mask),
                apply_to=apply_to,
            ),
            metadata=tenant.metadata,
        )
        assert await code_of(refused) == grpc.StatusCode.INVALID_ARGUMENT, (apply_to, mask)


async def test_invalid_requests(stack: Stack, tenant: Tenant) -> None:
    inbound_id = await mapped(stack, tenant)
    stub = rules_stub(stack)
    for rule in (
        pb.ContactRule(action=pb.CONTACT_RULE_ACTION_BLOCK, match_target="not a number"),
        pb.ContactRule(action=pb.CONTACT_RULE_ACTION_BLOCK, match_target=""),
        pb.ContactRule(match_target="+919812345678"),
        pb.ContactRule(action=99, match_target="+919812345678"),  # type: ignore[arg-type]
    ):
        request = pb.CreateContactRuleRequest(inbound_id=inbound_id, contact_rule=rule)
        assert await code_of(stub.CreateContactRule(request, metadata=tenant.metadata)) == (
            grpc.StatusCode.INVALID_ARGUMENT
        )
    rule = await create(stack, tenant.metadata, inbound_id, "+919812345678")
    for paths, values in (
        ([], pb.ContactRule(action=pb.CONTACT_RULE_ACTION_ALLOW)),
        (["match_target"], pb.ContactRule(match_target="+14155552671")),
        (["action"], pb.ContactRule()),
        ([""], pb.ContactRule()),
    ):
        update = pb.UpdateContactRuleRequest(
            inbound_id=inbound_id,
            contact_rule_id=rule.id,
            contact_rule=values,
            update_mask=FieldMask(paths=paths),
        )
        assert await code_of(stub.UpdateContactRule(update, metadata=tenant.metadata)) == (
            grpc.StatusCode.INVALID_ARGUMENT
        )
    for missing in (str(uuid.uuid4()), "nope"):
        request = pb.CreateContactRuleRequest(
            inbound_id=missing,
            contact_rule=pb.ContactRule(
                action=pb.CONTACT_RULE_ACTION_ALLOW, match_target="+919812345678"
            ),
        )
        assert await code_of(stub.CreateContactRule(request, metadata=tenant.metadata)) == (
            grpc.StatusCode.NOT_FOUND
        )
        get = pb.GetContactRuleRequest(inbound_id=inbound_id, contact_rule_id=missing)
        assert await code_of(stub.GetContactRule(get, metadata=tenant.metadata)) == (
            grpc.StatusCode.NOT_FOUND
        )


async def test_update_list_filters_and_delete(stack: Stack, tenant: Tenant) -> None:
    inbound_id = await mapped(stack, tenant)
    block = await create(stack, tenant.metadata, inbound_id, "+919812345678")
    allow = await create(
        stack, tenant.metadata, inbound_id, "+919812345679", pb.CONTACT_RULE_ACTION_ALLOW
    )
    stub = rules_stub(stack)
    updated = await stub.UpdateContactRule(
        pb.UpdateContactRuleRequest(
            inbound_id=inbound_id,
            contact_rule_id=block.id,
            contact_rule=pb.ContactRule(
                direction=pb.CONTACT_RULE_DIRECTION_INBOUND, status=pb.CONTACT_RULE_STATUS_PAUSED
            ),
            update_mask=FieldMask(paths=["direction", "status"]),
        ),
        metadata=tenant.metadata,
    )
    assert updated.direction == pb.CONTACT_RULE_DIRECTION_INBOUND
    assert updated.status == pb.CONTACT_RULE_STATUS_PAUSED
    assert updated.action == pb.CONTACT_RULE_ACTION_BLOCK
    assert updated.update_time.ToDatetime() > block.update_time.ToDatetime()

    async def ids(**filters: object) -> list[str]:
        page = await stub.ListContactRules(
            pb.ListContactRulesRequest(inbound_id=inbound_id, **filters),  # type: ignore[arg-type]
            metadata=tenant.metadata,
        )
        return [rule.id for rule in page.contact_rules]

    assert await ids() == [allow.id, block.id]
    assert await ids(action=pb.CONTACT_RULE_ACTION_ALLOW) == [allow.id]
    assert await ids(direction=pb.CONTACT_RULE_DIRECTION_OUTBOUND) == [allow.id]
    first = await stub.ListContactRules(
        pb.ListContactRulesRequest(inbound_id=inbound_id, page_size=1), metadata=tenant.metadata
    )
    second = await stub.ListContactRules(
        pb.ListContactRulesRequest(
            inbound_id=inbound_id, page_size=1, page_token=first.next_page_token
        ),
        metadata=tenant.metadata,
    )
    assert [r.id for r in (*first.contact_rules, *second.contact_rules)] == await ids()
    assert second.next_page_token == ""
    everything = await stub.ListContactRules(pb.ListContactRulesRequest(), metadata=tenant.metadata)
    assert {r.id for r in everything.contact_rules} >= set(await ids())

    await stub.DeleteContactRule(
        pb.DeleteContactRuleRequest(inbound_id=inbound_id, contact_rule_id=block.id),
        metadata=tenant.metadata,
    )
    assert await ids() == [allow.id]


async def test_rules_of_a_released_number_disappear(stack: Stack, tenant: Tenant) -> None:
    inbound_id = await mapped(stack, tenant)
    rule = await create(stack, tenant.metadata, inbound_id, "+919812345678")
    await numbers_stub(stack).DeleteInboundNumber(
        pb.DeleteInboundNumberRequest(inbound_id=inbound_id), metadata=tenant.metadata
    )
    get = pb.GetContactRuleRequest(inbound_id=inbound_id, contact_rule_id=rule.id)
    assert await code_of(rules_stub(stack).GetContactRule(get, metadata=tenant.metadata)) == (
        grpc.StatusCode.NOT_FOUND
    )
    everything = await rules_stub(stack).ListContactRules(
        pb.ListContactRulesRequest(), metadata=tenant.metadata
    )
    assert rule.id not in {r.id for r in everything.contact_rules}


async def test_visibility_other_accounts_and_scoped_keys(
    stack: Stack, tenant: Tenant, other_tenant: Tenant
) -> None:
    own = await mapped(stack, tenant)
    other_identity = await create_identity(stack, tenant.account_id, "Other")
    foreign_identity_number = await mapped(stack, tenant, other_identity)
    rule = await create(stack, tenant.metadata, own, "+919812345678")
    stub = rules_stub(stack)
    get = pb.GetContactRuleRequest(inbound_id=own, contact_rule_id=rule.id)
    assert await code_of(stub.GetContactRule(get, metadata=other_tenant.metadata)) == (
        grpc.StatusCode.NOT_FOUND
    )
    listed = await stub.ListContactRules(
        pb.ListContactRulesRequest(), metadata=other_tenant.metadata
    )
    assert list(listed.contact_rules) == []

    scoped = grpc_metadata(await create_scoped_key(stack, tenant.account_id, tenant.assistant_id))
    assert await stub.GetContactRule(get, metadata=scoped) == rule
    mine = await create(stack, scoped, own, "+919812345670", pb.CONTACT_RULE_ACTION_ALLOW)
    assert mine.inbound_id == own
    code = await code_of(create(stack, scoped, foreign_identity_number, "+919812345670"))
    assert code == grpc.StatusCode.NOT_FOUND
    all_rules = stub.ListContactRules(pb.ListContactRulesRequest(), metadata=scoped)
    assert await code_of(all_rules) == grpc.StatusCode.PERMISSION_DENIED
    delete = pb.DeleteContactRuleRequest(inbound_id=own, contact_rule_id=rule.id)
    assert await code_of(stub.DeleteContactRule(delete, metadata=scoped)) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    for call in (
        stub.GetContactRule(get),
        stub.ListContactRules(pb.ListContactRulesRequest()),
        stub.DeleteContactRule(delete, metadata=grpc_metadata("sb_unknown")),
    ):
        assert await code_of(call) == grpc.StatusCode.UNAUTHENTICATED


async def test_filter_mode_is_admin_only_and_shown_on_the_mapping(
    stack: Stack, tenant: Tenant
) -> None:
    inbound_id = await mapped(stack, tenant)
    numbers = numbers_stub(stack)
    got = await numbers.GetInboundNumber(
        pb.GetInboundNumberRequest(inbound_id=inbound_id), metadata=tenant.metadata
    )
    assert got.filter_mode == pb.CONTACT_FILTER_MODE_BLACKLIST
    assert got.assistant_name == tenant.assistant_name

    def whitelist(mode: int = pb.CONTACT_FILTER_MODE_WHITELIST) -> pb.UpdateInboundNumberRequest:
        return pb.UpdateInboundNumberRequest(
            inbound_id=inbound_id,
            inbound_number=pb.InboundNumberLinks(filter_mode=mode),  # type: ignore[arg-type]
            update_mask=FieldMask(paths=["filter_mode"]),
        )

    scoped = grpc_metadata(await create_scoped_key(stack, tenant.account_id, tenant.assistant_id))
    assert await code_of(numbers.UpdateInboundNumber(whitelist(), metadata=scoped)) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    unset = numbers.UpdateInboundNumber(
        whitelist(pb.CONTACT_FILTER_MODE_UNSPECIFIED), metadata=tenant.metadata
    )
    assert await code_of(unset) == grpc.StatusCode.INVALID_ARGUMENT
    updated = await numbers.UpdateInboundNumber(whitelist(), metadata=tenant.metadata)
    assert updated.filter_mode == pb.CONTACT_FILTER_MODE_WHITELIST
    assert updated.assistant_id == tenant.assistant_id
