"""Call-target changes pushed from config to two registry replicas, across a config restart.

The replicas keep call targets for a long pushed lifetime (300 s) while the change
stream is live, with a short fallback TTL: a change seen within the test's generous
wait can only have been pushed, and a change written behind config's back staying
invisible proves the replicas do not re-fetch (no polling while idle).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import grpc
import pytest
from google.protobuf import field_mask_pb2
from switchboard.config.v1 import config_pb2, config_pb2_grpc
from switchboard.registry.v1 import registry_pb2 as pb
from switchboard.registry.v1 import registry_pb2_grpc

from services.config import server as config_server
from services.config.provisioning import CreatedAccount
from tests.services.registry.routing import factories
from tests.services.registry.routing.test_replicas import decide
from tests.support.processes import eventually
from tests.support.routing_stack import routing_registry_settings, running_registry
from tests.support.stack import Stack, service_settings

FALLBACK_TTL = 0.5
PUSHED_TTL = 300.0
VISIBLE_WITHIN_S = 30.0
"""Generous: without the push, a change would take PUSHED_TTL to show."""


async def urls(stubs: list[registry_pb2_grpc.CallRoutingServiceStub], number: str) -> set[str]:
    return {(await decide(stub, number)).client_websocket_url for stub in stubs}


async def set_url(config: grpc.aio.Channel, api_key: str, identity: str, url: str) -> None:
    await config_pb2_grpc.ConfigServiceStub(config).UpdateIncomingCallAction(
        config_pb2.UpdateIncomingCallActionRequest(
            incoming_call_action=config_pb2.IncomingCallAction(
                agent_identity_id=identity, client_websocket_url=url
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["client_websocket_url"]),
        ),
        metadata=(("x-api-key", api_key),),
        timeout=10,
    )


@pytest.fixture
async def config_port(stack: Stack, tmp_path: Path) -> AsyncIterator[int]:
    """A config process of this test's own (so it can be restarted), on the stack's DB."""
    settings, _ = service_settings(stack.database_urls, tmp_path)
    server = await config_server.start(settings)
    try:
        yield server.port
    finally:
        await server.stop(0.5)


async def test_changes_reach_both_replicas_and_survive_a_config_restart(
    stack: Stack, account: CreatedAccount, tmp_path: Path, config_port: int
) -> None:
    settings = routing_registry_settings(
        stack,
        tmp_path,
        None,
        call_target_cache_ttl_seconds=FALLBACK_TTL,
        call_target_cache_pushed_ttl_seconds=PUSHED_TTL,
    )
    settings.config_address = f"127.0.0.1:{config_port}"
    mapping = await factories.routed_identity(
        stack, account.account_id, "auto_accept", client_websocket_url="wss://a.example.com/0"
    )
    identity = mapping.assistant_id
    assert identity is not None
    async with AsyncExitStack() as exits:
        stubs = []
        for _ in range(2):
            registry = await exits.enter_async_context(running_registry(settings))
            channel = await exits.enter_async_context(
                grpc.aio.insecure_channel(f"127.0.0.1:{registry.port}")
            )
            stubs.append(registry_pb2_grpc.CallRoutingServiceStub(channel))
        config = await exits.enter_async_context(
            grpc.aio.insecure_channel(f"127.0.0.1:{config_port}")
        )

        # Pushed: an API change shows on both replicas long before the pushed lifetime.
        for n in (1, 2):
            await set_url(config, account.api_key, identity, f"wss://a.example.com/{n}")

            async def changed(n: int = n) -> bool:
                return await urls(stubs, mapping.number) == {f"wss://a.example.com/{n}"}

            assert await eventually(changed, timeout=VISIBLE_WITHIN_S, interval=0.01)

        # No polling: a write config cannot announce stays unseen past the fallback TTL.
        await factories.set_call_action(
            stack, identity, "auto_accept", client_websocket_url="wss://a.example.com/behind"
        )
        await asyncio.sleep(FALLBACK_TTL * 4)
        assert await urls(stubs, mapping.number) == {"wss://a.example.com/2"}


async def test_a_config_restart_resyncs_every_replica(
    stack: Stack, account: CreatedAccount, tmp_path: Path
) -> None:
    config_settings, _ = service_settings(stack.database_urls, tmp_path)
    first = await config_server.start(config_settings)
    port = first.port
    settings = routing_registry_settings(
        stack,
        tmp_path,
        None,
        call_target_cache_ttl_seconds=FALLBACK_TTL,
        call_target_cache_pushed_ttl_seconds=PUSHED_TTL,
    )
    settings.config_address = f"127.0.0.1:{port}"
    mapping = await factories.routed_identity(
        stack, account.account_id, "auto_accept", client_websocket_url="wss://b.example.com/0"
    )
    identity = mapping.assistant_id
    assert identity is not None
    restarted = None
    try:
        async with AsyncExitStack() as exits:
            stubs = []
            for _ in range(2):
                registry = await exits.enter_async_context(running_registry(settings))
                channel = await exits.enter_async_context(
                    grpc.aio.insecure_channel(f"127.0.0.1:{registry.port}")
                )
                stubs.append(registry_pb2_grpc.CallRoutingServiceStub(channel))
            assert await urls(stubs, mapping.number) == {"wss://b.example.com/0"}

            # Written while config is down: no process can announce it.
            await first.stop(0.5)
            await factories.set_call_action(
                stack, identity, "auto_accept", client_websocket_url="wss://b.example.com/down"
            )
            config_settings.config_port = port
            restarted = await config_server.start(config_settings)

            # The new config process's stream cannot resume the old one's: both replicas
            # resync (drop every cached target) and route with what the database says.
            async def resynced() -> bool:
                try:
                    return await urls(stubs, mapping.number) == {"wss://b.example.com/down"}
                except grpc.aio.AioRpcError:
                    return False

            assert await eventually(resynced, timeout=VISIBLE_WITHIN_S, interval=0.05)

            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as config:
                await set_url(config, account.api_key, identity, "wss://b.example.com/after")

                async def pushed() -> bool:
                    return await urls(stubs, mapping.number) == {"wss://b.example.com/after"}

                assert await eventually(pushed, timeout=VISIBLE_WITHIN_S, interval=0.01)
            decisions = [(await decide(stub, mapping.number)).decision for stub in stubs]
            assert decisions == [pb.ROUTING_DECISION_ACCEPT] * 2
    finally:
        if restarted is not None:
            await restarted.stop(0.5)
        await first.stop(0.5)


async def test_a_revoked_key_is_refused_long_before_the_auth_cache_ttl(
    stack: Stack, account: CreatedAccount, tmp_path: Path, config_port: int
) -> None:
    settings = routing_registry_settings(stack, tmp_path, None, auth_cache_ttl_seconds=30)
    settings.config_address = f"127.0.0.1:{config_port}"
    mapping = await factories.routed_identity(
        stack, account.account_id, "auto_accept", client_websocket_url="wss://c.example.com/0"
    )
    # The test's own account: its admin key is the one revoked (by itself).
    secret, key_id = account.api_key, account.api_key_id
    request = pb.RouteCallRequest(
        inbound_number=mapping.number, caller_number="1", service="exotel"
    )
    async with (
        running_registry(settings) as registry,
        grpc.aio.insecure_channel(f"127.0.0.1:{registry.port}") as channel,
        grpc.aio.insecure_channel(f"127.0.0.1:{config_port}") as config,
    ):
        stub = registry_pb2_grpc.CallRoutingServiceStub(channel)
        routed = await stub.RouteCall(request, metadata=(("x-api-key", secret),), timeout=10)
        assert routed.decision == pb.ROUTING_DECISION_ACCEPT  # authenticated and cached
        await config_pb2_grpc.ConfigServiceStub(config).RevokeApiKey(
            config_pb2.RevokeApiKeyRequest(api_key_id=key_id),
            metadata=(("x-api-key", account.api_key),),
        )

        async def refused() -> bool:
            try:
                await stub.RouteCall(request, metadata=(("x-api-key", secret),), timeout=10)
            except grpc.aio.AioRpcError as error:
                return bool(error.code() == grpc.StatusCode.UNAUTHENTICATED)
            return False

        assert await eventually(refused, timeout=20, interval=0.01)
