"""Request messages checked before any handler runs: parseable, and only storable text."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from services.common.errors import FieldViolation, InvalidArgument
from services.common.text import unstorable_reason

MALFORMED_REQUEST: Final = "the request is not a valid protobuf message of this method"

_MESSAGE: Final = FieldDescriptor.TYPE_MESSAGE


@dataclass(frozen=True)
class RejectedRequest:
    """Stands in for a request message that must not reach the handler."""

    error: InvalidArgument


def checked_deserializer(
    deserialize: Callable[[bytes], Any] | None,
) -> Callable[[bytes], Any]:
    """``deserialize`` that returns :class:`RejectedRequest` instead of raising or passing on
    a message with unstorable text (gRPC would answer UNKNOWN with the parser's text)."""

    def checked(data: bytes) -> Any:
        try:
            message = deserialize(data) if deserialize is not None else data
        except Exception:
            return RejectedRequest(InvalidArgument(MALFORMED_REQUEST, reason="MALFORMED_REQUEST"))
        # A NUL character is a zero byte in the encoding: most requests skip the walk.
        if b"\x00" in data and isinstance(message, Message):
            violations = list(text_violations(message))
            if violations:
                return RejectedRequest(
                    InvalidArgument(
                        f"{violations[0].field} {violations[0].description}",
                        violations=violations,
                        reason="UNSTORABLE_TEXT",
                    )
                )
        return message

    return checked


def text_violations(message: Message, prefix: str = "") -> Iterator[FieldViolation]:
    """Every string in ``message`` (nested, repeated and map fields too) that is not storable."""
    for field, value in message.ListFields():
        path = prefix + field.name
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            for key, item in value.items():
                yield from _value_violations(f"{path}[{key!r}]", key, None)
                yield from _value_violations(f"{path}[{key!r}]", item, value_field)
        elif field.is_repeated:
            for index, item in enumerate(value):
                yield from _value_violations(f"{path}[{index}]", item, field)
        else:
            yield from _value_violations(path, value, field)


def _value_violations(
    path: str, value: Any, field: FieldDescriptor | None
) -> Iterator[FieldViolation]:
    if isinstance(value, str):
        reason = unstorable_reason(value)
        if reason is not None:
            yield FieldViolation(path, reason)
    elif field is not None and field.type == _MESSAGE and isinstance(value, Message):
        yield from text_violations(value, f"{path}.")
