"""Who may ask RouteCall: the telephony edge (any number) or an admin key (its own numbers)."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from pydantic import SecretStr

from services.common.auth import EDGE_TOKEN_HEADER, credential_from_metadata
from services.common.errors import Unauthenticated
from services.registry.config_client import ConfigClient

NO_EDGE_TOKEN: Final = (
    "no edge token is configured on this deployment (set SWITCHBOARD_EDGE_TOKEN on the registry; "
    "`make run` generates one)"
)


@dataclass(frozen=True, slots=True)
class RoutingCaller:
    """``account_id`` None: the edge, routing system-wide; else only that account's numbers."""

    account_id: str | None


EDGE: Final = RoutingCaller(account_id=None)


class EdgeAuthenticator:
    """Authenticates RouteCall metadata (see ``CallRoutingService`` in registry.proto).

    * ``x-switchboard-edge-token: <token>`` must equal ``SWITCHBOARD_EDGE_TOKEN``;
    * otherwise the ``authorization: Bearer`` / ``x-api-key`` credential is the edge token
      (compared in constant time) or an admin API key checked by the config service.
    """

    def __init__(self, edge_token: SecretStr | None, config: ConfigClient) -> None:
        self._token = edge_token.get_secret_value().encode() if edge_token else None
        self._config = config

    async def authenticate(
        self, metadata: Iterable[tuple[str, str | bytes]] | None
    ) -> RoutingCaller:
        """The caller; Unauthenticated / PermissionDenied (identity-scoped key) otherwise."""
        entries = tuple(metadata or ())
        for key, value in entries:
            if key.lower() == EDGE_TOKEN_HEADER:
                if self._token is None:
                    raise Unauthenticated(NO_EDGE_TOKEN, reason="EDGE_TOKEN_NOT_CONFIGURED")
                if isinstance(value, str) and self._is_edge_token(value.strip()):
                    return EDGE
                raise Unauthenticated("invalid edge token")
        credential = credential_from_metadata(entries)
        if self._is_edge_token(credential):
            return EDGE
        principal = await self._config.authenticate(credential)
        principal.require_admin()
        return RoutingCaller(account_id=principal.account_id)

    def _is_edge_token(self, presented: str) -> bool:
        return self._token is not None and hmac.compare_digest(presented.encode(), self._token)
