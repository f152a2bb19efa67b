"""An identity's ``max_concurrent_calls`` and overflow chain over REST and gRPC: shown on
every read, set and cleared by create/update, and every bad value refused (422 /
INVALID_ARGUMENT) with nothing changed."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from switchboard.config.v1 import config_pb2, config_pb2_grpc

from services.config import provisioning
from services.config.provisioning import CreatedAccount
from tests.support.stack import INTERNAL_METADATA, Stack

FORWARD_TO = "+14155550100"


def headers(account: CreatedAccount) -> dict[str, str]:
    return {"X-API-Key": account.api_key}


async def create(stack: Stack, account: CreatedAccount, **fields: Any) -> dict[str, Any]:
    handle = f"cap-{uuid.uuid4().hex[:12]}"
    response = await stack.http.post(
        "/api/v1/identities/", json={"agent_handle": handle, **fields}, headers=headers(account)
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def read(stack: Stack, account: CreatedAccount, handle: str) -> dict[str, Any]:
    response = await stack.http.get(f"/api/v1/identities/{handle}", headers=headers(account))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_capacity_is_set_shown_and_cleared(stack: Stack, account: CreatedAccount) -> None:
    spare = await create(stack, account)
    assert (spare["max_concurrent_calls"], spare["overflow_chain"]) == (None, [])
    chain = [
        {"agent_identity_id": spare["id"]},
        {"forwarding_phone_number": FORWARD_TO},
        {"webhook_fallback": True},
    ]
    created = await create(stack, account, max_concurrent_calls=2, overflow_chain=chain)
    assert created["max_concurrent_calls"] == 2
    assert created["overflow_chain"] == chain
    assert (await read(stack, account, created["agent_handle"]))["overflow_chain"] == chain

    patched = await stack.http.patch(
        f"/api/v1/identities/{created['agent_handle']}",
        json={"max_concurrent_calls": 7, "overflow_chain": [{"webhook_fallback": True}]},
        headers=headers(account),
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["max_concurrent_calls"], patched.json()["overflow_chain"]) == (
        7,
        [{"webhook_fallback": True}],
    )
    # Omitted keeps, null clears.
    kept = await stack.http.patch(
        f"/api/v1/identities/{created['agent_handle']}",
        json={"description": "x"},
        headers=headers(account),
    )
    assert kept.json()["max_concurrent_calls"] == 7
    cleared = await stack.http.patch(
        f"/api/v1/identities/{created['agent_handle']}",
        json={"max_concurrent_calls": None, "overflow_chain": None},
        headers=headers(account),
    )
    assert (cleared.json()["max_concurrent_calls"], cleared.json()["overflow_chain"]) == (None, [])


BAD_BODIES: list[tuple[str, Any]] = [
    ("zero", {"max_concurrent_calls": 0}),
    ("too many", {"max_concurrent_calls": 10_001}),
    ("text", {"max_concurrent_calls": "3"}),
    ("boolean", {"max_concurrent_calls": True}),
    ("self", {"overflow_chain": [{"agent_identity_id": "SELF"}]}),
    ("unknown identity", {"overflow_chain": [{"agent_identity_id": str(uuid.uuid4())}]}),
    ("other account", {"overflow_chain": [{"agent_identity_id": "FOREIGN"}]}),
    ("not a uuid", {"overflow_chain": [{"agent_identity_id": "agent-7"}]}),
    ("twice", {"overflow_chain": [{"agent_identity_id": "SPARE"}] * 2}),
    ("too long", {"overflow_chain": [{"webhook_fallback": True}] * 6}),
    (
        "two kinds",
        {"overflow_chain": [{"webhook_fallback": True, "forwarding_phone_number": FORWARD_TO}]},
    ),
    ("empty step", {"overflow_chain": [{}]}),
    ("false fallback", {"overflow_chain": [{"webhook_fallback": False}]}),
    ("bad number", {"overflow_chain": [{"forwarding_phone_number": "12345"}]}),
    ("unknown key", {"overflow_chain": [{"voicemail": "yes"}]}),
]


@pytest.mark.parametrize(("name", "body"), BAD_BODIES, ids=[name for name, _ in BAD_BODIES])
async def test_bad_capacity_is_422_and_changes_nothing(
    stack: Stack, account: CreatedAccount, name: str, body: dict[str, Any]
) -> None:
    spare = await create(stack, account)
    target = await create(stack, account, max_concurrent_calls=3)
    foreign = await provisioning.create_account(stack.config_sessions, "Foreign")
    other = await create(stack, foreign)
    ids = {"SELF": target["id"], "SPARE": spare["id"], "FOREIGN": other["id"]}
    chain = body.get("overflow_chain")
    if chain is not None:
        body = {
            "overflow_chain": [
                {
                    key: ids.get(value, value) if isinstance(value, str) else value
                    for key, value in step.items()
                }
                for step in chain
            ]
        }
    before = await read(stack, account, target["agent_handle"])
    response = await stack.http.patch(
        f"/api/v1/identities/{target['agent_handle']}", json=body, headers=headers(account)
    )
    assert response.status_code == 422, response.text
    assert "detail" in response.json()
    assert await read(stack, account, target["agent_handle"]) == before
    if name in {"zero", "bad number"}:
        refused = await stack.http.post(
            "/api/v1/identities/",
            json={"agent_handle": f"cap-{uuid.uuid4().hex[:12]}", **body},
            headers=headers(account),
        )
        assert refused.status_code == 422, refused.text


async def test_grpc_refuses_bad_capacity_with_invalid_argument(
    stack: Stack, account: CreatedAccount
) -> None:
    stub = config_pb2_grpc.ConfigServiceStub(stack.config_channel)
    metadata = (("x-api-key", account.api_key),)
    identity = await stub.CreateAgentIdentity(
        config_pb2.CreateAgentIdentityRequest(
            agent_identity=config_pb2.AgentIdentity(
                agent_handle=f"cap-{uuid.uuid4().hex[:12]}", max_concurrent_calls=4
            )
        ),
        metadata=metadata,
    )
    assert identity.max_concurrent_calls == 4
    bad_requests = [
        config_pb2.AgentIdentity(max_concurrent_calls=0),
        config_pb2.AgentIdentity(max_concurrent_calls=-1),
        config_pb2.AgentIdentity(
            overflow_chain=[config_pb2.OverflowStep(agent_identity_id=identity.id)]
        ),
        config_pb2.AgentIdentity(overflow_chain=[config_pb2.OverflowStep()]),
    ]
    for given in bad_requests:
        paths = (
            ["max_concurrent_calls"]
            if given.HasField("max_concurrent_calls")
            else ["overflow_chain"]
        )
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.UpdateAgentIdentity(
                config_pb2.UpdateAgentIdentityRequest(
                    agent_handle=identity.agent_handle,
                    agent_identity=given,
                    update_mask=FieldMask(paths=paths),
                ),
                metadata=metadata,
            )
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    unchanged = await stub.GetAgentIdentity(
        config_pb2.GetAgentIdentityRequest(agent_handle=identity.agent_handle), metadata=metadata
    )
    assert (unchanged.max_concurrent_calls, list(unchanged.overflow_chain)) == (4, [])
    # The registry learns both through ResolveCallTarget's CallTarget.
    internal = config_pb2_grpc.ConfigInternalServiceStub(stack.config_channel)
    target = await internal.ResolveCallTarget(
        config_pb2.ResolveCallTargetRequest(agent_identity_id=identity.id),
        metadata=INTERNAL_METADATA,
    )
    assert target.agent_identity.max_concurrent_calls == 4
