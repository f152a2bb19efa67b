"""The routing pipeline's capacity stage: one lease under every limit that applies, or full.

Limits are an identity's and a mapping's ``max_concurrent_calls``
(services/registry/capacity_leases.py keeps them). A call to an identity and a number with
no limit costs nothing here (no statement at all); with limits, a real call costs the one
``UPDATE ... RETURNING`` of :meth:`CapacityLeases.acquire` for every limit at once. A
simulation takes no lease: it counts the held slots of each scope (reads only) and reports
whether one is free (:attr:`CapacityOutcome.slot_free`).

The Router asks :meth:`CapacityStage.check` before it acts on a call action (after the
mapping, the identity and its action are known, and never for ``auto_reject``), releases the
lease when the decision turns out not to route the call (:meth:`CapacityStage.settle`), and
walks the identity's overflow chain when only the identity was full. A full mapping is final:
the number itself has no room, whatever the identity's chain says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final

from services.registry.capacity_leases import (
    CapacityLeases,
    CapacityReached,
    CapacityScope,
    Lease,
    identity_scope,
    mapping_scope,
)
from services.registry.routing.explain import RunOptions, Stage, Trace

DEFAULT_LEASE_SECONDS: Final = 900
_JOURNAL_TEXT_LENGTH: Final = 512


@dataclass(frozen=True, slots=True)
class CapacityCheck:
    """What one check came to: a lease (real calls), or the scopes that were full."""

    scopes: tuple[CapacityScope, ...]
    lease: Lease | None = None
    full_scopes: tuple[str, ...] = ()

    @property
    def admitted(self) -> bool:
        """Whether every limit had room."""
        return not self.full_scopes

    @property
    def limited(self) -> bool:
        """Whether any limit applied at all."""
        return bool(self.scopes)


NO_LIMITS: Final = CapacityCheck(())
"""The check of a call no limit applies to (free: nothing is read or written)."""


@dataclass(slots=True)
class CapacityOutcome:
    """How capacity took part in a decision (``RouteCallResponse.capacity``, the journal)."""

    lease: Lease | None = None
    full_scopes: tuple[str, ...] = ()
    overflow_step: int = 0
    """The 1-based overflow step that took the call; 0 when none did."""
    overflow: str | None = None
    """That step, described (``OverflowStep.describe``)."""
    slot_free: bool | None = None
    """Simulations: whether the limits had room (no lease is taken)."""
    tried: list[str] = field(default_factory=list)
    """Overflow steps passed over, and why (for the journal)."""

    def journal_text(self) -> str:
        """One line for the journal's ``capacity`` column: which rule decided, and how."""
        parts: list[str] = []
        if self.full_scopes:
            parts.append("full " + ",".join(self.full_scopes))
        parts.extend(self.tried)
        if self.overflow_step:
            parts.append(f"overflow step {self.overflow_step} {self.overflow}")
        if self.lease is not None:
            slots = ",".join(f"{slot.scope_key}#{slot.slot}" for slot in self.lease.slots)
            parts.append(f"lease {slots or 'none'} until {self.lease.expires_at.isoformat()}")
        elif self.slot_free is not None:
            parts.append("slot free" if self.slot_free else "no slot free")
        return "; ".join(parts)[:_JOURNAL_TEXT_LENGTH]


def scopes_for(
    identity_id: str | None,
    identity_limit: int | None,
    inbound_id: str,
    mapping_limit: int | None,
) -> tuple[CapacityScope, ...]:
    """The limits a call is held to: the identity's (first), then the mapping's."""
    scopes: list[CapacityScope] = []
    if identity_id is not None and identity_limit is not None:
        scopes.append(CapacityScope(identity_scope(identity_id), identity_limit))
    if mapping_limit is not None:
        scopes.append(CapacityScope(mapping_scope(inbound_id), mapping_limit))
    return tuple(scopes)


class CapacityStage:
    """Checks limits for the Router: leases for real calls, free-slot counts for simulations."""

    def __init__(
        self, leases: CapacityLeases, *, lease_seconds: int = DEFAULT_LEASE_SECONDS
    ) -> None:
        self._leases = leases
        self._ttl = timedelta(seconds=lease_seconds)

    @property
    def leases(self) -> CapacityLeases:
        """The lease store (ReleaseCall and RenewCall use it directly)."""
        return self._leases

    @property
    def ttl(self) -> timedelta:
        """A lease's lifetime unless renewed."""
        return self._ttl

    async def check(
        self,
        call_id: str,
        scopes: tuple[CapacityScope, ...],
        account_id: str,
        options: RunOptions,
        trace: Trace,
        subject: str,
    ) -> CapacityCheck:
        """A lease in every scope (or, simulated, whether one is free); ``subject`` names what
        is checked in the trace (``identity X``, ``overflow step 2``)."""
        if not scopes:
            if trace.enabled:
                trace.add(Stage.CAPACITY, "unlimited", f"{subject}: no max_concurrent_calls")
            return NO_LIMITS
        if options.simulated:
            full = tuple(
                [
                    scope.key
                    for scope in scopes
                    if await self._leases.in_use(scope.key) >= scope.limit
                ]
            )
            check = CapacityCheck(scopes, None, full)
        else:
            result = await self._leases.acquire(call_id, scopes, self._ttl, account_id=account_id)
            if isinstance(result, CapacityReached):
                check = CapacityCheck(scopes, None, result.full_scopes)
            else:
                check = CapacityCheck(scopes, result)
        if trace.enabled:
            trace.add(Stage.CAPACITY, *_step(check, subject, options))
        return check

    async def release(self, check: CapacityCheck) -> None:
        """Give back the check's lease (the decision did not route the call)."""
        if check.lease is not None and check.lease.slots:
            await self._leases.release(check.lease.call_id)


def _step(check: CapacityCheck, subject: str, options: RunOptions) -> tuple[str, str]:
    limits = ", ".join(f"{scope.key} max {scope.limit}" for scope in check.scopes)
    if not check.admitted:
        return "full", f"{subject}: no free slot in {', '.join(check.full_scopes)} ({limits})"
    if options.simulated:
        return "slot_free", f"{subject}: a slot is free ({limits}); a simulation takes no lease"
    lease = check.lease
    if lease is None:  # not reached: an admitted real check holds its lease
        return "leased", subject
    slots = ", ".join(f"{slot.scope_key}#{slot.slot}" for slot in lease.slots)
    return "leased", f"{subject}: lease {slots} until {lease.expires_at.isoformat()}"
