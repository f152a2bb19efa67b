"""``ConfigInternalService``: what the registry asks of the config service."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator

from grpc_status import rpc_status
from switchboard.config.v1 import config_pb2, config_pb2_grpc

from services.common.auth import INTERNAL_TOKEN_HEADER, Scope
from services.common.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    SwitchboardError,
    Unauthenticated,
)
from services.common.ids import parse_uuid
from services.common.process.local_secrets import is_configured
from services.common.rpc.error_codec import to_status
from services.common.rpc.server import ServicerContext as Context
from services.config.authentication import Authenticator
from services.config.call_target_read import CallTargetReader
from services.config.changes import ChangeLog
from services.config.convert import (
    business_hours_to_proto,
    call_action_to_proto,
    identity_to_proto,
)
from services.config.identity_read import IdentityBatchReader
from services.config.settings import ConfigSettings

MAX_BATCH_IDS = 1000
_SCOPES = {
    Scope.ADMIN: config_pb2.PRINCIPAL_SCOPE_ADMIN,
    Scope.IDENTITY: config_pb2.PRINCIPAL_SCOPE_IDENTITY,
}


class ConfigInternalServicer(config_pb2_grpc.ConfigInternalServiceServicer):
    """Internal RPCs; every one requires the shared internal token (there is no open mode)."""

    def __init__(
        self,
        identities: IdentityBatchReader,
        targets: CallTargetReader,
        authenticator: Authenticator,
        settings: ConfigSettings,
        changes: ChangeLog,
    ) -> None:
        self._authenticator = authenticator
        self._changes = changes
        self._identities = identities
        self._targets = targets
        if settings.internal_token is None or not is_configured(settings.internal_token):
            raise FailedPrecondition(
                "the config service needs an internal token (SWITCHBOARD_INTERNAL_TOKEN, "
                "or the one `switchboard serve` generates in the data dir)",
                reason="INTERNAL_TOKEN_REQUIRED",
            )
        self._token = settings.internal_token.get_secret_value()

    def _check_caller(self, context: Context) -> None:
        presented = dict(context.invocation_metadata() or ()).get(INTERNAL_TOKEN_HEADER, "")
        if not isinstance(presented, str) or not hmac.compare_digest(presented, self._token):
            raise Unauthenticated("internal RPCs require the internal token")

    async def Authenticate(
        self, request: config_pb2.AuthenticateRequest, context: Context
    ) -> config_pb2.Principal:
        self._check_caller(context)
        if not request.credential:
            raise Unauthenticated("missing API key")
        principal = await self._authenticator.authenticate(request.credential)
        message = config_pb2.Principal(
            account_id=principal.account_id,
            scope=_SCOPES[principal.scope],
            api_key_id=principal.api_key_id,
        )
        if principal.identity_id is not None:
            message.agent_identity_id = principal.identity_id
        return message

    async def BatchGetAgentIdentities(
        self, request: config_pb2.BatchGetAgentIdentitiesRequest, context: Context
    ) -> config_pb2.BatchGetAgentIdentitiesResponse:
        self._check_caller(context)
        ids = sorted({parse_uuid(value, "ids") for value in request.ids})
        if len(ids) > MAX_BATCH_IDS:
            raise InvalidArgument.for_field("ids", f"at most {MAX_BATCH_IDS} ids per request")
        account_id = parse_uuid(request.account_id, "account_id")
        found = await self._identities.get(account_id, ids)
        return config_pb2.BatchGetAgentIdentitiesResponse(
            agent_identities=[identity_to_proto(identity) for identity in found]
        )

    async def ResolveCallTarget(
        self, request: config_pb2.ResolveCallTargetRequest, context: Context
    ) -> config_pb2.CallTarget:
        self._check_caller(context)
        identity_id = parse_uuid(request.agent_identity_id, "agent_identity_id")
        resolved = await self._targets.resolve(identity_id)
        if resolved is None:
            raise NotFound(f"agent identity {identity_id} not found")
        target = config_pb2.CallTarget(agent_identity=identity_to_proto(resolved.identity))
        if resolved.action is not None:
            target.incoming_call_action.CopyFrom(call_action_to_proto(resolved.action))
        if resolved.signing_key is not None:
            target.webhook_signing_key = resolved.signing_key
        if resolved.business_hours is not None:
            target.business_hours.CopyFrom(business_hours_to_proto(resolved.business_hours))
        return target

    async def WatchChanges(
        self, request: config_pb2.WatchChangesRequest, context: Context
    ) -> AsyncIterator[config_pb2.ConfigChange]:
        # Streams are not wrapped by the domain-error interceptor: refuse here.
        try:
            self._check_caller(context)
        except SwitchboardError as error:
            await context.abort_with_status(rpc_status.to_status(to_status(error)))
            return
        async for change in self._changes.watch(request.stream_id, request.after_version):
            yield change
