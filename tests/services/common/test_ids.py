"""parse_uuid: any form uuid.UUID parses, always returned canonical."""

from __future__ import annotations

import uuid

import pytest

from services.common.errors import InvalidArgument
from services.common.ids import parse_uuid


def test_every_form_comes_back_canonical() -> None:
    value = uuid.uuid4()
    canonical = str(value)
    for form in (canonical, canonical.upper(), value.hex, f"{{{canonical}}}", value.urn):
        assert parse_uuid(form, "id") == canonical


@pytest.mark.parametrize("bad", ["", "nope", "0000000-0000-0000-0000-000000000000", "g" * 32])
def test_anything_else_names_the_field(bad: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        parse_uuid(bad, "identity_id")
    assert "identity_id" in str(raised.value)
