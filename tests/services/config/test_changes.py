"""The config change log and its WatchChanges stream: what commits publish, resume, resync, auth."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc
import pytest
from pydantic import SecretStr
from switchboard.config.v1 import config_pb2, config_pb2_grpc

from services.config import server as config_server
from services.config.changes import ACCOUNT, API_KEY, CALL_TARGET, HEARTBEAT, RESYNC, ChangeLog
from services.config.provisioning import CreatedAccount
from tests.support.stack import INTERNAL_METADATA, Stack, service_settings

READ_TIMEOUT_S = 30.0


async def take(stream: Any, count: int) -> list[tuple[int, str]]:
    """The next ``count`` messages as (kind, id)."""
    return [((message := await anext(stream)).kind, message.id) for _ in range(count)]


async def test_the_log_resumes_after_a_kept_version_and_resyncs_otherwise() -> None:
    log = ChangeLog(capacity=3, heartbeat_seconds=60)
    log.publish([(CALL_TARGET, "a"), (CALL_TARGET, "a"), (API_KEY, "k")])  # one batch, deduped
    assert log.version == 2
    fresh = log.watch("", 0)
    assert await take(fresh, 1) == [(RESYNC, "")]
    resumed = log.watch(log.stream_id, 1)
    assert await take(resumed, 2) == [(HEARTBEAT, ""), (API_KEY, "k")]
    log.publish([(ACCOUNT, "acct")])
    assert await take(resumed, 1) == [(ACCOUNT, "acct")]
    assert await take(fresh, 1) == [(ACCOUNT, "acct")]
    log.publish([(CALL_TARGET, str(n)) for n in range(5)])  # version 3 -> 8; keeps 6..8
    assert await take(log.watch(log.stream_id, 8), 1) == [(HEARTBEAT, "")]
    assert await take(log.watch(log.stream_id, 2), 1) == [(RESYNC, "")]  # 3..5 are gone
    assert await take(log.watch("another-process", 8), 1) == [(RESYNC, "")]
    assert await take(log.watch(log.stream_id, 99), 1) == [(RESYNC, "")]


async def test_a_silent_stream_gets_heartbeats() -> None:
    log = ChangeLog(heartbeat_seconds=0.01)
    stream = log.watch("", 0)
    assert await take(stream, 3) == [(RESYNC, ""), (HEARTBEAT, ""), (HEARTBEAT, "")]


class Watch:
    """A WatchChanges call read message by message, heartbeats skipped."""

    def __init__(
        self, channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...] = INTERNAL_METADATA
    ):
        stub = config_pb2_grpc.ConfigInternalServiceStub(channel)
        self.call = stub.WatchChanges(config_pb2.WatchChangesRequest(), metadata=metadata)

    async def next(self, *, skip_heartbeats: bool = True) -> config_pb2.ConfigChange:
        while True:
            message = await asyncio.wait_for(self.call.read(), READ_TIMEOUT_S)
            assert message is not grpc.aio.EOF
            if not (skip_heartbeats and message.kind == HEARTBEAT):
                return message  # type: ignore[no-any-return]


async def test_committed_writes_are_streamed(stack: Stack, account: CreatedAccount) -> None:
    admin = {"X-API-Key": account.api_key}
    watch = Watch(stack.config_channel)
    try:
        assert (await watch.next(skip_heartbeats=False)).kind == RESYNC
        created = await stack.http.post(
            "/api/v1/identities/", json={"agent_handle": f"push-{id(watch)}"}, headers=admin
        )
        assert created.status_code == 201, created.text
        identity = created.json()["id"]
        action = {
            "agent_identity_id": identity,
            "incoming_call_action": "auto_accept",
            "client_websocket_url": "wss://agent.example.com/a",
        }
        put = await stack.http.put("/api/v1/phone/incoming-call-action", json=action, headers=admin)
        assert put.status_code == 200, put.text
        change = await watch.next()
        assert (change.kind, change.id) == (CALL_TARGET, identity)
        assert change.version > 0 and change.stream_id

        rejected = await stack.http.put(
            "/api/v1/phone/incoming-call-action",
            json={**action, "incoming_call_action": "forward"},  # no destination: 422
            headers=admin,
        )
        assert rejected.status_code == 422
        key = await stack.http.post(
            "/api/v1/api-keys",
            json={"label": "x", "scoped_identity_id": identity},
            headers=admin,
        )
        assert key.status_code == 201, key.text
        key_id = key.json()["record"]["id"]
        revoked = await stack.http.delete(f"/api/v1/api-keys/{key_id}", headers=admin)
        assert revoked.status_code in (200, 204), revoked.text
        change = await watch.next()  # the rejected write published nothing
        assert (change.kind, change.id) == (API_KEY, key_id)

        handle = created.json()["agent_handle"]
        rotated = await stack.http.post(f"/api/v1/identities/{handle}/signing-key", headers=admin)
        assert rotated.status_code in (200, 201), rotated.text
        change = await watch.next()
        assert (change.kind, change.id) == (CALL_TARGET, identity)

        hours_url = f"/api/v1/identities/{handle}/business-hours"
        hours = {
            "schedule": {"time_zone": "UTC", "weekly": {}},
            "outside_hours_action": {"action": "reject"},
        }
        for method in ("PUT", "DELETE"):
            written = await stack.http.request(method, hours_url, json=hours, headers=admin)
            assert written.status_code in (200, 204), written.text
            change = await watch.next()
            assert (change.kind, change.id) == (CALL_TARGET, identity)
    finally:
        watch.call.cancel()


async def test_the_stream_requires_the_internal_token(stack: Stack, tmp_path: Path) -> None:
    config_settings, _ = service_settings(
        stack.database_urls, tmp_path, internal_token=SecretStr("the-internal-token")
    )
    server = await config_server.start(config_settings)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            for metadata in ((), (("x-switchboard-internal-token", "wrong"),)):
                refused = Watch(channel, metadata)
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    await refused.next()
                assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
            allowed = Watch(channel, (("x-switchboard-internal-token", "the-internal-token"),))
            assert (await allowed.next(skip_heartbeats=False)).kind == RESYNC
            allowed.call.cancel()
    finally:
        await server.stop(0.5)
