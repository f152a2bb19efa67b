"""Screening the caller against the dialed mapping's contact rules (allow/block, filter mode)."""

from __future__ import annotations

from dataclasses import dataclass

from services.registry.contact_rule_values import ALLOW, WHITELIST


@dataclass(frozen=True, slots=True)
class MatchedRule:
    """The active inbound rule of the mapping for the caller's number, read with the mapping."""

    rule_id: str
    action: str


@dataclass(frozen=True, slots=True)
class CallerScreening:
    """The verdict on the caller and what produced it."""

    allowed: bool
    filter_mode: str
    rule_id: str | None
    caller_number_normalized: str | None

    @property
    def detail(self) -> str:
        """Why the caller was blocked or allowed, for ``reason_detail``."""
        verdict = "allowed" if self.allowed else "blocked"
        if self.rule_id is not None:
            return f"caller {verdict} by contact rule {self.rule_id}"
        if self.allowed:
            return f"caller allowed: no contact rule matched (filter_mode {self.filter_mode})"
        return f"caller not on the number's allow-list (filter_mode {self.filter_mode})"


def screen(
    filter_mode: str, rule: MatchedRule | None, caller_number_normalized: str | None
) -> CallerScreening:
    """A matching rule decides; without one, WHITELIST blocks and BLACKLIST allows."""
    allowed = rule.action == ALLOW if rule is not None else filter_mode != WHITELIST
    return CallerScreening(
        allowed=allowed,
        filter_mode=filter_mode,
        rule_id=rule.rule_id if rule is not None else None,
        caller_number_normalized=caller_number_normalized,
    )
