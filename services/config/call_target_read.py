"""``ResolveCallTarget``'s read: identity, call action, signing key, business hours: one query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from services.common.storage.point_reads import PointReader
from services.config import repository
from services.config.models import AgentIdentity, IdentityBusinessHours, IncomingCallAction

_IDENTITY_COLUMNS: Final = repository.CALL_TARGET_IDENTITY_COLUMNS
_ACTION_COLUMNS: Final = repository.CALL_TARGET_ACTION_COLUMNS
_ACTION_KEY: Final = _ACTION_COLUMNS.index(IncomingCallAction.__table__.c.agent_identity_id)


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    """The rows behind a ``CallTarget`` (detached instances, never added to a session)."""

    identity: AgentIdentity
    action: IncomingCallAction | None
    signing_key: str | None
    business_hours: IdentityBusinessHours | None = None


class CallTargetReader:
    """One point read per resolve, on the fast read path (``storage/point_reads.py``)."""

    def __init__(self, reader: PointReader) -> None:
        self._resolve = reader.query(repository.CALL_TARGET_BY_IDENTITY)

    async def resolve(self, identity_id: str) -> ResolvedTarget | None:
        """The identity's rows, or None when it does not exist."""
        row = await self._resolve.first({"identity_id": identity_id})
        if row is None:
            return None
        identities = len(_IDENTITY_COLUMNS)
        actions = identities + len(_ACTION_COLUMNS)
        identity = AgentIdentity(**_values(_IDENTITY_COLUMNS, row[:identities]))
        action = (
            IncomingCallAction(**_values(_ACTION_COLUMNS, row[identities:actions]))
            if row[identities + _ACTION_KEY] is not None
            else None
        )
        schedule, outside_action = row[actions + 1], row[actions + 2]
        hours = (
            IdentityBusinessHours(
                agent_identity_id=identity.id, schedule=schedule, outside_action=outside_action
            )
            if schedule is not None
            else None
        )
        return ResolvedTarget(identity, action, row[actions], hours)


def _values(columns: tuple[Any, ...], values: tuple[Any, ...]) -> dict[str, Any]:
    return {column.key: value for column, value in zip(columns, values, strict=True)}
