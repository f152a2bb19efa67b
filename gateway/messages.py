"""Protobuf message fields rendered as the REST dialects' JSON."""

from __future__ import annotations

import functools
import re
from typing import Any

from google.protobuf.message import Message


def optional(message: Message, name: str) -> Any:
    """A field's value, or None (JSON null) when it is not set."""
    return getattr(message, name) if message.HasField(name) else None


def timestamp(message: Message, name: str) -> str | None:
    """A Timestamp field as RFC 3339 UTC with ``Z``, or None when not set."""
    return getattr(message, name).ToJsonString() if message.HasField(name) else None


def _enum_of(message: Message, name: str) -> Any:  # a (pure-Python or upb) EnumDescriptor
    return _enum_type(message.DESCRIPTOR.fields_by_name[name], name)


def _enum_type(field: Any, name: str) -> Any:
    enum = field.enum_type
    if enum is None:
        raise TypeError(f"{name} is not an enum field")
    return enum


@functools.cache
def _enum_prefix(enum: Any) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"


@functools.cache
def _enum_texts(enum: Any) -> dict[int, str]:
    # Descriptors live as long as the process, so are their few texts (rendered per response).
    prefix = _enum_prefix(enum)
    return {value.number: value.name.removeprefix(prefix).lower() for value in enum.values}


def enum_text(message: Message, name: str) -> str | None:
    """An enum field as its lower-case JSON string (prefix dropped).

    None when UNSPECIFIED, unset, or a number this gateway does not know (a newer service).
    """
    field = message.DESCRIPTOR.fields_by_name[name]
    number = getattr(message, name)
    if number == 0 or (field.has_presence and not message.HasField(name)):
        return None
    return _enum_texts(_enum_type(field, name)).get(number)


def enum_number(message: Message, name: str, text: str) -> Any:
    """The number of enum field ``name``'s value whose JSON string is ``text``.

    Typed ``Any`` because its type is the field's own generated enum type, which only the
    descriptor knows; the assignment target gives it its static type.
    """
    enum = _enum_of(message, name)
    number: int = enum.values_by_name[_enum_prefix(enum) + text.upper()].number
    return number
