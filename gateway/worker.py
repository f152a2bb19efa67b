"""A gateway worker process: ``python -m gateway.worker FD NUMBER PARENT_PID``.

Started by ``gateway.workers`` with the parent's listening socket as descriptor ``FD``.
Stops like a one-process gateway (SIGTERM drains, SIGINT stops at once) and, when the
parent dies even by ``kill -9``, stops at once (SIGINT): the socket's owner is gone and
the port must come free for the next gateway.
"""

from __future__ import annotations

import signal
import socket
import sys
from collections.abc import Sequence
from types import FrameType

from services.common.process import event_loop
from services.common.process.shutdown import STOP_SIGNALS, StopRequest, die_with_parent


def main(argv: Sequence[str]) -> int:
    """Serve the inherited socket until asked to stop; the exit status."""
    fd, number, parent = (int(value) for value in argv)
    stop = StopRequest()

    # Until the server takes over its signals, a stop request is only recorded: a
    # signal during start-up then stops the worker as soon as it serves, quietly.
    def record(signum: int, _frame: FrameType | None) -> None:
        stop.record(signum)

    for signum in STOP_SIGNALS:
        signal.signal(signum, record)
    die_with_parent(parent, signal.SIGINT)

    from gateway.server import serve_worker
    from gateway.settings import GatewaySettings

    listener = socket.socket(fileno=fd)
    event_loop.run(serve_worker(GatewaySettings(), listener, number, stop))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
