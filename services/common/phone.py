"""Phone-number normalization to E.164 digits without the leading "+"."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import phonenumbers

from services.common.errors import InvalidArgument

SERVICE_DEFAULT_REGIONS: Final[Mapping[str, str]] = MappingProxyType({"exotel": "IN"})
"""Region used to read national-format numbers, by telephony provider (canonical name)."""
UNSUPPORTED_SERVICE: Final = "UNSUPPORTED_SERVICE"
"""ErrorInfo reason of a ``service`` that is no supported telephony provider."""

MAX_INPUT_LENGTH: Final = 32
MIN_DIGITS: Final = 10

_ALLOWED_CHARACTERS: Final = frozenset("0123456789+ -.()")
_DIGITS: Final = frozenset("0123456789")

_IMPOSSIBLE_REASONS: Final[Mapping[int, str]] = MappingProxyType(
    {
        phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "has an unknown country code",
        phonenumbers.ValidationResult.TOO_SHORT: "is too short",
        phonenumbers.ValidationResult.TOO_LONG: "is too long",
        phonenumbers.ValidationResult.INVALID_LENGTH: "has an impossible length",
    }
)


def canonical_service(raw: str) -> str:
    """A provider name as stored and journaled: no surrounding blanks, lower case."""
    return raw.strip().lower()


def supported_service(raw: str) -> str:
    """``raw`` as a supported provider's canonical name (matched case-insensitively).

    The one check of ``service`` wherever a client names it (assigning a number, routing a
    call); INVALID_ARGUMENT with reason ``UNSUPPORTED_SERVICE`` for anything else.
    """
    service = canonical_service(raw)
    if service not in SERVICE_DEFAULT_REGIONS:
        supported = ", ".join(sorted(SERVICE_DEFAULT_REGIONS))
        raise InvalidArgument.for_field(
            "service",
            f"Unsupported service: must be one of {supported}",
            reason=UNSUPPORTED_SERVICE,
        )
    return service


class InvalidPhoneNumber(ValueError):
    """A phone number that cannot be normalized; ``message`` says why and is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def normalize_phone_number(raw: str, default_region: str) -> str:
    """Return ``raw`` as E.164 digits without the "+": ``"+91 80 4431-9240"`` -> ``"918044319240"``.

    Accepted: ASCII digits with spaces, dashes, dots and parentheses, surrounding whitespace,
    and one "+" in front of the country code (optionally inside the opening parenthesis, as in
    ``"(+91) 80 ..."``). Without a "+", the number is read as ``default_region`` reads it:
    a national number with or without its trunk prefix (``"080 4431 9240"``), the region's
    international dialling prefix (``"0091 ..."`` for IN, ``"011 ..."`` for US), or bare digits
    that begin with the region's own country code when the rest is a valid national number
    (``"918044319240"`` for IN). Bare digits of another country (``"14155552671"`` with IN) are
    read as a national number of ``default_region`` and rejected as invalid: foreign numbers need
    their "+".

    Rejected with :class:`InvalidPhoneNumber`: anything that is not a string, empty input, input
    over :data:`MAX_INPUT_LENGTH` characters, letters (vanity numbers), extensions, non-ASCII
    digits, numbers that are impossible or not valid according to ``phonenumbers``' metadata,
    and results shorter than :data:`MIN_DIGITS` digits.

    Raises plain :class:`ValueError` if ``default_region`` is not a region ``phonenumbers``
    knows: that is a configuration error, not bad input.
    """
    if not isinstance(raw, str):
        raise InvalidPhoneNumber("phone number must be a string")
    region = default_region.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown default region {default_region!r}")
    return _normalize(raw, region)


def _not_a_number(message: str, text: str, region: str) -> InvalidPhoneNumber:
    """Why a well-formed ``text`` is not a number, with where a national number was read."""
    if "+" not in text:
        message += (
            f' (without a "+" it is read as a number of region {region}; give a number of'
            ' another country as "+" and its country code)'
        )
    return InvalidPhoneNumber(message)


@functools.lru_cache(maxsize=4096)
def _normalize(raw: str, region: str) -> str:
    if len(raw) > MAX_INPUT_LENGTH:
        raise InvalidPhoneNumber(f"phone number is longer than {MAX_INPUT_LENGTH} characters")
    text = raw.strip()
    if not text:
        raise InvalidPhoneNumber("phone number is empty")
    if not _ALLOWED_CHARACTERS.issuperset(text):
        raise InvalidPhoneNumber("phone number may contain only digits, spaces and + - . ( )")
    if not _DIGITS.intersection(text):
        raise InvalidPhoneNumber("phone number contains no digits")
    plus = text.find("+")
    if plus >= 0 and (text.count("+") > 1 or text[:plus].strip(" (")):
        raise InvalidPhoneNumber('"+" may appear only once, before the country code')

    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber("phone number could not be parsed") from exc
    if number.extension:
        raise InvalidPhoneNumber("phone number must not have an extension")

    possibility = phonenumbers.is_possible_number_with_reason(number)
    if possibility not in (
        phonenumbers.ValidationResult.IS_POSSIBLE,
        phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    ):
        reason = _IMPOSSIBLE_REASONS.get(possibility, "is not a possible number")
        raise _not_a_number(f"phone number {reason}", text, region)
    if not phonenumbers.is_valid_number(number):
        raise _not_a_number("phone number is not a valid number", text, region)

    digits = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")
    if len(digits) < MIN_DIGITS:
        raise _not_a_number(f"phone number has fewer than {MIN_DIGITS} digits", text, region)
    return digits


def normalize_caller_number(raw: str, default_region: str) -> str:
    """Normalize a number that is matched against stored ones (callers, contact-rule targets).

    Exactly :func:`normalize_phone_number`, except that bare digits which are not a valid
    number of ``default_region`` are also tried as international (``"14155552671"`` ->
    ``"+14155552671"``): carriers deliver caller IDs with and without the ``+``, and a rule
    written ``+N`` must match a caller ``N``. Raises :class:`InvalidPhoneNumber` like it.
    """
    try:
        return normalize_phone_number(raw, default_region)
    except InvalidPhoneNumber:
        text = raw.strip() if isinstance(raw, str) else ""
        if not text or "+" in text:
            raise
        try:
            return normalize_phone_number("+" + text, default_region)
        except InvalidPhoneNumber:
            pass
        raise
