"""Page sizes and keyset page tokens: round trip, and refusal of anything not issued for
this list with these filters."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from services.common.errors import InvalidArgument
from services.common.storage.pagination import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Cursor,
    PageRequest,
    page_size_of,
)

START = datetime(2026, 3, 18, 11, 30, 0, 123456, tzinfo=UTC)
IDS = [f"9c2ad915-7d8a-4949-b8df-5fd0da91b4e{digit}" for digit in range(10)]
ROWS = [Cursor(START - timedelta(seconds=index), row_id) for index, row_id in enumerate(IDS)]


def _token(list_name: str = "ListThings", filters: tuple[object, ...] = ("a", None)) -> str:
    """The token after the first two of ROWS, issued by ``list_name`` with ``filters``."""
    paging = PageRequest.parse(list_name, filters, 2, "")
    token = paging.page(ROWS[:3], lambda row: row).next_page_token
    assert token
    return token


def test_a_token_resumes_after_the_last_row_of_its_page() -> None:
    first = PageRequest.parse("ListThings", ("a", None), 2, "")
    assert first.after is None and first.fetch_limit == 3
    page = first.page(ROWS[:3], lambda row: row)
    assert list(page.items) == ROWS[:2]
    resumed = PageRequest.parse("ListThings", ("a", None), 2, page.next_page_token)
    assert resumed.after == ROWS[1]


def test_the_last_page_has_no_token() -> None:
    paging = PageRequest.parse("ListThings", (), 3, "")
    assert paging.page(ROWS[:3], lambda row: row).next_page_token == ""
    assert paging.page([], lambda row: row).next_page_token == ""


def _forged(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _fields(token: str) -> dict[str, object]:
    decoded: dict[str, object] = json.loads(
        base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    )
    return decoded


@pytest.mark.parametrize(
    "token",
    [
        "garbage!",
        "e30",
        _forged([1, 2]),
        _forged({**_fields(_token()), "v": 2}),
        _forged({**_fields(_token()), "t": "2026-03-18T11:30:00"}),
        _forged({**_fields(_token()), "t": 5}),
        _forged({**_fields(_token()), "i": "not-a-uuid"}),
        _forged({**_fields(_token()), "i": 7}),
        _forged({**_fields(_token()), "i": IDS[0].upper()}),
        _forged({**_fields(_token()), "extra": 1}),
        "A" * 600,
        "%00",
    ],
)
def test_tokens_we_did_not_issue_are_invalid(token: str) -> None:
    with pytest.raises(InvalidArgument):
        PageRequest.parse("ListThings", ("a", None), 2, token)


@pytest.mark.parametrize(
    ("list_name", "filters"),
    [
        ("ListOtherThings", ("a", None)),  # another list
        ("ListThings", ("b", None)),  # another filter value
        ("ListThings", ("a", "")),  # an empty filter is not an absent one
        ("ListThings", (None, "a")),  # the same values on other filters
        ("ListThings", ("a",)),
    ],
)
def test_a_token_is_bound_to_its_list_and_filters(
    list_name: str, filters: tuple[object, ...]
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        PageRequest.parse(list_name, filters, 2, _token())
    assert refused.value.violations[0].field == "page_token"


def test_page_sizes() -> None:
    assert page_size_of(0) == DEFAULT_PAGE_SIZE == 50
    assert page_size_of(7) == 7
    assert page_size_of(MAX_PAGE_SIZE) == MAX_PAGE_SIZE == 1000
    assert page_size_of(MAX_PAGE_SIZE + 1) == MAX_PAGE_SIZE
    with pytest.raises(InvalidArgument):
        page_size_of(-1)
