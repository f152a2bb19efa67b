"""Start-up and graceful shutdown of a gRPC server with health checking and reflection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc

from services.common.process.heap import freeze_startup_heap
from services.common.process.shutdown import STOP_SIGNALS, StopRequest, signal_name
from services.common.rpc.error_interceptor import DomainErrorInterceptor
from services.common.rpc.method_table import Registrar, register_all
from services.common.rpc.observe import RequestContextInterceptor
from services.common.rpc.options import SERVER_OPTIONS
from services.common.settings import DatabaseServiceSettings

_log = logging.getLogger(__name__)

ServicerContext: TypeAlias = Any
"""``grpc.aio.ServicerContext`` (grpcio ships no type information)."""


@dataclass
class GrpcServer:
    """A started server whose health stays NOT_SERVING until :meth:`mark_serving`."""

    server: grpc.aio.Server
    port: int
    service_names: Sequence[str]
    health_servicer: health.aio.HealthServicer
    metrics_port: int | None = None
    """Where its Prometheus metrics are served (None: not served)."""
    _on_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def mark_serving(self) -> None:
        """Report SERVING for the server as a whole and for each service."""
        for name in ("", *self.service_names):
            await self.health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)

    def on_stop(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run ``callback`` after the server has stopped (e.g. dispose an engine)."""
        self._on_stop.append(callback)

    async def enter_drain(self) -> None:
        """Report NOT_SERVING (``Check`` and ``Watch``) for good; RPCs are still served."""
        await self.health_servicer.enter_graceful_shutdown()

    async def stop(self, grace: float) -> None:
        """NOT_SERVING, refuse new RPCs, let in-flight ones finish for up to ``grace`` seconds."""
        await self.enter_drain()
        await self.server.stop(grace)
        for callback in reversed(self._on_stop):
            await callback()


def size_options(settings: DatabaseServiceSettings) -> list[tuple[str, int | str]]:
    """Server options enforcing the settings' message and metadata size limits."""
    return [
        ("grpc.max_receive_message_length", settings.grpc_max_message_bytes),
        ("grpc.max_metadata_size", settings.grpc_max_metadata_bytes),
        ("grpc.absolute_max_metadata_size", settings.grpc_max_metadata_bytes),
    ]


async def start_grpc_server(
    *,
    host: str,
    port: int,
    registrars: Sequence[Registrar],
    service_names: Sequence[str],
    options: Sequence[tuple[str, int | str]] = (),
    credentials: grpc.ServerCredentials | None = None,
) -> GrpcServer:
    """Bind, register health and reflection, and start; health starts NOT_SERVING.

    ``port`` 0 picks an ephemeral port; the bound port is asserted and returned.
    ``credentials`` (TLS) make the port refuse plaintext clients.
    """
    server = grpc.aio.server(
        interceptors=[RequestContextInterceptor(), DomainErrorInterceptor()],
        # One process owns the port: never share it silently with a stale instance.
        options=[("grpc.so_reuseport", 0), *SERVER_OPTIONS, *options],
    )
    health_servicer = health.aio.HealthServicer()
    register_all(
        server,
        [
            *registrars,
            lambda s: health_pb2_grpc.add_HealthServicer_to_server(health_servicer, s),
            lambda s: reflection_pb2_grpc.add_ServerReflectionServicer_to_server(
                reflection.aio.ReflectionServicer(
                    [*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME]
                ),
                s,
            ),
        ],
    )
    address = f"{host}:{port}"
    if credentials is None:
        bound = server.add_insecure_port(address)
    else:
        bound = server.add_secure_port(address, credentials)
    if bound == 0 or (port and bound != port):
        raise RuntimeError(f"could not bind gRPC server to {host}:{port}")
    await server.start()
    for name in ("", *service_names):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    return GrpcServer(server, bound, service_names, health_servicer)


async def serve_until_signalled(
    start: Callable[[], Awaitable[GrpcServer]], *, name: str, grace: float, drain: float = 0.0
) -> None:
    """Run a server until a stop signal, then drain (SIGTERM) and shut it down gracefully.

    SIGTERM: health reports NOT_SERVING on ``Check`` and ``Watch`` for ``drain`` seconds
    while every RPC, new ones included, is still served; then new RPCs are refused and
    in-flight ones get ``grace`` seconds to finish.
    SIGINT skips (or cuts short) the drain delay. Further signals change nothing.
    """
    stop = StopRequest()
    stopping = asyncio.Event()
    interrupted = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        stop.record(signum)
        stopping.set()
        if stop.interrupted:
            interrupted.set()

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, on_signal, signum)
    running = await start()
    freeze_startup_heap()
    _log.info("%s listening on port %d", name, running.port)
    print(f"switchboard {name}: gRPC listening on port {running.port}", flush=True)
    waiter = asyncio.create_task(running.server.wait_for_termination())
    stopper = asyncio.create_task(stopping.wait())
    await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
    await running.enter_drain()
    if stop.drains and drain > 0:
        print(
            f"switchboard {name}: {signal_name(stop.signum)}: health NOT_SERVING, draining "
            f"for {drain:g} s, then in-flight RPCs get up to "
            f"{grace:g} s",
            flush=True,
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(interrupted.wait(), timeout=drain)
    await running.stop(grace)
    waiter.cancel()
    stopper.cancel()
    print(f"switchboard {name}: stopped", flush=True)
