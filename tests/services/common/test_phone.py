"""Tests for phone-number normalization."""

from __future__ import annotations

from typing import Any

import pytest

from services.common.errors import InvalidArgument
from services.common.phone import (
    MAX_INPUT_LENGTH,
    SERVICE_DEFAULT_REGIONS,
    InvalidPhoneNumber,
    normalize_phone_number,
    supported_service,
)

EXOTEL_NUMBER = "918044319240"


@pytest.mark.parametrize(
    "raw",
    [
        "+918044319240",
        "+91 80 4431 9240",
        "+91-80-4431-9240",
        "918044319240",
        "91 80 4431 9240",
        "080-4431-9240",
        "(080) 4431.9240",
        "08044319240",
        "8044319240",
        "0091 80 4431 9240",
        "00918044319240",
        "(+91) 80 4431 9240",
        "  +91 80 4431 9240\n",
        "\t918044319240 ",
    ],
)
def test_indian_formats_normalize_to_the_seed_form(raw: str) -> None:
    assert normalize_phone_number(raw, "IN") == EXOTEL_NUMBER


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+91 98765 43210", "IN", "919876543210"),
        ("98765 43210", "IN", "919876543210"),
        ("098765 43210", "IN", "919876543210"),
        ("+1 415 555 2671", "IN", "14155552671"),
        ("+1.415.555.2671", "IN", "14155552671"),
        ("+1 (415) 555-2671", "IN", "14155552671"),
        ("(415) 555-2671", "US", "14155552671"),
        ("1 415 555 2671", "US", "14155552671"),
        ("011 44 20 7946 0958", "US", "442079460958"),
        ("+44 20 7946 0958", "IN", "442079460958"),
        ("+44 (0) 20 7946 0958", "IN", "442079460958"),
        ("+44 7911 123456", "IN", "447911123456"),
        ("020 7946 0958", "GB", "442079460958"),
        ("+49 30 901820", "IN", "4930901820"),
        ("030 901820", "DE", "4930901820"),
        ("+65 6123 4567", "IN", "6561234567"),
        ("6123 4567", "SG", "6561234567"),
        ("+61 2 9876 5432", "IN", "61298765432"),
        ("02 9876 5432", "AU", "61298765432"),
        ("080 4431 9240", "in", EXOTEL_NUMBER),
    ],
)
def test_international_and_national_forms(raw: str, region: str, expected: str) -> None:
    assert normalize_phone_number(raw, region) == expected


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="whitespace-only"),
        pytest.param("\n\t", id="control-whitespace-only"),
        pytest.param("abc", id="letters"),
        pytest.param("+", id="plus-only"),
        pytest.param("---", id="punctuation-only"),
        pytest.param("()", id="parentheses-only"),
        pytest.param("++918044319240", id="double-plus"),
        pytest.param("91+8044319240", id="plus-in-the-middle"),
        pytest.param("+0918044319240", id="plus-then-zero"),
        pytest.param("12345", id="too-short"),
        pytest.param("+91 80 4431 924", id="one-digit-short"),
        pytest.param("+91 80 4431 92400", id="one-digit-long"),
        pytest.param("+9198765432", id="invalid-indian-number"),
        pytest.param("14155552671", id="us-digits-without-plus-read-as-indian"),
        pytest.param("1-800-FLOWERS", id="vanity-letters"),
        pytest.param("+918044319240 x123", id="extension-x"),
        pytest.param("+918044319240;ext=123", id="extension-rfc3966"),
        pytest.param("+918044319240#123", id="extension-hash"),
        pytest.param("tel:+918044319240", id="tel-uri"),
        pytest.param("+٩١٨٠٤٤٣١٩٢٤٠", id="arabic-indic-digits"),
        pytest.param("+९१८०४४३१९२४०", id="devanagari-digits"),
        pytest.param("＋９１８０４４３１９２４０", id="fullwidth-digits"),  # noqa: RUF001
        pytest.param("+91\u00a080 4431 9240", id="no-break-space-inside"),
        pytest.param("+918044319240\x00", id="nul"),
        pytest.param("1" * (MAX_INPUT_LENGTH + 1), id="over-long-digits"),
        pytest.param("+91 80 4431 9240" + " " * 20, id="over-long-padding"),
        pytest.param("+376 712 345", id="valid-andorran-but-9-digits"),
        pytest.param("+46 8 12 34 56", id="valid-swedish-but-9-digits"),
    ],
)
def test_rejected_inputs(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalize_phone_number(raw, "IN")
    assert caught.value.message
    assert str(caught.value) == caught.value.message


@pytest.mark.parametrize("raw", [None, 918044319240, b"+918044319240", ["+918044319240"]])
def test_non_string_input_is_rejected(raw: Any) -> None:
    with pytest.raises(InvalidPhoneNumber, match="must be a string"):
        normalize_phone_number(raw, "IN")


def test_input_of_exactly_the_maximum_length_is_accepted() -> None:
    raw = "+91 80 4431 9240".center(MAX_INPUT_LENGTH)
    assert len(raw) == MAX_INPUT_LENGTH
    assert normalize_phone_number(raw, "IN") == EXOTEL_NUMBER


def test_messages_say_what_is_wrong() -> None:
    with pytest.raises(InvalidPhoneNumber, match="too short"):
        normalize_phone_number("12345", "IN")
    with pytest.raises(InvalidPhoneNumber, match="only digits"):
        normalize_phone_number("1-800-FLOWERS", "IN")
    with pytest.raises(InvalidPhoneNumber, match="fewer than 10 digits"):
        normalize_phone_number("+46 8 12 34 56", "IN")
    with pytest.raises(InvalidPhoneNumber, match="empty"):
        normalize_phone_number(" ", "IN")


def test_invalid_phone_number_is_a_value_error() -> None:
    assert issubclass(InvalidPhoneNumber, ValueError)


def test_unknown_default_region_is_a_configuration_error_not_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown default region") as caught:
        normalize_phone_number("+918044319240", "XX")
    assert not isinstance(caught.value, InvalidPhoneNumber)


def test_rejection_is_repeated_on_every_call() -> None:
    for _ in range(3):
        with pytest.raises(InvalidPhoneNumber):
            normalize_phone_number("12345", "IN")


def test_national_forms_are_read_in_the_default_region() -> None:
    assert normalize_phone_number("020 7946 0958", "GB") == "442079460958"
    assert normalize_phone_number("020 7946 0958", "IN") == "912079460958"
    assert normalize_phone_number("(415) 555-2671", "US") == "14155552671"
    assert normalize_phone_number("(415) 555-2671", "IN") == "914155552671"
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone_number("030 901820", "IN")


def test_service_default_regions() -> None:
    assert SERVICE_DEFAULT_REGIONS["exotel"] == "IN"
    with pytest.raises(TypeError):
        SERVICE_DEFAULT_REGIONS["other"] = "US"  # type: ignore[index]
    assert normalize_phone_number("080 4431 9240", SERVICE_DEFAULT_REGIONS["exotel"]) == (
        EXOTEL_NUMBER
    )


def test_numbers_without_plus_are_read_in_the_default_region() -> None:
    # A US number written nationally is a valid Indian number under Exotel's region IN.
    assert normalize_phone_number("(415) 555-0123", "IN") == "914155550123"
    assert normalize_phone_number("+1 (415) 555-0123", "IN") == "14155550123"


def test_a_rejected_number_without_plus_hints_at_the_default_region() -> None:
    with pytest.raises(InvalidPhoneNumber, match=r'read as a number of region IN.*"\+"') as info:
        normalize_phone_number("14155552671", "IN")
    assert info.value.message.startswith("phone number is not a valid number")
    with pytest.raises(InvalidPhoneNumber) as with_plus:
        normalize_phone_number("+1 12", "IN")
    assert "region" not in with_plus.value.message
    with pytest.raises(InvalidPhoneNumber) as not_digits:
        normalize_phone_number("1-800-FLOWERS", "IN")
    assert "region" not in not_digits.value.message


@pytest.mark.parametrize("raw", ["exotel", "Exotel", " EXOTEL "])
def test_supported_services_match_case_insensitively_in_canonical_form(raw: str) -> None:
    assert supported_service(raw) == "exotel"


@pytest.mark.parametrize("raw", ["", "twilio", "exotel-2", "exo tel"])
def test_unsupported_services_are_invalid_arguments(raw: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        supported_service(raw)
    assert refused.value.reason == "UNSUPPORTED_SERVICE"
    assert refused.value.violations[0].field == "service"
