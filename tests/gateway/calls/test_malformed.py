"""Lone surrogates and odd values on the calls routes: 4xx ``{"detail"}``, never 5xx."""

from __future__ import annotations

import json

import pytest

from services.config.provisioning import CreatedAccount
from tests.support.stack import Stack

LONE_SURROGATES = ["\ud800", "a\udfffb", "\ud83d"]
ODD_PATH_VALUES = ["%ED%A0%80", "%ED%BF%BF", "%C3%A9", "%F0%9F%98%80", "%00", "%FF", "%0A"]


@pytest.mark.parametrize("value", LONE_SURROGATES)
@pytest.mark.parametrize("field", ["inbound_number", "caller_number", "call_id", "service"])
async def test_route_call_body_rejects_lone_surrogates(
    stack: Stack, account: CreatedAccount, field: str, value: str
) -> None:
    body = {
        "inbound_number": "+919900000000",
        "caller_number": "+919900000001",
        "call_id": "call-1",
        "service": "exotel",
        field: value,
    }
    response = await stack.http.post(
        "/v1/calls:route",
        content=json.dumps(body).encode("ascii"),
        headers={"X-API-Key": account.api_key, "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert set(response.json()) == {"detail"}
    assert any(item["loc"] == ["body", field] for item in detail), detail


async def test_exotel_odd_token_and_query_values_get_the_detail_shape(stack: Stack) -> None:
    valid = {"CallTo": "+919900000000", "CallFrom": "+919900000001", "CallSid": "sid"}
    for raw in ODD_PATH_VALUES:
        token = await stack.http.get(f"/exotel/{raw}/stream?CallTo=1&CallFrom=2")
        assert token.status_code == 401, (raw, token.text)
        assert isinstance(token.json()["detail"], str)
        paths = [
            "/exotel/token/stream?"
            + "&".join(f"{key}={raw if key == name else value}" for key, value in valid.items())
            for name in valid
        ]
        for path in paths:
            response = await stack.http.get(path)
            assert 400 <= response.status_code < 500, (path, response.text)
            assert set(response.json()) == {"detail"}
