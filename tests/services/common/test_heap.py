"""Freezing the start-up heap: what is frozen stays alive, and full collections skip it."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator

import pytest

from services.common.process.heap import freeze_startup_heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the test run keeps collecting normally


def full_collection_seconds() -> float:
    started = time.perf_counter()
    gc.collect()
    return time.perf_counter() - started


def test_the_start_up_heap_is_frozen_and_skipped(unfrozen: None) -> None:
    assert gc.get_freeze_count() == 0
    before = min(full_collection_seconds() for _ in range(3))
    frozen = freeze_startup_heap()
    assert frozen > 10_000  # this process has imported the services: far more than that
    assert gc.get_freeze_count() == frozen
    after = min(full_collection_seconds() for _ in range(3))
    assert after < before / 5


def test_garbage_made_after_the_freeze_is_still_collected(unfrozen: None) -> None:
    freeze_startup_heap()

    class Node:
        def __init__(self) -> None:
            self.me = self

    Node()  # a reference cycle: only the collector can free it
    assert gc.collect() >= 1
