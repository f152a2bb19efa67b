"""A process's servicers are served from one method table, not as grpc registered methods."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from switchboard.bench.v1 import echo_pb2, echo_pb2_grpc

from bench import echo_server
from services.common.rpc.method_table import MethodTable, register_all
from tests.support.reflection import listed_services

ECHO = "/switchboard.bench.v1.EchoService/Echo"
REPO_ROOT = Path(__file__).resolve().parents[3]


def _echo_handlers() -> dict[str, grpc.RpcMethodHandler]:
    return {"Echo": grpc.unary_unary_rpc_method_handler(lambda request, context: request)}


class _Details(grpc.HandlerCallDetails):
    def __init__(self, method: str) -> None:
        self.method = method
        self.invocation_metadata = ()


class _Server:
    """Records what :func:`register_all` adds to the real server."""

    def __init__(self) -> None:
        self.generic: list[grpc.GenericRpcHandler] = []
        self.registered: list[str] = []

    def add_generic_rpc_handlers(self, handlers: tuple[grpc.GenericRpcHandler, ...]) -> None:
        self.generic.extend(handlers)

    def add_registered_method_handlers(self, service: str, handlers: object) -> None:
        self.registered.append(service)


def test_generated_registrars_land_in_one_table_and_nothing_is_registered() -> None:
    server = _Server()
    table = register_all(
        server,
        [
            lambda s: echo_pb2_grpc.add_EchoServiceServicer_to_server(
                echo_server.EchoServicer(), s
            ),
            lambda s: health_pb2_grpc.add_HealthServicer_to_server(
                health_pb2_grpc.HealthServicer(), s
            ),
        ],
    )
    assert server.registered == []
    assert server.generic == [table]
    health_methods = health_pb2.DESCRIPTOR.services_by_name["Health"].methods
    assert len(table) == 1 + len(health_methods)
    handler = table.service(_Details(ECHO))
    assert handler is not None and handler.unary_unary is not None
    assert table.service(_Details("/grpc.health.v1.Health/Watch")) is not None
    assert table.service(_Details("/switchboard.bench.v1.EchoService/Nope")) is None
    assert table.service(_Details("Echo")) is None


def test_a_registrar_that_only_adds_generic_handlers_keeps_them() -> None:
    server = _Server()
    legacy = grpc.method_handlers_generic_handler("legacy.Service", _echo_handlers())
    table = register_all(server, [lambda s: s.add_generic_rpc_handlers((legacy,))])
    assert server.generic == [legacy, table]
    assert len(table) == 0


def test_a_method_served_twice_is_refused() -> None:
    table = MethodTable()
    table.add("s.Service", _echo_handlers())
    with pytest.raises(ValueError, match="already served"):
        table.add("s.Service", _echo_handlers())


_PENDING_REQUESTS = """
import asyncio
from bench import echo_server

async def main():
    server = await echo_server.start("127.0.0.1", 0)
    names = sorted(
        task.get_coro().__qualname__
        for task in asyncio.all_tasks()
        if "_request" in getattr(task.get_coro(), "__qualname__", "")
    )
    await server.stop(0)
    print(",".join(names))

asyncio.run(main())
"""


def test_a_running_server_waits_on_one_request_whatever_it_serves() -> None:
    """grpc's asyncio server keeps a request task per registered method and waits on all of
    them for every RPC; served from the table, only the one generic request is pending.

    Counted in a process of its own: the suite's event loop also runs other servers.
    """
    counted = subprocess.run(
        [sys.executable, "-c", _PENDING_REQUESTS],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=REPO_ROOT,
    )
    assert counted.stdout.strip().splitlines()[-1] == "AioServer._request_call"


async def test_a_server_served_from_the_table_answers_as_before() -> None:
    server = await echo_server.start("127.0.0.1", 0)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            answer = await echo_pb2_grpc.EchoServiceStub(channel).Echo(
                echo_pb2.EchoRequest(payload="x"), timeout=10
            )
            assert answer.payload == "x"
            health = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=10
            )
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            services = await listed_services(channel, timeout=10)
            assert "switchboard.bench.v1.EchoService" in services
            missing = channel.unary_unary(
                "/switchboard.bench.v1.EchoService/Nope",
                request_serializer=echo_pb2.EchoRequest.SerializeToString,
                response_deserializer=echo_pb2.EchoResponse.FromString,
            )
            with pytest.raises(grpc.aio.AioRpcError) as failure:
                await missing(echo_pb2.EchoRequest(payload="x"), timeout=10)
            assert failure.value.code() == grpc.StatusCode.UNIMPLEMENTED
    finally:
        await server.stop(0)
