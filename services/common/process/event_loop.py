"""The event loop of every serving process: uvloop when installed, else asyncio's own.

``SWITCHBOARD_EVENT_LOOP`` picks it: ``auto`` (default: uvloop if importable), ``uvloop``
(refuse to start without it) or ``asyncio``.
"""

from __future__ import annotations

import asyncio
import importlib
import os
from collections.abc import Callable, Coroutine
from typing import Any, Final, TypeVar

T = TypeVar("T")

SETTING: Final = "SWITCHBOARD_EVENT_LOOP"
CHOICES: Final = ("auto", "uvloop", "asyncio")


def loop_factory(choice: str | None = None) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The factory of the chosen loop (None: asyncio's default); RuntimeError on a bad choice."""
    choice = (choice if choice is not None else os.environ.get(SETTING, "auto")).strip().lower()
    if choice not in CHOICES:
        raise RuntimeError(f"{SETTING} must be one of {', '.join(CHOICES)}, not {choice!r}")
    if choice == "asyncio":
        return None
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        if choice == "uvloop":
            raise RuntimeError(f"{SETTING}=uvloop but uvloop is not installed") from None
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(main: Coroutine[Any, Any, T], choice: str | None = None) -> T:
    """``asyncio.run(main)`` on the chosen loop."""
    try:
        factory = loop_factory(choice)
    except BaseException:
        main.close()
        raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
