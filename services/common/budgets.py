"""Time budgets of the customer endpoints a routing decision waits on.

The config service checks a call action's webhook budget, the registry checks a strategy's
and clamps both when routing, and the gateway documents (and pre-checks) them: all from here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Budget:
    """A time budget's range (inclusive) and the value used when none is set, in seconds."""

    minimum: float
    default: float
    maximum: float

    def allows(self, seconds: float) -> bool:
        """Whether ``seconds`` may be stored as this budget."""
        return math.isfinite(seconds) and self.minimum <= seconds <= self.maximum

    def clamped(self, seconds: float | None) -> float:
        """The budget to wait: the default for None, else ``seconds`` kept within the range."""
        if seconds is None:
            return self.default
        return min(max(seconds, self.minimum), self.maximum)

    def describe(self) -> str:
        """The range for people, e.g. ``1-10 s``."""
        return f"{self.minimum:g}-{self.maximum:g} s"


WEBHOOK_BUDGET: Final = Budget(minimum=1.0, default=5.0, maximum=10.0)
"""The incoming-call webhook's budget (a call action's ``webhook_timeout``)."""

STRATEGY_BUDGET: Final = Budget(minimum=0.5, default=10.0, maximum=10.0)
"""A context strategy lookup's budget (``timeout_seconds``); Vyom's documented default is
its maximum, favouring slow CRM lookups over failing fast."""

LONGEST_ROUTING_WAIT_SECONDS: Final = max(WEBHOOK_BUDGET.maximum, STRATEGY_BUDGET.maximum)
"""The longest a routing decision waits on a customer (both run concurrently)."""
