"""Input checks shared by the config service's operations."""

from __future__ import annotations

import ipaddress
import re
from typing import Final
from urllib.parse import urlsplit

from services.common.errors import InvalidArgument
from services.common.phone import InvalidPhoneNumber, normalize_phone_number
from services.common.urls import MAX_URL_LENGTH, UnsafeUrl, validate_outbound_url

HANDLE_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9_.-]{1,62}")
_E164: Final = re.compile(r"\+[1-9][0-9]{6,14}")
_SIP_URI: Final = re.compile(r"(?P<scheme>sips?):(?:[^@;?]+@)?(?P<hostport>[^@;?]+)(?:[;?].*)?")
_E164_CHECK_REGION: Final = "US"
"""Any region works: numbers with a leading "+" are read the same in every region."""


def check_length(value: str, field: str, *, maximum: int, minimum: int = 0) -> str:
    """``value`` if its length is within bounds; InvalidArgument naming ``field`` otherwise."""
    if not minimum <= len(value) <= maximum:
        if minimum:
            message = f"{field} must be {minimum}-{maximum} characters"
        else:
            message = f"{field} must be at most {maximum} characters"
        raise InvalidArgument.for_field(field, message)
    return value


def check_url(value: str, field: str, *, schemes: frozenset[str], allow_private: bool) -> str:
    """``value`` if it is a URL the service may call; InvalidArgument naming ``field`` otherwise."""
    try:
        return validate_outbound_url(value, schemes=schemes, allow_private=allow_private)
    except UnsafeUrl as error:
        raise InvalidArgument.for_field(field, f"{field}: {error.message}") from None


def check_e164(value: str, field: str) -> str:
    """``value`` if it is a valid phone number in full E.164 form (``+`` and digits)."""
    if not _E164.fullmatch(value):
        raise InvalidArgument.for_field(
            field, f"{field} must be a phone number in full E.164 form, e.g. +14155552671"
        )
    try:
        normalize_phone_number(value, _E164_CHECK_REGION)
    except InvalidPhoneNumber as error:
        raise InvalidArgument.for_field(field, f"{field}: {error.message}") from None
    return value


def check_sip_uri(value: str, field: str, *, allow_private: bool) -> str:
    """``value`` if it is a ``sip:``/``sips:`` URI whose host is a (public) DNS name."""
    match = _SIP_URI.fullmatch(value) if len(value) <= MAX_URL_LENGTH else None
    if match is None or not value.isprintable() or " " in value:
        raise InvalidArgument.for_field(
            field, f"{field} must be a SIP URI such as sip:agent@pbx.example.com"
        )
    scheme = match["scheme"]
    check_url(
        f"{scheme}://{match['hostport']}",
        field,
        schemes=frozenset({scheme}),
        allow_private=allow_private,
    )
    host = urlsplit(f"{scheme}://{match['hostport']}").hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return value
    raise InvalidArgument.for_field(field, f"{field} must name a DNS host, not an IP address")


def normalize_handle(raw: str) -> str:
    """An agent handle without its optional leading ``@``, lower-cased, checked for shape."""
    handle = raw.removeprefix("@").lower()
    if not HANDLE_PATTERN.fullmatch(handle):
        raise InvalidArgument.for_field(
            "agent_handle",
            "agent_handle must be 2-63 characters: lowercase letters, digits, '_', '.' or '-',"
            " starting with a letter or digit",
        )
    return handle
