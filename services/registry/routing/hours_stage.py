"""The business-hours stage of routing: is the called identity open at the call's moment?

Runs after the assistant is known and before its incoming-call action applies. An
identity without business hours is always open. When it is closed, the identity's
outside-hours action decides instead (``Router._outside_hours``): reject with
``outside_hours``, forward, another identity's action, or the outside-hours webhook.
The schedule was read with the one rule config validated it with
(``services/common/business_hours.py``, in ``config_messages.py``); one that no longer
reads is treated as absent, so a call is never refused for our own fault.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from services.common.business_hours import HoursCheck, check
from services.registry.call_target import (
    ActionKind,
    CallAction,
    CallTarget,
    OutsideHoursAction,
    OutsideKind,
)
from services.registry.routing.explain import Stage, Trace


@dataclass(frozen=True, slots=True)
class HoursVerdict:
    """The check of one call against its identity's business hours."""

    time_zone: str
    check: HoursCheck
    outside: OutsideHoursAction

    @property
    def open(self) -> bool:
        """Whether the call arrived within business hours."""
        return self.check.open

    @property
    def kind(self) -> OutsideKind:
        """The outside-hours action's kind (an unknown one rejects)."""
        return self.outside.kind or OutsideKind.REJECT

    @property
    def detail(self) -> str:
        """E.g. ``outside business hours (Monday 2026-12-07 21:00 IST) in Asia/Kolkata``."""
        return f"{self.check.detail} in {self.time_zone}"


def evaluate(target: CallTarget, now: datetime, trace: Trace) -> HoursVerdict | None:
    """The identity's business-hours check at ``now``; None when it has no business hours."""
    hours = target.business_hours
    if hours is None:
        if trace.enabled:
            trace.add(Stage.BUSINESS_HOURS, "none", "no business hours: always open")
        return None
    schedule = hours.schedule
    if schedule is None:
        trace.add(Stage.BUSINESS_HOURS, "invalid", "the stored schedule no longer reads: open")
        return None
    verdict = HoursVerdict(schedule.time_zone, check(schedule, now), hours.outside)
    if trace.enabled:
        if verdict.open:
            trace.add(Stage.BUSINESS_HOURS, "open", verdict.detail)
        else:
            trace.add(
                Stage.BUSINESS_HOURS,
                "closed",
                f"{verdict.detail}; outside-hours action {verdict.kind.value}",
            )
    return verdict


def webhook_action(action: CallAction | None, url: str | None) -> CallAction:
    """The call action the outside-hours webhook is asked with: its URL asked like the
    incoming-call webhook, with the identity's own timeout, fallback and URL settings."""
    return dataclasses.replace(
        action or CallAction(kind=None),
        kind=ActionKind.WEBHOOK,
        webhook_url=url,
        secondary_webhook_url=None,
    )
