"""``ConfigService``: the public config RPCs, protobuf in and out, no SQL."""

from __future__ import annotations

from typing import Any

from google.protobuf import empty_pb2
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from switchboard.config.v1 import config_pb2, config_pb2_grpc

from services.common.errors import InvalidArgument
from services.common.rpc.server import ServicerContext as Context
from services.common.storage import idempotency
from services.config import api_keys, business_hours, call_actions, identities, signing_keys
from services.config.authentication import Authenticator
from services.config.call_target_read import CallTargetReader
from services.config.convert import (
    api_key_to_proto,
    business_hours_to_proto,
    business_hours_update,
    call_action_to_proto,
    call_action_update,
    identity_view_to_proto,
    overflow_chain_from_proto,
    requested_identity_id,
    signing_key_status_to_proto,
    signing_key_to_proto,
)
from services.config.settings import ConfigSettings


class ConfigServicer(config_pb2_grpc.ConfigServiceServicer):
    """``switchboard.config.v1.ConfigService``; every RPC authenticates the caller first."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        readers: async_sessionmaker[AsyncSession],
        targets: CallTargetReader,
        authenticator: Authenticator,
        settings: ConfigSettings,
    ) -> None:
        self._sessions = sessions
        self._readers = readers
        self._targets = targets
        self._authenticator = authenticator
        self._settings = settings

    async def GetIncomingCallAction(
        self, request: config_pb2.GetIncomingCallActionRequest, context: Context
    ) -> config_pb2.IncomingCallAction:
        principal = await self._authenticator.authenticate_call(context)
        action = await call_actions.get_call_action(
            self._targets, principal, request.agent_identity_id or None
        )
        return call_action_to_proto(action)

    async def UpdateIncomingCallAction(
        self, request: config_pb2.UpdateIncomingCallActionRequest, context: Context
    ) -> config_pb2.IncomingCallAction:
        principal = await self._authenticator.authenticate_call(context)
        values, fields = call_action_update(request)
        action = await call_actions.update_call_action(
            self._sessions,
            principal,
            requested_identity_id(request.incoming_call_action),
            values,
            fields,
            allow_private_urls=self._settings.allow_private_urls,
        )
        return call_action_to_proto(action)

    async def CreateAgentIdentity(
        self, request: config_pb2.CreateAgentIdentityRequest, context: Context
    ) -> config_pb2.AgentIdentity:
        principal = await self._authenticator.authenticate_call(context)
        given = request.agent_identity

        async def create() -> config_pb2.AgentIdentity:
            identity = await identities.create_identity(
                self._sessions,
                principal,
                given.agent_handle,
                given.display_name or None,
                given.description if given.HasField("description") else None,
                max_concurrent_calls=(
                    given.max_concurrent_calls if given.HasField("max_concurrent_calls") else None
                ),
                overflow_chain=overflow_chain_from_proto(given.overflow_chain),
            )
            return identity_view_to_proto(identity)

        return await idempotency.once(
            self._sessions, principal, request, config_pb2.AgentIdentity, create
        )

    async def GetAgentIdentity(
        self, request: config_pb2.GetAgentIdentityRequest, context: Context
    ) -> config_pb2.AgentIdentity:
        principal = await self._authenticator.authenticate_call(context)
        identity = await identities.get_identity(self._readers, principal, request.agent_handle)
        return identity_view_to_proto(identity)

    async def ListAgentIdentities(
        self, request: config_pb2.ListAgentIdentitiesRequest, context: Context
    ) -> config_pb2.ListAgentIdentitiesResponse:
        principal = await self._authenticator.authenticate_call(context)
        page = await identities.list_identities(
            self._readers, principal, request.page_size, request.page_token
        )
        return config_pb2.ListAgentIdentitiesResponse(
            agent_identities=[identity_view_to_proto(identity) for identity in page.identities],
            next_page_token=page.next_page_token,
        )

    async def UpdateAgentIdentity(
        self, request: config_pb2.UpdateAgentIdentityRequest, context: Context
    ) -> config_pb2.AgentIdentity:
        principal = await self._authenticator.authenticate_call(context)
        given = request.agent_identity
        values: dict[str, Any] = {
            "agent_handle": given.agent_handle or None,
            "display_name": given.display_name or None,
            "description": given.description if given.HasField("description") else None,
            "max_concurrent_calls": (
                given.max_concurrent_calls if given.HasField("max_concurrent_calls") else None
            ),
            "overflow_chain": overflow_chain_from_proto(given.overflow_chain) or None,
        }
        paths = list(request.update_mask.paths)
        for path in paths:
            if path not in identities.UPDATABLE_FIELDS:
                raise InvalidArgument.for_field("update_mask", f"unknown update_mask path {path!r}")
        if not paths:
            paths = [name for name, value in values.items() if value is not None]

        async def update() -> config_pb2.AgentIdentity:
            changes = {path: values[path] for path in paths}
            identity = await identities.update_identity(
                self._sessions, principal, request.agent_handle, changes
            )
            return identity_view_to_proto(identity)

        return await idempotency.once(
            self._sessions, principal, request, config_pb2.AgentIdentity, update
        )

    async def DeleteAgentIdentity(
        self, request: config_pb2.DeleteAgentIdentityRequest, context: Context
    ) -> empty_pb2.Empty:
        principal = await self._authenticator.authenticate_call(context)
        await identities.delete_identity(self._sessions, principal, request.agent_handle)
        return empty_pb2.Empty()

    async def CreateApiKey(
        self, request: config_pb2.CreateApiKeyRequest, context: Context
    ) -> config_pb2.CreateApiKeyResponse:
        principal = await self._authenticator.authenticate_call(context)

        async def create() -> config_pb2.CreateApiKeyResponse:
            minted = await api_keys.create_api_key(
                self._sessions,
                principal,
                request.label,
                request.description if request.HasField("description") else None,
                request.scoped_identity_id or None,
            )
            return config_pb2.CreateApiKeyResponse(
                api_key=minted.secret, record=api_key_to_proto(minted.record)
            )

        return await idempotency.once(
            self._sessions, principal, request, config_pb2.CreateApiKeyResponse, create
        )

    async def ListApiKeys(
        self, request: config_pb2.ListApiKeysRequest, context: Context
    ) -> config_pb2.ListApiKeysResponse:
        principal = await self._authenticator.authenticate_call(context)
        page = await api_keys.list_api_keys(
            self._readers, principal, request.page_size, request.page_token
        )
        return config_pb2.ListApiKeysResponse(
            api_keys=[api_key_to_proto(key) for key in page.api_keys],
            next_page_token=page.next_page_token,
        )

    async def RevokeApiKey(
        self, request: config_pb2.RevokeApiKeyRequest, context: Context
    ) -> config_pb2.ApiKey:
        principal = await self._authenticator.authenticate_call(context)
        key = await api_keys.revoke_api_key(self._sessions, principal, request.api_key_id)
        return api_key_to_proto(key)

    async def GetCallerApiKey(
        self, request: config_pb2.GetCallerApiKeyRequest, context: Context
    ) -> config_pb2.ApiKey:
        principal = await self._authenticator.authenticate_call(context)
        return api_key_to_proto(await api_keys.get_caller_key(self._readers, principal))

    async def GetAgentIdentitySigningKey(
        self, request: config_pb2.GetAgentIdentitySigningKeyRequest, context: Context
    ) -> config_pb2.SigningKeyStatus:
        principal = await self._authenticator.authenticate_call(context)
        status = await signing_keys.get_status(self._readers, principal, request.agent_handle)
        return signing_key_status_to_proto(status)

    async def RotateAgentIdentitySigningKey(
        self, request: config_pb2.RotateAgentIdentitySigningKeyRequest, context: Context
    ) -> config_pb2.SigningKey:
        principal = await self._authenticator.authenticate_call(context)

        async def rotate() -> config_pb2.SigningKey:
            key = await signing_keys.rotate(self._sessions, principal, request.agent_handle)
            return signing_key_to_proto(key)

        return await idempotency.once(
            self._sessions, principal, request, config_pb2.SigningKey, rotate
        )

    async def GetAgentIdentityBusinessHours(
        self, request: config_pb2.GetAgentIdentityBusinessHoursRequest, context: Context
    ) -> config_pb2.BusinessHours:
        principal = await self._authenticator.authenticate_call(context)
        row = await business_hours.get_business_hours(
            self._readers, principal, request.agent_handle
        )
        return business_hours_to_proto(row)

    async def UpdateAgentIdentityBusinessHours(
        self, request: config_pb2.UpdateAgentIdentityBusinessHoursRequest, context: Context
    ) -> config_pb2.BusinessHours:
        principal = await self._authenticator.authenticate_call(context)
        schedule, outside = business_hours_update(request)

        async def update() -> config_pb2.BusinessHours:
            row = await business_hours.set_business_hours(
                self._sessions,
                principal,
                request.agent_handle,
                schedule,
                outside,
                allow_private_urls=self._settings.allow_private_urls,
            )
            return business_hours_to_proto(row)

        return await idempotency.once(
            self._sessions, principal, request, config_pb2.BusinessHours, update
        )

    async def DeleteAgentIdentityBusinessHours(
        self, request: config_pb2.DeleteAgentIdentityBusinessHoursRequest, context: Context
    ) -> empty_pb2.Empty:
        principal = await self._authenticator.authenticate_call(context)
        await business_hours.delete_business_hours(self._sessions, principal, request.agent_handle)
        return empty_pb2.Empty()

    async def GetOrganizationSigningKey(
        self, request: config_pb2.GetOrganizationSigningKeyRequest, context: Context
    ) -> config_pb2.SigningKeyStatus:
        principal = await self._authenticator.authenticate_call(context)
        status = await signing_keys.get_organization_status(self._readers, principal)
        return signing_key_status_to_proto(status)

    async def RotateOrganizationSigningKey(
        self, request: config_pb2.RotateOrganizationSigningKeyRequest, context: Context
    ) -> config_pb2.SigningKey:
        principal = await self._authenticator.authenticate_call(context)

        async def rotate() -> config_pb2.SigningKey:
            return signing_key_to_proto(
                await signing_keys.rotate_organization(self._sessions, principal)
            )

        return await idempotency.once(
            self._sessions, principal, request, config_pb2.SigningKey, rotate
        )
