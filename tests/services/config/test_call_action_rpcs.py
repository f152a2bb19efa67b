"""Get/UpdateIncomingCallAction over gRPC: errors, update_mask semantics, validation."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from switchboard.common.v1 import forwarding_pb2
from switchboard.config.v1 import config_pb2, config_pb2_grpc

from services.config.provisioning import CreatedAccount
from tests.support.config_grpc import Metadata, create_identity
from tests.support.rpc_errors import rpc_error
from tests.support.stack import Stack

Stub = config_pb2_grpc.ConfigServiceStub
Action = config_pb2.IncomingCallAction
WSS = "wss://agent.example.com/stream"
HTTPS = "https://agent.example.com/incoming"
AUTO_ACCEPT = config_pb2.INCOMING_CALL_ACTION_TYPE_AUTO_ACCEPT
AUTO_REJECT = config_pb2.INCOMING_CALL_ACTION_TYPE_AUTO_REJECT
WEBHOOK = config_pb2.INCOMING_CALL_ACTION_TYPE_WEBHOOK
FORWARD = config_pb2.INCOMING_CALL_ACTION_TYPE_FORWARD
PHONE = forwarding_pb2.FORWARDING_TARGET_TYPE_PHONE


def update(action: Action, *paths: str) -> config_pb2.UpdateIncomingCallActionRequest:
    return config_pb2.UpdateIncomingCallActionRequest(
        incoming_call_action=action, update_mask=FieldMask(paths=list(paths))
    )


def get(identity_id: str | None = None) -> config_pb2.GetIncomingCallActionRequest:
    request = config_pb2.GetIncomingCallActionRequest()
    if identity_id is not None:
        request.agent_identity_id = identity_id
    return request


async def test_seed_error_rows(
    stub: Stub, admin: Metadata, identity: config_pb2.AgentIdentity
) -> None:
    unknown = await rpc_error(
        stub.UpdateIncomingCallAction(
            update(Action(agent_identity_id=str(uuid.uuid4()), incoming_call_action=AUTO_REJECT)),
            metadata=admin,
        )
    )
    assert (unknown.code, unknown.message) == (
        grpc.StatusCode.NOT_FOUND,
        "Agent identity not found",
    )
    missing_id = await rpc_error(
        stub.UpdateIncomingCallAction(
            update(Action(incoming_call_action=AUTO_REJECT)), metadata=admin
        )
    )
    assert missing_id.code == grpc.StatusCode.INVALID_ARGUMENT
    assert missing_id.violations == (("agent_identity_id", "agent_identity_id is required"),)
    no_url = await rpc_error(
        stub.UpdateIncomingCallAction(
            update(Action(agent_identity_id=identity.id, incoming_call_action=AUTO_ACCEPT)),
            metadata=admin,
        )
    )
    assert no_url.code == grpc.StatusCode.INVALID_ARGUMENT
    assert no_url.violations[0][0] == "client_websocket_url"
    no_webhook = await rpc_error(
        stub.UpdateIncomingCallAction(
            update(Action(agent_identity_id=identity.id, incoming_call_action=WEBHOOK)),
            metadata=admin,
        )
    )
    assert no_webhook.violations[0][0] == "incoming_call_webhook_url"
    no_config = await rpc_error(stub.GetIncomingCallAction(get(identity.id), metadata=admin))
    assert (no_config.code, no_config.message) == (
        grpc.StatusCode.NOT_FOUND,
        "No inbound-call config set for this identity",
    )
    assert (await rpc_error(stub.GetIncomingCallAction(get(), metadata=admin))).code == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    not_uuid = await rpc_error(stub.GetIncomingCallAction(get("abc"), metadata=admin))
    assert not_uuid.code == grpc.StatusCode.INVALID_ARGUMENT


async def test_keys_admin_scoped_other_account_and_missing(
    stack: Stack,
    stub: Stub,
    admin: Metadata,
    scoped: Metadata,
    other_admin: Metadata,
    identity: config_pb2.AgentIdentity,
    account: CreatedAccount,
) -> None:
    written = await stub.UpdateIncomingCallAction(
        update(Action(incoming_call_action=AUTO_ACCEPT, client_websocket_url=WSS)), metadata=scoped
    )
    assert written.agent_identity_id == identity.id
    assert (await stub.GetIncomingCallAction(get(), metadata=scoped)) == written
    assert (await stub.GetIncomingCallAction(get(identity.id), metadata=admin)) == written

    other = await create_identity(stub, admin)
    denied = await rpc_error(stub.GetIncomingCallAction(get(other.id), metadata=scoped))
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED
    hidden = await rpc_error(stub.GetIncomingCallAction(get(identity.id), metadata=other_admin))
    assert hidden.code == grpc.StatusCode.NOT_FOUND
    hidden_write = await rpc_error(
        stub.UpdateIncomingCallAction(
            update(Action(agent_identity_id=identity.id, incoming_call_action=AUTO_REJECT)),
            metadata=other_admin,
        )
    )
    assert hidden_write.code == grpc.StatusCode.NOT_FOUND

    anonymous = await rpc_error(stub.GetIncomingCallAction(get(identity.id)))
    assert anonymous.code == grpc.StatusCode.UNAUTHENTICATED
    bearer = (("authorization", f"Bearer {account.api_key}"),)
    assert (await stub.GetIncomingCallAction(get(identity.id), metadata=bearer)) == written


async def test_empty_mask_replaces_all_but_absent_forwarding_fields(
    stub: Stub, admin: Metadata, identity: config_pb2.AgentIdentity
) -> None:
    first = Action(
        agent_identity_id=identity.id,
        incoming_call_action=FORWARD,
        forwarding_target_type=PHONE,
        forwarding_phone_number="+14155552671",
        client_websocket_url=WSS,
    )
    first.webhook_timeout.FromSeconds(3)
    stored = await stub.UpdateIncomingCallAction(update(first), metadata=admin)
    assert stored.webhook_timeout.ToSeconds() == 3
    second = await stub.UpdateIncomingCallAction(
        update(Action(agent_identity_id=identity.id, incoming_call_action=AUTO_REJECT)),
        metadata=admin,
    )
    assert second.forwarding_phone_number == "+14155552671"
    assert second.forwarding_target_type == PHONE
    assert not second.HasField("client_websocket_url")
    assert not second.HasField("webhook_timeout")


async def test_mask_lists_what_is_written(
    stub: Stub, admin: Metadata, identity: config_pb2.AgentIdentity
) -> None:
    await stub.UpdateIncomingCallAction(
        update(
            Action(
                agent_identity_id=identity.id,
                incoming_call_action=WEBHOOK,
                incoming_call_webhook_url=HTTPS,
                client_websocket_url=WSS,
                forwarding_target_type=PHONE,
                forwarding_phone_number="+14155552671",
            )
        ),
        metadata=admin,
    )
    only_action = await stub.UpdateIncomingCallAction(
        update(
            Action(agent_identity_id=identity.id, incoming_call_action=AUTO_REJECT),
            "incoming_call_action",
            "agent_identity_id",
            "update_time",
        ),
        metadata=admin,
    )
    assert only_action.incoming_call_action == AUTO_REJECT
    assert (only_action.client_websocket_url, only_action.incoming_call_webhook_url) == (WSS, HTTPS)
    cleared = await stub.UpdateIncomingCallAction(
        update(
            Action(agent_identity_id=identity.id),
            "forwarding_target_type",
            "forwarding_phone_number",
        ),
        metadata=admin,
    )
    assert not cleared.HasField("forwarding_target_type")
    assert not cleared.HasField("forwarding_phone_number")
    assert cleared.incoming_call_action == AUTO_REJECT
    unknown = await rpc_error(
        stub.UpdateIncomingCallAction(
            update(Action(agent_identity_id=identity.id), "no_such_field"), metadata=admin
        )
    )
    assert unknown.code == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize(
    "action",
    [
        Action(incoming_call_action=config_pb2.INCOMING_CALL_ACTION_TYPE_UNSPECIFIED),
        Action(incoming_call_action=99),  # type: ignore[arg-type]
        Action(incoming_call_action=AUTO_REJECT, forwarding_target_type=7),  # type: ignore[arg-type]
        Action(incoming_call_action=AUTO_REJECT, webhook_fallback=config_pb2.CallFallback()),
        Action(incoming_call_action=AUTO_REJECT, client_websocket_url=""),
        Action(incoming_call_action=AUTO_ACCEPT, client_websocket_url="wss://" + "a" * 5000),
    ],
    ids=[
        "unspecified",
        "unknown-action",
        "unknown-target",
        "fallback-unspecified",
        "empty-url",
        "long-url",
    ],
)
async def test_invalid_actions_are_invalid_argument(
    stub: Stub, admin: Metadata, identity: config_pb2.AgentIdentity, action: Action
) -> None:
    action.agent_identity_id = identity.id
    error = await rpc_error(stub.UpdateIncomingCallAction(update(action), metadata=admin))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("milliseconds", [999, 10_001, 0])
async def test_webhook_timeout_bounds(
    stub: Stub, admin: Metadata, identity: config_pb2.AgentIdentity, milliseconds: int
) -> None:
    action = Action(agent_identity_id=identity.id, incoming_call_action=AUTO_REJECT)
    action.webhook_timeout.FromMilliseconds(milliseconds)
    error = await rpc_error(stub.UpdateIncomingCallAction(update(action), metadata=admin))
    assert error.violations[0][0] == "webhook_timeout"


async def test_fallback_round_trips(
    stub: Stub, admin: Metadata, identity: config_pb2.AgentIdentity
) -> None:
    action = Action(
        agent_identity_id=identity.id,
        incoming_call_action=WEBHOOK,
        incoming_call_webhook_url=HTTPS,
        webhook_fallback=config_pb2.CallFallback(
            action=config_pb2.CALL_FALLBACK_ACTION_FORWARD,
            forwarding_target_type=forwarding_pb2.FORWARDING_TARGET_TYPE_SIP,
            forwarding_sip_uri="sip:desk@pbx.example.com",
        ),
    )
    stored = await stub.UpdateIncomingCallAction(update(action), metadata=admin)
    assert stored.webhook_fallback == action.webhook_fallback
    assert stored.HasField("create_time") and stored.HasField("update_time")
