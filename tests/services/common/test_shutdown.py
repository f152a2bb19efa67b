"""Stop requests (which signal drains) and dying with the ``serve all`` supervisor."""

from __future__ import annotations

import asyncio
import signal
import sys

from services.common.process.shutdown import SUPERVISOR_PID_VARIABLE, StopRequest, signal_name
from tests.support.processes import cli_env


def test_sigterm_drains_and_a_later_sigint_cuts_the_drain_short() -> None:
    stop = StopRequest()
    assert not stop.requested
    assert stop.record(signal.SIGTERM)
    assert stop.drains
    assert not stop.record(signal.SIGTERM)
    assert not stop.record(signal.SIGINT)
    assert (stop.signum, stop.drains) == (signal.SIGTERM, False)


def test_ctrl_c_stops_without_draining_and_repeats_change_nothing() -> None:
    stop = StopRequest()
    assert stop.record(signal.SIGINT)
    assert not stop.record(signal.SIGINT)
    assert (stop.signum, stop.requested, stop.drains) == (signal.SIGINT, True, False)
    assert signal_name(stop.signum) == "SIGINT"
    assert signal_name(None) == "exit"


async def test_a_child_whose_supervisor_is_gone_stops_itself() -> None:
    # The recorded supervisor is not this child's parent: it is already "gone", which the
    # parent watcher (the fallback to PR_SET_PDEATHSIG) notices at once.
    script = (
        "import time\n"
        "from services.common.process.shutdown import die_with_supervisor\n"
        "die_with_supervisor()\n"
        "time.sleep(60)\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, env=cli_env(**{SUPERVISOR_PID_VARIABLE: "1"})
    )
    assert await asyncio.wait_for(process.wait(), timeout=30) == -signal.SIGTERM


async def test_outside_serve_all_nothing_is_watched() -> None:
    script = (
        "from services.common.process.shutdown import die_with_supervisor\n"
        "import threading\n"
        "die_with_supervisor()\n"
        "assert threading.active_count() == 1\n"
    )
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", script, env=cli_env())
    assert await asyncio.wait_for(process.wait(), timeout=30) == 0
