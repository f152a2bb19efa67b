"""Protobuf message fields rendered as the REST dialects' JSON (and REST text made sendable)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, TypeVar

from google.protobuf.message import Message
from pydantic import AfterValidator, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from services.common.pagination import MAX_PAGE_SIZE
from services.common.text import STORABLE_TEXT_PATTERN, unstorable_reason

Item = TypeVar("Item")


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


def optional(message: Message, name: str) -> Any:
    """A field's value, or None (JSON null) when it is not set."""
    return getattr(message, name) if message.HasField(name) else None


def timestamp(message: Message, name: str) -> str | None:
    """A Timestamp field as RFC 3339 UTC with ``Z``, or None when not set."""
    return getattr(message, name).ToJsonString() if message.HasField(name) else None


def _enum_of(message: Message, name: str) -> Any:  # a (pure-Python or upb) EnumDescriptor
    enum = message.DESCRIPTOR.fields_by_name[name].enum_type
    if enum is None:
        raise TypeError(f"{name} is not an enum field")
    return enum


def _enum_prefix(enum: Any) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"


def enum_text(message: Message, name: str) -> str | None:
    """An enum field as its lower-case JSON string (prefix dropped).

    None when UNSPECIFIED, unset, or a number this gateway does not know (a newer service).
    """
    field = message.DESCRIPTOR.fields_by_name[name]
    number = getattr(message, name)
    if number == 0 or (field.has_presence and not message.HasField(name)):
        return None
    enum = _enum_of(message, name)
    value = enum.values_by_number.get(number)
    if value is None:
        return None
    value_name: str = value.name
    return value_name.removeprefix(_enum_prefix(enum)).lower()


def enum_number(message: Message, name: str, text: str) -> Any:
    """The number of enum field ``name``'s value whose JSON string is ``text``.

    Typed ``Any`` because its type is the field's own generated enum type, which only the
    descriptor knows; the assignment target gives it its static type.
    """
    enum = _enum_of(message, name)
    number: int = enum.values_by_name[_enum_prefix(enum) + text.upper()].number
    return number


async def collect_all(
    fetch: Callable[[int, str], Awaitable[tuple[Sequence[Item], str]]],
) -> list[Item]:
    """Every item of a list RPC, walking its keyset pages of :data:`MAX_PAGE_SIZE`.

    ``fetch(page_size, page_token)`` returns one page and the next token ("" at the end);
    keyset paging means items added meanwhile are not repeated.
    """
    items: list[Item] = []
    token = ""
    while True:
        page, token = await fetch(MAX_PAGE_SIZE, token)
        items.extend(page)
        if not token:
            return items
