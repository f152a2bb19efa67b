"""Capacity leases on both databases: limits hold under real concurrency (two engines, two
processes), expiry frees a slot with no sweeper, release is idempotent, a lease spans two
scopes all or nothing, and raised or lowered limits behave as documented."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import event, func, select

from services.common.storage.db import create_engine, create_session_factory
from services.registry.capacity_leases import (
    CapacityLeases,
    CapacityReached,
    CapacityScope,
    HeldSlot,
    Lease,
    identity_scope,
    mapping_scope,
)
from services.registry.models import CapacitySlot
from tests.support.stack import Stack

TTL = timedelta(minutes=5)


@dataclass
class FakeClock:
    """A settable UTC clock."""

    now: datetime = field(default_factory=lambda: datetime(2026, 12, 2, 12, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def new_scope(limit: int) -> CapacityScope:
    return CapacityScope(identity_scope(str(uuid.uuid4())), limit)


def leases(stack: Stack, clock: FakeClock | None = None) -> CapacityLeases:
    if clock is None:
        return CapacityLeases(stack.registry_sessions)
    return CapacityLeases(stack.registry_sessions, clock=clock)


async def live_slots(stack: Stack, scope_key: str, now: datetime) -> int:
    async with stack.registry_sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(CapacitySlot)
            .where(CapacitySlot.scope_key == scope_key, CapacitySlot.expires_at > now)
        )
    return int(count or 0)


def counter(name: str, result: str) -> float:
    return REGISTRY.get_sample_value(name, {"result": result}) or 0


async def test_a_scope_admits_exactly_its_limit_and_release_frees_a_slot(stack: Stack) -> None:
    service = leases(stack)
    scope = new_scope(2)
    first = await service.acquire("call-1", [scope], TTL)
    second = await service.acquire("call-2", [scope], TTL)
    assert isinstance(first, Lease)
    assert isinstance(second, Lease)
    assert {first.slots[0].slot, second.slots[0].slot} == {0, 1}
    assert await service.acquire("call-3", [scope], TTL) == CapacityReached((scope.key,))
    assert await service.in_use(scope.key) == 2

    assert await service.release("call-1") == 1
    third = await service.acquire("call-3", [scope], TTL)
    assert isinstance(third, Lease)
    assert third.slots == (HeldSlot(scope.key, first.slots[0].slot),)


async def test_release_is_idempotent_and_never_frees_another_calls_slot(stack: Stack) -> None:
    service = leases(stack)
    scope = new_scope(1)
    assert isinstance(await service.acquire("held", [scope], TTL), Lease)
    released_before = counter("switchboard_capacity_releases_total", "not_held")

    assert await service.release("never-acquired") == 0
    assert await service.release("held") == 1
    assert await service.release("held") == 0
    assert counter("switchboard_capacity_releases_total", "not_held") == released_before + 2

    # The freed slot goes to the next call; a late duplicate release of "held" leaves it.
    assert isinstance(await service.acquire("next", [scope], TTL), Lease)
    assert await service.release("held") == 0
    assert await service.acquire("third", [scope], TTL) == CapacityReached((scope.key,))


async def test_release_scoped_to_an_account_frees_only_that_accounts_slots(stack: Stack) -> None:
    service = leases(stack)
    scope = new_scope(1)
    owner, stranger = str(uuid.uuid4()), str(uuid.uuid4())
    assert isinstance(await service.acquire("owned", [scope], TTL, account_id=owner), Lease)
    assert await service.release("owned", account_id=stranger) == 0
    assert await service.in_use(scope.key) == 1
    assert await service.release("owned", account_id=owner) == 1


async def test_a_retried_acquire_keeps_the_calls_slot_and_extends_it(stack: Stack) -> None:
    clock = FakeClock()
    service = leases(stack, clock)
    scope = new_scope(2)
    first = await service.acquire("retried", [scope], TTL)
    clock.advance(timedelta(minutes=1))
    again = await service.acquire("retried", [scope], TTL)
    assert isinstance(first, Lease)
    assert isinstance(again, Lease)
    assert again.slots == first.slots
    assert again.expires_at == first.expires_at + timedelta(minutes=1)
    assert await service.in_use(scope.key) == 1
    async with stack.registry_sessions() as session:
        acquired_at = await session.scalar(
            select(CapacitySlot.acquired_at).where(CapacitySlot.call_id == "retried")
        )
    assert acquired_at == first.expires_at - TTL


async def test_an_expired_lease_frees_its_slot_without_any_sweeper(stack: Stack) -> None:
    clock = FakeClock()
    service = leases(stack, clock)
    scope = new_scope(1)
    crashed = await service.acquire("crashed-edge", [scope], timedelta(seconds=60))
    assert isinstance(crashed, Lease)
    clock.advance(timedelta(seconds=59))
    assert await service.acquire("too-early", [scope], TTL) == CapacityReached((scope.key,))

    clock.advance(timedelta(seconds=1))
    assert await service.in_use(scope.key) == 0
    taken = await service.acquire("after-expiry", [scope], TTL)
    assert isinstance(taken, Lease)
    assert taken.slots == crashed.slots
    # The crashed edge's lease is gone: renewing or releasing it touches nothing.
    assert await service.renew("crashed-edge", TTL) is None
    assert await service.release("crashed-edge") == 0
    assert await service.in_use(scope.key) == 1


async def test_renew_extends_a_live_lease_and_keeps_the_slot_from_expiring(stack: Stack) -> None:
    clock = FakeClock()
    service = leases(stack, clock)
    scope = new_scope(1)
    lease = await service.acquire("long-call", [scope], timedelta(seconds=60))
    assert isinstance(lease, Lease)
    for _ in range(3):
        clock.advance(timedelta(seconds=50))
        renewed = await service.renew("long-call", timedelta(seconds=60))
        assert renewed is not None
        assert renewed.slots == lease.slots
        assert renewed.expires_at == clock.now + timedelta(seconds=60)
    assert await service.acquire("waiting", [scope], TTL) == CapacityReached((scope.key,))
    assert await service.renew("unknown-call", TTL) is None


async def test_a_lease_spans_two_scopes_all_or_nothing(stack: Stack) -> None:
    service = leases(stack)
    identity = CapacityScope(identity_scope(str(uuid.uuid4())), 3)
    mapping = CapacityScope(mapping_scope(str(uuid.uuid4())), 1)
    both = await service.acquire("both", [identity, mapping], TTL)
    assert isinstance(both, Lease)
    assert {slot.scope_key for slot in both.slots} == {identity.key, mapping.key}

    # The mapping is full: the identity slot the claim found is not kept either.
    assert await service.acquire("second", [identity, mapping], TTL) == CapacityReached(
        (mapping.key,)
    )
    assert await service.in_use(identity.key) == 1
    # The identity alone (another number of the same agent) still has room.
    assert isinstance(await service.acquire("other-number", [identity], TTL), Lease)

    assert await service.release("both") == 2
    assert await service.in_use(mapping.key) == 0
    assert isinstance(await service.acquire("second", [identity, mapping], TTL), Lease)
    assert await service.in_use(identity.key) == 2


async def test_a_raised_limit_applies_at_once(stack: Stack) -> None:
    service = leases(stack)
    key = identity_scope(str(uuid.uuid4()))
    assert isinstance(await service.acquire("a", [CapacityScope(key, 1)], TTL), Lease)
    assert await service.acquire("b", [CapacityScope(key, 1)], TTL) == CapacityReached((key,))
    for call in ("b", "c"):
        assert isinstance(await service.acquire(call, [CapacityScope(key, 3)], TTL), Lease)
    assert await service.acquire("d", [CapacityScope(key, 3)], TTL) == CapacityReached((key,))


async def test_a_lowered_limit_cuts_no_call_and_holds_once_the_higher_slots_drain(
    stack: Stack,
) -> None:
    service = leases(stack)
    key = identity_scope(str(uuid.uuid4()))
    held = []
    for index in range(4):
        lease = await service.acquire(f"call-{index}", [CapacityScope(key, 4)], TTL)
        assert isinstance(lease, Lease)
        held.append(lease)
    lowered = CapacityScope(key, 2)
    assert await service.acquire("new", [lowered], TTL) == CapacityReached((key,))
    assert await service.in_use(key) == 4  # nobody was cut off

    # Calls in slots 2 and 3 end: slots 0 and 1 are still held, so still full.
    by_slot = {lease.slots[0].slot: lease.call_id for lease in held}
    await service.release(by_slot[2])
    await service.release(by_slot[3])
    assert await service.acquire("new", [lowered], TTL) == CapacityReached((key,))

    # A call in a slot below the new limit ends: exactly one new call fits again.
    await service.release(by_slot[0])
    assert isinstance(await service.acquire("new", [lowered], TTL), Lease)
    assert await service.acquire("newer", [lowered], TTL) == CapacityReached((key,))
    assert await service.in_use(key) == 2


async def test_a_lowered_limit_may_briefly_exceed_only_by_the_calls_above_it(
    stack: Stack,
) -> None:
    service = leases(stack)
    key = identity_scope(str(uuid.uuid4()))
    for index in range(4):
        assert isinstance(await service.acquire(f"c{index}", [CapacityScope(key, 4)], TTL), Lease)
    for index in (0, 1):
        await service.release(f"c{index}")  # slots 0 and 1 free, 2 and 3 still held
    lowered = CapacityScope(key, 2)
    admitted = [await service.acquire(f"n{index}", [lowered], TTL) for index in range(3)]
    assert [isinstance(result, Lease) for result in admitted] == [True, True, False]
    assert await service.in_use(key) == 4  # the old limit, never more


async def test_limit_zero_refuses_and_bad_arguments_are_value_errors(stack: Stack) -> None:
    service = leases(stack)
    scope = new_scope(0)
    assert await service.acquire("closed", [scope], TTL) == CapacityReached((scope.key,))
    unlimited = await service.acquire("no-scopes", [], TTL)
    assert isinstance(unlimited, Lease)
    assert unlimited.slots == ()
    bad_calls = [
        service.acquire("", [new_scope(1)], TTL),
        service.acquire("x" * 257, [new_scope(1)], TTL),
        service.acquire("ttl", [new_scope(1)], timedelta(0)),
        service.acquire("ttl", [new_scope(1)], timedelta(days=2)),
        service.acquire("limit", [new_scope(-1)], TTL),
        service.acquire("limit", [new_scope(10_001)], TTL),
        service.acquire("twice", [scope, scope], TTL),
        service.acquire("key", [CapacityScope("", 1)], TTL),
        service.acquire("key", [CapacityScope("k" * 81, 1)], TTL),
        service.renew("", TTL),
        service.release(""),
    ]
    for bad in bad_calls:
        with pytest.raises(ValueError):
            await bad


async def test_a_dropped_scope_starts_again_from_its_limit(stack: Stack) -> None:
    service = leases(stack)
    scope = new_scope(1)
    assert isinstance(await service.acquire("before", [scope], TTL), Lease)
    await service.drop_scope(scope.key)
    assert await service.in_use(scope.key) == 0
    assert await service.release("before") == 0
    assert isinstance(await service.acquire("after", [scope], TTL), Lease)


async def test_acquisitions_are_counted(stack: Stack) -> None:
    service = leases(stack)
    scope = new_scope(1)
    acquired = counter("switchboard_capacity_acquisitions_total", "acquired")
    refused = counter("switchboard_capacity_acquisitions_total", "at_capacity")
    await service.acquire("one", [scope], TTL)
    await service.acquire("two", [scope], TTL)
    assert counter("switchboard_capacity_acquisitions_total", "acquired") == acquired + 1
    assert counter("switchboard_capacity_acquisitions_total", "at_capacity") == refused + 1


@pytest.mark.parametrize("seeded", [False, True], ids=["new-scope", "seeded-scope"])
async def test_simultaneous_acquires_from_two_engines_get_exactly_the_limit(
    stack: Stack, seeded: bool
) -> None:
    limit = 6
    scope = new_scope(limit)
    engines = [create_engine(stack.database_urls["registry"], pool_size=8) for _ in range(2)]
    try:
        services = [CapacityLeases(create_session_factory(engine)) for engine in engines]
        if seeded:
            warm = await services[0].acquire("warm", [scope], TTL)
            assert isinstance(warm, Lease)
            await services[0].release("warm")
        for round_number in range(3):
            calls = [
                services[index % 2].acquire(f"r{round_number}-{index}", [scope], TTL)
                for index in range(limit + 1)
            ]
            results = await asyncio.gather(*calls)
            won = [result for result in results if isinstance(result, Lease)]
            assert len(won) == limit
            assert len({lease.slots[0].slot for lease in won}) == limit
            assert await live_slots(stack, scope.key, datetime.now(UTC)) == limit
            for lease in won:
                assert await services[0].release(lease.call_id) == 1
    finally:
        for engine in engines:
            await engine.dispose()


async def _race_in_processes(
    url: str, scope_key: str, limit: int, per_process: int
) -> list[list[str]]:
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.capacity_worker",
            url,
            scope_key,
            str(limit),
            str(per_process),
            f"process-{index}-{uuid.uuid4()}",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for index in range(2)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            line = await asyncio.wait_for(worker.stdout.readline(), timeout=60)
            assert line.strip() == b"ready"
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write(b"go\n")
            await worker.stdin.drain()
        outputs = await asyncio.wait_for(
            asyncio.gather(*(worker.communicate() for worker in workers)), timeout=60
        )
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()
    assert [worker.returncode for worker in workers] == [0, 0]
    return [json.loads(stdout.decode().strip().splitlines()[-1]) for stdout, _ in outputs]


@pytest.mark.parametrize("limit", [1, 5])
async def test_limit_plus_one_simultaneous_acquires_from_two_processes_get_exactly_the_limit(
    stack: Stack, limit: int
) -> None:
    per_process = limit // 2 + 1  # together limit + 1 (limit 1: 2 calls)
    scope = new_scope(limit)
    won = await _race_in_processes(stack.database_urls["registry"], scope.key, limit, per_process)
    assert len(won[0]) + len(won[1]) == limit
    assert await live_slots(stack, scope.key, datetime.now(UTC)) == limit
    # Again on the now-seeded scope, each process alone asking for more than the limit.
    service = leases(stack)
    for call_id in won[0] + won[1]:
        assert await service.release(call_id) == 1
    again = await _race_in_processes(stack.database_urls["registry"], scope.key, limit, limit + 1)
    assert len(again[0]) + len(again[1]) == limit


async def test_a_call_costs_one_statement_once_its_scopes_exist(stack: Stack) -> None:
    """The hot path: one UPDATE ... RETURNING per acquire (any number of scopes), no reads;
    a refusal on a scope this process knows costs that one statement too."""
    engine = create_engine(stack.database_urls["registry"])
    statements: list[str] = []

    def seen(_connection: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        service = CapacityLeases(create_session_factory(engine))
        identity, mapping = new_scope(3), CapacityScope(mapping_scope(str(uuid.uuid4())), 1)
        assert isinstance(await service.acquire("first", [identity, mapping], TTL), Lease)

        statements.clear()
        assert isinstance(await service.acquire("second", [identity], TTL), Lease)
        assert _work(statements) == ["UPDATE"]

        statements.clear()
        refused = await service.acquire("third", [identity, mapping], TTL)
        assert refused == CapacityReached((mapping.key,))
        assert _work(statements) == ["UPDATE"]
    finally:
        await engine.dispose()


def _work(statements: list[str]) -> list[str]:
    return [verb for verb in statements if verb not in {"BEGIN", "COMMIT", "ROLLBACK"}]


async def test_a_claim_that_missed_rows_another_call_was_creating_is_retried(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The interleaving of N+1 simultaneous first calls on a new scope: this call's claim
    # runs before another call's slot rows are committed (so it finds none), and that other
    # call has marked the scope complete by the time the refusal comes back.
    capacity = leases(stack)
    scope = new_scope(3)
    claim = CapacityLeases._claim
    claims = 0

    async def claim_racing_the_creator(
        self: CapacityLeases, *args: object, **kwargs: object
    ) -> Lease | CapacityReached:
        nonlocal claims
        claims += 1
        if claims == 1:
            await self._add_missing_slots([scope])  # the other call, finishing meanwhile
            return CapacityReached((scope.key,))  # what a claim that saw no rows returns
        return await claim(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(CapacityLeases, "_claim", claim_racing_the_creator)
    held = await capacity.acquire("late-" + str(uuid.uuid4()), [scope], TTL)
    assert isinstance(held, Lease) and claims == 2
