"""The gateway's OpenAPI document describes the Inkbox routes and the extension fields."""

from __future__ import annotations

from tests.support.stack import Stack


async def test_openapi_lists_inkbox_routes(stack: Stack) -> None:
    document = (await stack.http.get("/openapi.json")).json()
    paths = document["paths"]
    expected = {
        "/api/v1/phone/incoming-call-action": {"get", "put"},
        "/api/v1/identities/": {"get", "post"},
        "/api/v1/identities/{agent_handle}": {"get", "patch", "delete"},
        "/api/v1/api-keys": {"get", "post"},
        "/api/v1/api-keys/{api_key_id}": {"delete"},
        "/api/v1/identities/{agent_handle}/signing-key": {"get", "post"},
        "/api/v1/signing-keys": {"get", "post"},
        "/api/whoami": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    body = document["components"]["schemas"]["IncomingCallActionBody"]["properties"]
    assert "Switchboard extension" in body["webhook_timeout_seconds"]["description"]
    assert "Omitted" in body["forwarding_phone_number"]["description"]
    assert "X-API-Key" in str(document["components"]["securitySchemes"])
    assert paths["/api/v1/signing-keys"]["post"]["deprecated"] is True
    assert "409" in paths["/api/v1/signing-keys"]["post"]["responses"]
    retired = paths["/api/v1/webhooks/signing-secret"]
    assert {"410", "401"} <= set(retired["get"]["responses"]) and retired["post"]["deprecated"]
    assert paths["/api/whoami"]["get"]["security"] == paths["/api/v1/api-keys"]["get"]["security"]
