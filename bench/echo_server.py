"""A bare gRPC echo served by a process built like the Switchboard services.

Same start-up (``start_grpc_server``: the request-context and domain-error interceptors,
one method table, health, reflection), the services' event loop, single process: the
ceiling for a unary Python gRPC call on this machine. One difference: its per-RPC log line
goes through ``logging.basicConfig``'s plain formatter, not the JSON formatter a service
installs (``logs.configure``), so it spends a little less per RPC on that line.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

import grpc
from switchboard.bench.v1 import echo_pb2, echo_pb2_grpc

from services.common.process import event_loop
from services.common.rpc.server import GrpcServer, serve_until_signalled, start_grpc_server

SERVICE_NAME = echo_pb2.DESCRIPTOR.services_by_name["EchoService"].full_name
PROCESS_NAME = "bench-echo"


class EchoServicer(echo_pb2_grpc.EchoServiceServicer):
    """``switchboard.bench.v1.EchoService``."""

    async def Echo(
        self, request: echo_pb2.EchoRequest, context: grpc.aio.ServicerContext
    ) -> echo_pb2.EchoResponse:
        return echo_pb2.EchoResponse(payload=request.payload)


async def start(host: str, port: int) -> GrpcServer:
    """Start the echo server; SERVING at once (it has nothing to prepare)."""
    servicer = EchoServicer()
    server = await start_grpc_server(
        host=host,
        port=port,
        registrars=[lambda s: echo_pb2_grpc.add_EchoServiceServicer_to_server(servicer, s)],
        service_names=[SERVICE_NAME],
    )
    await server.mark_serving()
    return server


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; prints the bound port like ``switchboard serve``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    # The root configuration services/cli.py starts with (a service then installs its JSON one).
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    # The services' event loop too (uvloop unless SWITCHBOARD_EVENT_LOOP says otherwise).
    event_loop.run(
        serve_until_signalled(lambda: start(args.host, args.port), name=PROCESS_NAME, grace=1.0)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
