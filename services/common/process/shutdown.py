"""How a process stops: which signals drain first, and dying with the ``serve all`` supervisor."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass

SUPERVISOR_PID_VARIABLE = "SWITCHBOARD_SUPERVISOR_PID"
"""Set by ``serve all`` in each child's environment: the pid the child must not outlive."""

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
"""Signals that stop a process. SIGINT (Ctrl-C) stops without the drain delay."""

PARENT_POLL_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1


@dataclass
class StopRequest:
    """The first stop signal a process received.

    Later signals never force an abort of in-flight work (``serve all`` under a terminal
    used to deliver Ctrl-C twice); a SIGINT only cuts a drain delay short.
    """

    signum: int | None = None
    interrupted: bool = False

    def record(self, signum: int) -> bool:
        """Note ``signum``; True when it is the first stop request."""
        first = self.signum is None
        if first:
            self.signum = signum
        if signum == signal.SIGINT:
            self.interrupted = True
        return first

    @property
    def requested(self) -> bool:
        """Whether any stop signal arrived."""
        return self.signum is not None

    @property
    def drains(self) -> bool:
        """Whether to report NOT_SERVING and keep serving for the drain delay first."""
        return self.requested and not self.interrupted


def signal_name(signum: int | None) -> str:
    """``SIGTERM`` for 15, ``exit`` for no signal."""
    return signal.Signals(signum).name if signum is not None else "exit"


def die_with_supervisor() -> None:
    """Under ``serve all``: stop (SIGTERM) when the supervisor dies, even by ``kill -9``.

    Does nothing outside ``serve all``. See :func:`die_with_parent`.
    """
    expected = os.environ.get(SUPERVISOR_PID_VARIABLE, "")
    if not expected.isdigit():
        return
    die_with_parent(int(expected), signal.SIGTERM)


def die_with_parent(parent: int, signum: int) -> None:
    """Receive ``signum`` when ``parent`` (this process's parent) dies, even by ``kill -9``.

    On Linux the kernel sends it (``PR_SET_PDEATHSIG``); everywhere, a daemon thread also
    watches the parent pid, which covers other systems and a parent that died before the
    request was made.
    """
    if sys.platform.startswith("linux"):
        _set_parent_death_signal(signum)
    threading.Thread(
        target=_watch_parent, args=(parent, signum), name="parent-watch", daemon=True
    ).start()


def _set_parent_death_signal(signum: int) -> None:
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    libc = ctypes.CDLL(libc_name, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0)


def _watch_parent(parent: int, signum: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os.kill(os.getpid(), signum)
