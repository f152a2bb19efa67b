"""A JSON response rendered by orjson, for the hot routes that build their body themselves."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class FastJSONResponse(Response):
    """``application/json`` rendered by orjson.

    Returned by a route, it also skips FastAPI's re-validation of the body against
    the route's ``response_model`` (which still documents the shape in OpenAPI): the
    hot routes build their body from the upstream protobuf in one known shape.
    """

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Compact UTF-8 JSON."""
        return orjson.dumps(content)
