"""The ConfigInternalService workload: what the registry asks the config service, as requests."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from switchboard.config.v1 import config_pb2

from services.common.auth import INTERNAL_TOKEN_HEADER

RPCS = ("Authenticate", "BatchGetAgentIdentities", "ResolveCallTarget")
BATCH_IDS = 50
"""Identities asked for by each ``BatchGetAgentIdentities``."""


@dataclass(frozen=True)
class Fixture:
    """What the RPCs are asked about: the seeded account, its admin key, its identities."""

    account_id: str
    api_key: str
    identity_ids: Sequence[str]
    internal_token: str

    def save(self, path: Path) -> None:
        """Write it for the driver process (a file, so no secret is on a command line)."""
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> Fixture:
        """Read what :meth:`save` wrote."""
        values = json.loads(path.read_text())
        return cls(**{**values, "identity_ids": tuple(values["identity_ids"])})

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """Call metadata that passes the internal-token check."""
        return ((INTERNAL_TOKEN_HEADER, self.internal_token),)


def requests(fixture: Fixture, rpc: str, count: int, seed: int) -> list[Any]:
    """``count`` requests: the admin key; 50 random ids of the account; a random identity."""
    draw = random.Random(seed)
    ids = list(fixture.identity_ids)
    if rpc == "Authenticate":
        return [config_pb2.AuthenticateRequest(credential=fixture.api_key)] * count
    if rpc == "BatchGetAgentIdentities":
        batch = min(BATCH_IDS, len(ids))
        return [
            config_pb2.BatchGetAgentIdentitiesRequest(
                account_id=fixture.account_id, ids=draw.sample(ids, batch)
            )
            for _ in range(count)
        ]
    if rpc == "ResolveCallTarget":
        return [
            config_pb2.ResolveCallTargetRequest(agent_identity_id=draw.choice(ids))
            for _ in range(count)
        ]
    raise ValueError(f"not an internal RPC: {rpc}")


def check(rpc: str, request: Any, response: Any) -> str | None:
    """None when ``response`` is the right answer to ``request``, else an error label."""
    if rpc == "Authenticate":
        ok = response.scope == config_pb2.PRINCIPAL_SCOPE_ADMIN
    elif rpc == "BatchGetAgentIdentities":
        ok = len(response.agent_identities) == len(request.ids)
    else:
        ok = response.agent_identity.id == request.agent_identity_id and response.HasField(
            "incoming_call_action"
        )
    return None if ok else f"wrong {rpc} answer"
