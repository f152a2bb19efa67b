"""Helpers shared by the Inkbox routes: the config stub, auth docs, JSON rendering of messages."""

from __future__ import annotations

import re
from typing import Any, Final

from fastapi import Request
from fastapi.security import APIKeyHeader
from google.protobuf.message import Message
from switchboard.config.v1 import config_pb2_grpc

from gateway.rpc import upstreams

API_KEY_SCHEME: Final = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="An admin or identity-scoped API key (`Authorization: Bearer <key>` also works).",
)
"""Documents the credential in OpenAPI; the key itself is checked by the config service."""

ERROR_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    401: {"description": "Missing, malformed, unknown or revoked API key"},
    403: {"description": "The API key may not do this (identity-scoped key on an admin route)"},
    404: {"description": "Not found (also for another organization's resources)"},
    422: {"description": 'Invalid input: `{"detail": ...}`'},
}


def config_stub(request: Request) -> config_pb2_grpc.ConfigServiceStub:
    """A ConfigService stub on the app's channel to the config service."""
    return config_pb2_grpc.ConfigServiceStub(upstreams(request).config)


def optional(message: Message, name: str) -> Any:
    """A field's value, or None when it is not set."""
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
    """An enum field as its lower-case JSON string (prefix dropped); None when UNSPECIFIED."""
    field = message.DESCRIPTOR.fields_by_name[name]
    number = getattr(message, name)
    if number == 0 or (field.has_presence and not message.HasField(name)):
        return None
    enum = _enum_of(message, name)
    value_name: str = enum.values_by_number[number].name
    return value_name.removeprefix(_enum_prefix(enum)).lower()


def enum_number(message: Message, name: str, text: str) -> int:
    """The number of enum field ``name``'s value whose JSON string is ``text``."""
    enum = _enum_of(message, name)
    number: int = enum.values_by_name[_enum_prefix(enum) + text.upper()].number
    return number
