"""``CallRoutingService``: the routing decision RPC, protobuf in and out."""

from __future__ import annotations

from switchboard.registry.v1 import registry_pb2_grpc

from services.registry.servicer import RegistryServicerBase


class CallRoutingServicer(RegistryServicerBase, registry_pb2_grpc.CallRoutingServiceServicer):
    """``switchboard.registry.v1.CallRoutingService``."""
