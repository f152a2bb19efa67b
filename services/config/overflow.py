"""An identity's overflow chain: what a call tries when the identity is at capacity.

Stored (``agent_identities.overflow_chain``) as a list of one-key objects, in order:
``{"agent_identity_id": id}`` (another identity of the account, under its own capacity),
``{"forwarding_phone_number": "+E164"}`` or ``{"webhook_fallback": true}`` (the called
identity's webhook fallback). The registry follows only the called identity's chain and
never an identity step's own chain, so a chain cannot loop at routing time; naming itself
or the same identity twice is refused here all the same (it could only waste a step).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.capacity import MAX_OVERFLOW_STEPS
from services.common.errors import InvalidArgument
from services.common.ids import parse_uuid
from services.config import repository
from services.config.validation import check_e164

IDENTITY: Final = "agent_identity_id"
FORWARD: Final = "forwarding_phone_number"
FALLBACK: Final = "webhook_fallback"
KINDS: Final = (IDENTITY, FORWARD, FALLBACK)

Step = dict[str, Any]


async def checked_chain(
    session: AsyncSession,
    account_id: str,
    identity_id: str | None,
    steps: Sequence[Step],
    field: str = "overflow_chain",
) -> list[Step] | None:
    """The chain to store (None when empty); InvalidArgument naming the first bad step."""
    if len(steps) > MAX_OVERFLOW_STEPS:
        raise InvalidArgument.for_field(
            field, f"{field} may have at most {MAX_OVERFLOW_STEPS} steps"
        )
    checked: list[Step] = []
    seen: set[str] = set()
    for index, step in enumerate(steps):
        where = f"{field}[{index}]"
        if len(step) != 1 or next(iter(step)) not in KINDS:
            raise InvalidArgument.for_field(
                where, f"{where} must set exactly one of: {', '.join(KINDS)}"
            )
        [(kind, value)] = step.items()
        if kind == IDENTITY:
            target = parse_uuid(value, f"{where}.{IDENTITY}")
            if target == identity_id:
                raise InvalidArgument.for_field(
                    where, f"{where}: an identity cannot overflow to itself"
                )
            if target in seen:
                raise InvalidArgument.for_field(
                    where, f"{where}: identity {target} is already a step"
                )
            found = await repository.get_identity(session, target)
            if found is None or found.account_id != account_id:
                raise InvalidArgument.for_field(
                    where, f"{where}: no agent identity {target} in this account"
                )
            seen.add(target)
            checked.append({IDENTITY: target})
        elif kind == FORWARD:
            checked.append({FORWARD: check_e164(str(value), f"{where}.{FORWARD}")})
        else:
            checked.append({FALLBACK: True})
    return checked or None
