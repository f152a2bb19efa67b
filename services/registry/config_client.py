"""The registry's client of the config service, with a bounded-staleness auth cache."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import grpc
from switchboard.config.v1 import config_pb2, config_pb2_grpc

from services.common.auth import INTERNAL_TOKEN_HEADER, Principal, Scope
from services.common.errors import (
    Cancelled,
    DeadlineExceeded,
    FailedPrecondition,
    NotFound,
    SwitchboardError,
    Unavailable,
)
from services.common.observability import request_context
from services.common.process.local_secrets import is_configured
from services.common.rpc.channels import open_channel
from services.common.rpc.error_codec import from_rpc_error
from services.registry.call_target import CallTarget, Identity
from services.registry.config_messages import call_target_from_proto, identity_from_proto
from services.registry.settings import RegistrySettings

_AUTH_CACHE_MAX_ENTRIES = 10_000
_SCOPES = {
    config_pb2.PRINCIPAL_SCOPE_ADMIN: Scope.ADMIN,
    config_pb2.PRINCIPAL_SCOPE_IDENTITY: Scope.IDENTITY,
}


class ConfigClient:
    """Calls ``ConfigInternalService``; errors come back as domain exceptions.

    Authentication results are cached per process for at most
    ``auth_cache_ttl_seconds`` (30 s at most by settings), which bounds how long
    a revoked key keeps working here. Failures are never cached.
    """

    def __init__(
        self,
        channel: grpc.aio.Channel,
        settings: RegistrySettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._channel = channel
        self._clock = clock
        self._stub = config_pb2_grpc.ConfigInternalServiceStub(channel)
        self._timeout = settings.config_timeout_seconds
        self._ttl = settings.auth_cache_ttl_seconds
        if settings.internal_token is None or not is_configured(settings.internal_token):
            raise FailedPrecondition(
                "the registry needs the config service's internal token (SWITCHBOARD_INTERNAL_TOKEN"
                ", or the one `switchboard serve` generates in the data dir)",
                reason="INTERNAL_TOKEN_REQUIRED",
            )
        self._metadata = ((INTERNAL_TOKEN_HEADER, settings.internal_token.get_secret_value()),)
        self._auth_cache: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    @classmethod
    def connect(
        cls, settings: RegistrySettings, *, clock: Callable[[], float] = time.monotonic
    ) -> ConfigClient:
        """A client on a new (lazily connecting, TLS if configured) channel to config.

        Built once per process at start-up: every RPC shares the channel. ``clock`` (seconds,
        monotonic) times the auth cache; tests pass a fake one.
        """
        return cls(open_channel(settings.config_address, settings), settings, clock=clock)

    async def close(self) -> None:
        """Close the channel."""
        await self._channel.close()

    async def authenticate(self, credential: str) -> Principal:
        """The principal of ``credential``; Unauthenticated when it is not a live key."""
        cache_key = hashlib.sha256(credential.encode()).hexdigest()
        now = self._clock()
        cached = self._auth_cache.get(cache_key)
        if cached is not None and cached[0] > now:
            return cached[1]
        response: config_pb2.Principal = await self._call(
            self._stub.Authenticate, config_pb2.AuthenticateRequest(credential=credential)
        )
        principal = Principal(
            account_id=response.account_id,
            scope=_SCOPES.get(response.scope, Scope.IDENTITY),
            api_key_id=response.api_key_id,
            identity_id=(
                response.agent_identity_id if response.HasField("agent_identity_id") else None
            ),
        )
        if self._ttl > 0:
            self._auth_cache[cache_key] = (now + self._ttl, principal)
            self._auth_cache.move_to_end(cache_key)
            while len(self._auth_cache) > _AUTH_CACHE_MAX_ENTRIES:
                self._auth_cache.popitem(last=False)
        return principal

    def forget_key(self, api_key_id: str) -> None:
        """Drop cached authentications of one API key (it was revoked)."""
        for cache_key in [
            k for k, (_, p) in self._auth_cache.items() if p.api_key_id == api_key_id
        ]:
            del self._auth_cache[cache_key]

    def forget_all_keys(self) -> None:
        """Drop every cached authentication (the change stream could not resume)."""
        self._auth_cache.clear()

    def watch_changes(self, stream_id: str, after_version: int) -> Any:
        """The ``WatchChanges`` stream call (read it with ``await call.read()``)."""
        return self._stub.WatchChanges(
            config_pb2.WatchChangesRequest(stream_id=stream_id, after_version=after_version),
            metadata=self._metadata,
        )

    async def get_identities(self, account_id: str, ids: Iterable[str]) -> dict[str, Identity]:
        """The account's identities among ``ids``, by id (others are simply absent)."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        response: config_pb2.BatchGetAgentIdentitiesResponse = await self._call(
            self._stub.BatchGetAgentIdentities,
            config_pb2.BatchGetAgentIdentitiesRequest(account_id=account_id, ids=wanted),
        )
        return {
            identity.id: identity_from_proto(identity) for identity in response.agent_identities
        }

    async def resolve_call_target(self, identity_id: str) -> CallTarget | None:
        """Identity, call action and signing key in one round trip; None if no identity."""
        try:
            target: config_pb2.CallTarget = await self._call(
                self._stub.ResolveCallTarget,
                config_pb2.ResolveCallTargetRequest(agent_identity_id=identity_id),
            )
        except NotFound:
            return None
        return call_target_from_proto(target)

    async def _call(self, method: Any, request: object) -> Any:
        """One RPC within ``config_timeout_seconds`` or the caller's remaining time if less."""
        try:
            return await method(
                request,
                timeout=request_context.timeout_for(self._timeout),
                metadata=(*self._metadata, *request_context.outgoing_metadata()),
            )
        except grpc.aio.AioRpcError as error:
            raise _domain_error(error) from None


def _domain_error(error: grpc.aio.AioRpcError) -> SwitchboardError:
    """Config's error as config described it; unreachable (or out of the registry's time for
    it) is CONFIG_UNAVAILABLE, unless the caller's own deadline is what ran out."""
    decoded = from_rpc_error(error)
    if not isinstance(decoded, Unavailable | DeadlineExceeded | Cancelled):
        return decoded
    if isinstance(decoded, DeadlineExceeded) and _caller_out_of_time():
        return DeadlineExceeded("the caller's deadline passed while asking the config service")
    name = error.code().name
    return Unavailable(f"config service unavailable ({name})", reason="CONFIG_UNAVAILABLE")


def _caller_out_of_time() -> bool:
    """Whether the caller's own deadline (not config's time limit) is what ran out."""
    context = request_context.current()
    remaining = None if context is None else context.remaining()
    return remaining is not None and remaining <= request_context.DEADLINE_RESERVE_SECONDS
