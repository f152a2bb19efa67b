"""The serving processes' event loop: uvloop by default, asyncio on request or without uvloop."""

from __future__ import annotations

import asyncio
import importlib
import inspect
from types import ModuleType

import pytest
import uvloop

from services.common.process import event_loop


async def _loop_type() -> type[asyncio.AbstractEventLoop]:
    return type(asyncio.get_running_loop())


def test_auto_and_uvloop_run_on_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(event_loop.SETTING, raising=False)
    assert event_loop.run(_loop_type()) is uvloop.Loop
    assert event_loop.run(_loop_type(), "uvloop") is uvloop.Loop
    monkeypatch.setenv(event_loop.SETTING, " UVLOOP ")
    assert event_loop.run(_loop_type()) is uvloop.Loop


def test_asyncio_runs_on_the_standard_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(event_loop.SETTING, "asyncio")
    assert not issubclass(event_loop.run(_loop_type()), uvloop.Loop)


def test_without_uvloop_auto_falls_back_and_uvloop_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = importlib.import_module

    def without_uvloop(name: str, package: str | None = None) -> ModuleType:
        if name == "uvloop":
            raise ImportError(name)
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", without_uvloop)
    assert not issubclass(event_loop.run(_loop_type(), "auto"), uvloop.Loop)
    with pytest.raises(RuntimeError, match="uvloop is not installed"):
        event_loop.run(_loop_type(), "uvloop")


def test_an_unknown_choice_is_refused_without_leaking_the_coroutine() -> None:
    main = _loop_type()
    with pytest.raises(RuntimeError, match="must be one of auto, uvloop, asyncio"):
        event_loop.run(main, "trio")
    # Closed, so no "never awaited" warning.
    assert inspect.getcoroutinestate(main) == inspect.CORO_CLOSED
