"""The gateway's process model: one process, or a parent and N worker processes on one socket.

``SWITCHBOARD_GATEWAY_WORKERS=1`` serves in the gateway process itself (``gateway.server``).
Above 1, this parent binds the listening socket once (so port 0 and the banner's port are
the real ones), then starts each worker as a fresh interpreter (``gateway.worker``, via
``subprocess``: nothing gRPC is ever forked) that inherits the socket's descriptor and serves
it with its own uvicorn, event loop, gRPC channels and caches; the kernel hands each new
connection to one of them. The parent imports neither uvicorn nor the app: it only forwards
stop signals, restarts a worker that died (with a backoff) and cleans its metrics files.

Metrics: the parent creates a private ``PROMETHEUS_MULTIPROC_DIR`` that only the workers'
environment names, so every worker records into its own files there from its first import
of prometheus_client, and any worker's ``/metrics`` answers the sum over all of them.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from types import FrameType
from typing import Final

from gateway import lifecycle
from gateway.settings import GatewaySettings
from services.common.observability import logs
from services.common.process import event_loop
from services.common.process.shutdown import (
    STOP_SIGNALS,
    SUPERVISOR_PID_VARIABLE,
    StopRequest,
)

POLL_SECONDS: Final = 0.1
FIRST_RESTART_DELAY_SECONDS: Final = 0.5
MAX_RESTART_DELAY_SECONDS: Final = 10.0
STEADY_SECONDS: Final = 30.0
"""A worker that served this long before it died restarts after the first delay again."""
KILL_MARGIN_SECONDS: Final = 10.0
"""How long past drain and grace a worker may take to stop before it is killed."""
LISTEN_BACKLOG: Final = 2048  # uvicorn's default
MULTIPROCESS_DIR_VARIABLE: Final = "PROMETHEUS_MULTIPROC_DIR"

_log = logging.getLogger("switchboard.gateway.workers")


def serve_gateway(settings: GatewaySettings | None = None) -> int:
    """Serve the gateway in this process or through worker processes; the exit status."""
    settings = settings or GatewaySettings()
    if settings.gateway_workers == 1:
        from gateway.server import serve

        event_loop.run(serve(settings))
        return 0
    # Refused here, once, rather than by every worker as it restarts.
    event_loop.loop_factory()
    return Parent(settings).run()


@dataclass
class Slot:
    """One worker place: its current process (if any) and when to start the next one."""

    number: int
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float = 0.0
    delay: float = FIRST_RESTART_DELAY_SECONDS


@dataclass
class Parent:
    """Binds, starts and watches the workers; forwards stop signals to them."""

    settings: GatewaySettings
    stop: StopRequest = field(default_factory=StopRequest)
    slots: list[Slot] = field(default_factory=list)

    def run(self) -> int:
        settings = self.settings
        logs.configure("gateway", settings.log_level, settings.secret_values())
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._record)
        try:
            listener = bind(settings.bind_host, settings.gateway_port)
        except OSError as error:
            where = f"{settings.bind_host}:{settings.gateway_port}"
            print(
                f"switchboard gateway: cannot listen on {where}: {error.strerror}; "
                "set SWITCHBOARD_GATEWAY_PORT to a free port",
                file=sys.stderr,
                flush=True,
            )
            return 1
        with listener, tempfile.TemporaryDirectory(prefix="switchboard-gateway-") as metrics_dir:
            port = int(listener.getsockname()[1])
            lifecycle.listening(settings.bind_host, port, settings.gateway_workers)
            self.slots = [Slot(number) for number in range(1, settings.gateway_workers + 1)]
            self._supervise(listener, metrics_dir)
        lifecycle.stopped()
        return 0

    def _record(self, signum: int, _frame: FrameType | None) -> None:
        self.stop.record(signum)

    def _supervise(self, listener: socket.socket, metrics_dir: str) -> None:
        forwarded: set[int] = set()
        deadline: float | None = None
        while True:
            now = time.monotonic()
            for slot in self.slots:
                self._reap(slot, metrics_dir, now)
                if not self.stop.requested and slot.process is None and now >= slot.restart_at:
                    self._start(slot, listener, metrics_dir)
            if self.stop.requested:
                wanted = signal.SIGINT if self.stop.interrupted else signal.SIGTERM
                if wanted not in forwarded:
                    # A SIGTERM drains; a SIGINT (first or after it) stops at once.
                    if not forwarded:
                        lifecycle.draining(self.settings, self.stop)
                    forwarded.add(wanted)
                    self._signal_all(wanted)
                    deadline = now + self._stop_budget()
                if all(slot.process is None for slot in self.slots):
                    return
                if deadline is not None and now >= deadline:
                    self._kill_all()
            time.sleep(POLL_SECONDS)

    def _stop_budget(self) -> float:
        drain = self.settings.shutdown_drain_seconds if self.stop.drains else 0.0
        return drain + self.settings.shutdown_grace_seconds + KILL_MARGIN_SECONDS

    def _start(self, slot: Slot, listener: socket.socket, metrics_dir: str) -> None:
        env = {**os.environ, MULTIPROCESS_DIR_VARIABLE: metrics_dir}
        # The workers die with this process, not with a ``serve all`` supervisor above it.
        env.pop(SUPERVISOR_PID_VARIABLE, None)
        fd = listener.fileno()
        slot.process = subprocess.Popen(
            [sys.executable, "-m", "gateway.worker", str(fd), str(slot.number), str(os.getpid())],
            env=env,
            pass_fds=(fd,),
        )
        slot.started_at = time.monotonic()
        logs.event(_log, "gateway worker started", worker=slot.number, pid=slot.process.pid)

    def _reap(self, slot: Slot, metrics_dir: str, now: float) -> None:
        process = slot.process
        if process is None or process.poll() is None:
            return
        slot.process = None
        _forget_metrics_of(process.pid, metrics_dir)
        if self.stop.requested:
            return
        if now - slot.started_at >= STEADY_SECONDS:
            slot.delay = FIRST_RESTART_DELAY_SECONDS
        slot.restart_at = now + slot.delay
        logs.event(
            _log,
            "gateway worker exited; restarting it",
            logging.WARNING,
            worker=slot.number,
            pid=process.pid,
            status=_status(process.returncode),
            restart_in_s=slot.delay,
        )
        slot.delay = min(slot.delay * 2, MAX_RESTART_DELAY_SECONDS)

    def _signal_all(self, signum: int) -> None:
        for slot in self.slots:
            if slot.process is not None and slot.process.poll() is None:
                slot.process.send_signal(signum)

    def _kill_all(self) -> None:
        for slot in self.slots:
            if slot.process is not None and slot.process.poll() is None:
                logs.event(
                    _log,
                    "gateway worker did not stop in time; killed",
                    logging.WARNING,
                    worker=slot.number,
                    pid=slot.process.pid,
                )
                slot.process.kill()


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0: an ephemeral port), shared by the workers."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    listener = socket.socket(family, kind, proto)
    try:
        # As uvicorn's own listener: a port in TIME_WAIT is free, a listener is not.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(LISTEN_BACKLOG)
    except BaseException:
        listener.close()
        raise
    return listener


def _forget_metrics_of(pid: int, metrics_dir: str) -> None:
    """Drop a dead worker's live gauges (its in-flight count); its counters stay in the sum."""
    from prometheus_client.multiprocess import mark_process_dead

    mark_process_dead(pid, metrics_dir)  # type: ignore[no-untyped-call]


def _status(returncode: int) -> str:
    if returncode < 0:
        return signal.Signals(-returncode).name
    return str(returncode)
