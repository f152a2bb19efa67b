"""Starting, watching and stopping the benchmarked server processes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SWITCHBOARD = (sys.executable, "-m", "services.cli")
ECHO_SERVER = (sys.executable, "-m", "bench.echo_server")
GRPC_LISTENING = re.compile(r"gRPC listening on port (\d+)")
HTTP_LISTENING = re.compile(r"HTTP listening on http://[^\s:]+:(\d+)")
START_TIMEOUT_S = 60.0
STOP_GRACE_S = 5.0


class ProcessFailed(RuntimeError):
    """A server process exited or never reported its port."""


@dataclass
class ServerProcess:
    """A running server: its process, bound port and log file."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (the gateway)."""
        return f"http://{self.address}"

    def peak_rss_mib(self) -> float:
        """VmHWM (peak resident set size) of the process so far, in MiB."""
        return read_vm_hwm_kib(Path(f"/proc/{self.process.pid}/status")) / 1024

    def rss_mib(self) -> float:
        """VmRSS (resident set size now), in MiB."""
        return read_status_kib(Path(f"/proc/{self.process.pid}/status"), "VmRSS") / 1024

    def cpu_seconds(self) -> float:
        """User + system CPU time the process and its live children have used so far."""
        return sum(
            read_cpu_seconds(Path(f"/proc/{pid}/stat"))
            for pid in (self.process.pid, *self.children())
        )

    def children(self) -> list[int]:
        """Pids of its direct children (gateway worker processes)."""
        found: list[int] = []
        for task in Path(f"/proc/{self.process.pid}/task").glob("*/children"):
            found.extend(int(pid) for pid in task.read_text().split())
        return found

    def stop(self) -> None:
        """SIGTERM (graceful shutdown), SIGKILL if it outlives the grace period."""
        stop_process(self.process)


def read_vm_hwm_kib(status_file: Path) -> int:
    """The ``VmHWM`` line of a ``/proc/<pid>/status`` file, in KiB."""
    return read_status_kib(status_file, "VmHWM")


def read_status_kib(status_file: Path, field: str) -> int:
    """One ``<field>: N kB`` line of a ``/proc/<pid>/status`` file, in KiB."""
    for line in status_file.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise ValueError(f"no {field} in {status_file}")


def read_cpu_seconds(stat_file: Path) -> float:
    """utime + stime of a ``/proc/<pid>/stat`` file, in seconds."""
    # Fields after the parenthesised command name (which may contain spaces).
    fields = stat_file.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate ``process`` gracefully, then by force."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_server(
    name: str,
    argv: Sequence[str],
    env: Mapping[str, str],
    log: Path,
    cwd: Path,
    listening: re.Pattern[str] = GRPC_LISTENING,
) -> ServerProcess:
    """Start ``argv`` and wait for its "listening on port" line (``listening``).

    The caller owns the result and must stop it; on failure the process is
    stopped here and the log tail is in the error.
    """
    with log.open("wb") as sink:
        process = subprocess.Popen(
            list(argv), env=dict(env), cwd=cwd, stdout=sink, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            match = listening.search(log.read_text(errors="replace"))
            if match:
                return ServerProcess(name, process, int(match.group(1)), log)
            if process.poll() is not None:
                raise ProcessFailed(f"{name} exited with {process.returncode}:\n{_tail(log)}")
            time.sleep(0.05)
        raise ProcessFailed(f"{name} did not start within {START_TIMEOUT_S:.0f} s:\n{_tail(log)}")
    except BaseException:
        stop_process(process)
        raise


def service_env(**variables: str) -> dict[str, str]:
    """This environment without any ``SWITCHBOARD_*`` variable, plus ``variables``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env.update(variables)
    return env


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
