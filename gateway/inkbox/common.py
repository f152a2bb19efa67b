"""Helpers shared by the Inkbox routes: the config stub."""

from __future__ import annotations

from fastapi import Request
from switchboard.config.v1 import config_pb2_grpc

from gateway.rpc import upstreams


def config_stub(request: Request) -> config_pb2_grpc.ConfigServiceStub:
    """A ConfigService stub on the app's channel to the config service."""
    return upstreams(request).config_stub(config_pb2_grpc.ConfigServiceStub)
