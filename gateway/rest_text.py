"""REST text made sendable: the string type of every body field, path and query parameter."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from services.common.text import STORABLE_TEXT_PATTERN, unstorable_reason


def _storable(value: str) -> str:
    # Lone surrogates survive JSON decoding but cannot be sent as protobuf strings, and NUL
    # cannot be stored by PostgreSQL: the services refuse both, the gateway says so first.
    reason = unstorable_reason(value)
    if reason is not None:
        raise ValueError(reason)
    return value


class _StorableTextSchema:
    """Declares the NUL rule in OpenAPI, so clients (and fuzzers) know it."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema.setdefault("pattern", STORABLE_TEXT_PATTERN)
        return schema


Text = Annotated[str, AfterValidator(_storable), _StorableTextSchema()]
"""A string (body field, path or query parameter) that can be forwarded over gRPC and stored."""
