"""ConfigService gRPC helpers of the tests: key metadata, new identities (errors: rpc_errors)."""

from __future__ import annotations

import uuid

from switchboard.config.v1 import config_pb2, config_pb2_grpc

Metadata = tuple[tuple[str, str], ...]


def key_metadata(api_key: str) -> Metadata:
    """gRPC metadata carrying ``api_key``."""
    return (("x-api-key", api_key),)


async def create_identity(
    stub: config_pb2_grpc.ConfigServiceStub, metadata: Metadata
) -> config_pb2.AgentIdentity:
    """A new identity with a unique handle."""
    request = config_pb2.CreateAgentIdentityRequest(
        agent_identity=config_pb2.AgentIdentity(agent_handle=f"grpc-{uuid.uuid4().hex[:12]}")
    )
    identity: config_pb2.AgentIdentity = await stub.CreateAgentIdentity(request, metadata=metadata)
    return identity
