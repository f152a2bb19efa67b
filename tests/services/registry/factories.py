"""Test data for the registry: identities and scoped keys in the config DB, fresh numbers."""

from __future__ import annotations

import itertools
import random
import uuid
from dataclasses import dataclass
from typing import Any

import grpc
from switchboard.registry.v1 import registry_pb2_grpc

from services.common.phone import InvalidPhoneNumber, normalize_phone_number
from services.config import provisioning
from services.config.models import AgentIdentity, ApiKey
from services.config.secrets import new_api_key_secret
from tests.support.stack import Stack

_used_numbers: set[str] = set()
_random = random.Random()


@dataclass(frozen=True)
class Tenant:
    """An account, its admin key and one of its assistants."""

    account_id: str
    api_key: str
    api_key_id: str
    assistant_id: str
    assistant_name: str

    @property
    def headers(self) -> dict[str, str]:
        """REST headers carrying the admin key as a Bearer token."""
        return bearer(self.api_key)

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        """gRPC metadata carrying the admin key."""
        return grpc_metadata(self.api_key)


def bearer(api_key: str) -> dict[str, str]:
    """``Authorization: Bearer <key>``."""
    return {"Authorization": f"Bearer {api_key}"}


def grpc_metadata(api_key: str) -> tuple[tuple[str, str], ...]:
    """gRPC metadata carrying ``api_key``."""
    return (("authorization", f"Bearer {api_key}"),)


async def create_identity(stack: Stack, account_id: str, display_name: str | None = None) -> str:
    """Insert an agent identity (assistant) into the config database; its id."""
    handle = f"agent-{uuid.uuid4().hex[:12]}"
    async with stack.config_sessions.begin() as session:
        identity = AgentIdentity(
            account_id=account_id, agent_handle=handle, display_name=display_name or handle
        )
        session.add(identity)
        await session.flush()
        return identity.id


async def create_scoped_key(stack: Stack, account_id: str, identity_id: str) -> str:
    """Insert an API key scoped to ``identity_id``; its secret."""
    minted = new_api_key_secret()
    async with stack.config_sessions.begin() as session:
        session.add(
            ApiKey(
                account_id=account_id,
                secret_hash=minted.secret_hash,
                display_prefix=minted.display_prefix,
                last4=minted.last4,
                label="scoped test key",
                scoped_identity_id=identity_id,
            )
        )
    return minted.secret


async def create_tenant(stack: Stack, assistant_name: str = "Support Assistant") -> Tenant:
    """A new account with its admin key and one assistant."""
    account = await provisioning.create_account(stack.config_sessions, "Registry test account")
    assistant_id = await create_identity(stack, account.account_id, assistant_name)
    return Tenant(
        account.account_id, account.api_key, account.api_key_id, assistant_id, assistant_name
    )


def fresh_number() -> str:
    """A valid Indian mobile number in E.164 that no other test in this process uses."""
    for _ in itertools.count():
        candidate = f"+91{_random.choice('6789')}{_random.randrange(10**9):09d}"
        if candidate in _used_numbers:
            continue
        try:
            normalize_phone_number(candidate, "IN")
        except InvalidPhoneNumber:
            continue
        _used_numbers.add(candidate)
        return candidate
    raise AssertionError("unreachable")


def numbers_stub(stack: Stack) -> registry_pb2_grpc.InboundNumberServiceStub:
    """An InboundNumberService stub on the stack's registry channel."""
    return registry_pb2_grpc.InboundNumberServiceStub(stack.registry_channel)


def strategies_stub(stack: Stack) -> registry_pb2_grpc.InboundContextStrategyServiceStub:
    """An InboundContextStrategyService stub on the stack's registry channel."""
    return registry_pb2_grpc.InboundContextStrategyServiceStub(stack.registry_channel)


def status_of(error: BaseException) -> grpc.StatusCode:
    """The status code of a failed RPC."""
    assert isinstance(error, grpc.aio.AioRpcError), error
    code: grpc.StatusCode = error.code()
    return code


def random_suffix() -> str:
    """Four random digits, to make a fixed number pattern unique to one test."""
    return f"{_random.randrange(10_000):04d}"


def assign_body(assistant_id: str, phone_number: str, **extra: object) -> dict[str, Any]:
    """A REST ``/inbound/assign`` body for an Exotel number."""
    return {
        "assistant_id": assistant_id,
        "service": "exotel",
        "inbound_config": {"phone_number": phone_number},
        **extra,
    }


def strategy_body(**config: object) -> dict[str, Any]:
    """A REST ``/inbound_context_strategy/create`` body for a webhook strategy."""
    return {
        "strategy_name": "CRM lookup",
        "strategy_type": "webhook",
        "strategy_config": {"url": "https://crm.example.com/lookup", **config},
    }
