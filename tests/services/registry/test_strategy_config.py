"""Strategy configuration rules without a database: merge, masking, limits."""

from __future__ import annotations

import pytest

from services.common.errors import InvalidArgument
from services.registry.strategy_config import (
    MASK,
    WebhookConfig,
    WebhookConfigPatch,
    checked_name,
    checked_type,
    is_secret_header,
    masked_secrets,
    merged_config,
    new_config,
)

STORED = WebhookConfig(
    url="https://crm.example.com/a",
    headers={"Authorization": "Bearer x", "X-Keep": "k", "X-Drop": "d"},
    timeout_seconds=3.0,
)


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "X-API-Key",
        "x-apikey",
        "Api_Key",
        "X-Auth-Token",
        "Cookie",
        "X-Hub-Signature",
        "Client-Secret",
        "Proxy-Authorization",
        "X-Password",
        "X-Session-Id",
        "X-Pass",
        "X-Access",
        "authorization",
        "X-Private",
        "Bearer",
        "JWT",
    ],
)
def test_secret_looking_headers_are_masked(name: str) -> None:
    assert is_secret_header(name)
    assert WebhookConfig(url="https://a.example.com", headers={name: "v"}).masked_headers() == {
        name: MASK
    }


@pytest.mark.parametrize("name", ["X-Tenant", "Accept", "Content-Language", "X-Request-Id"])
def test_plain_headers_are_shown(name: str) -> None:
    assert not is_secret_header(name)


def test_merge_replaces_url_and_timeout_and_merges_headers() -> None:
    merged = merged_config(
        STORED,
        WebhookConfigPatch(
            url="https://crm.example.com/b",
            timeout_seconds=0.5,
            headers={"X-Drop": None, "X-New": "n", "Authorization": "Bearer y", "X-Absent": None},
        ),
        allow_private=False,
    )
    assert merged == WebhookConfig(
        url="https://crm.example.com/b",
        headers={"Authorization": "Bearer y", "X-Keep": "k", "X-New": "n"},
        timeout_seconds=0.5,
    )


def test_merge_keeps_everything_not_named() -> None:
    assert merged_config(STORED, WebhookConfigPatch(), allow_private=False) == STORED


def test_header_names_match_case_insensitively() -> None:
    merged = merged_config(STORED, WebhookConfigPatch(headers={"x-keep": "2"}), allow_private=False)
    assert "X-Keep" not in merged.headers
    assert merged.headers["x-keep"] == "2"


@pytest.mark.parametrize(
    "patch",
    [
        WebhookConfigPatch(headers={"X-Keep": MASK}),
        WebhookConfigPatch(headers={"Bad:Name": "v"}),
        WebhookConfigPatch(headers={"X": "a\r\nInjected: 1"}),
        WebhookConfigPatch(headers={f"X-{i}": "v" for i in range(60)}),
        WebhookConfigPatch(timeout_seconds=0.49),
        WebhookConfigPatch(timeout_seconds=float("inf")),
        WebhookConfigPatch(url="javascript:alert(1)"),
    ],
)
def test_invalid_patches_are_refused(patch: WebhookConfigPatch) -> None:
    with pytest.raises(InvalidArgument):
        merged_config(STORED, patch, allow_private=True)


def test_new_config_defaults_and_round_trips() -> None:
    config = new_config("https://a.example.com", {}, None, allow_private=False)
    assert config.timeout_seconds == 10.0
    assert WebhookConfig.from_json(config.to_json()) == config


def test_names_and_types() -> None:
    assert checked_name("  CRM  ") == "CRM"
    assert checked_type("webhook") == "webhook"
    for bad_name in ("", "  ", "a\x00b", "x" * 201):
        with pytest.raises(InvalidArgument):
            checked_name(bad_name)
    for bad_type in ("Webhook", "http", ""):
        with pytest.raises(InvalidArgument):
            checked_type(bad_type)


def test_masking_is_recursive_over_every_key() -> None:
    config = {
        "url": "https://crm.example.com/a?token=t&tenant=acme&Api-Key=k",
        "headers": {"X-Tenant": "acme", "X-Pass": "p"},
        "timeout_seconds": 3.0,
        "nested": {
            "auth": {"user": "u", "anything": "x"},
            "list": [{"client_secret": "s", "plain": 1}, "text"],
            "cookie_jar": ["a", "b"],
            "level": {"deeper": {"session_id": "s", "ok": True}},
        },
    }
    assert masked_secrets(config) == {
        "url": "https://crm.example.com/a?token=****&tenant=acme&Api-Key=****",
        "headers": {"X-Tenant": "acme", "X-Pass": MASK},
        "timeout_seconds": 3.0,
        "nested": {
            "auth": MASK,
            "list": [{"client_secret": MASK, "plain": 1}, "text"],
            "cookie_jar": MASK,
            "level": {"deeper": {"session_id": MASK, "ok": True}},
        },
    }
    plain_url = "https://crm.example.com/a?tenant=acme"
    assert masked_secrets({"url": plain_url}) == {"url": plain_url}


def test_vyoms_documented_names_are_all_masked() -> None:
    for part in ("authorization", "token", "secret", "api-key", "apikey", "api_key", "password"):
        assert is_secret_header(f"X-{part.upper()}-1")
    for part in ("pass", "auth", "cookie", "session", "key"):
        assert is_secret_header(part)


def test_headers_merge_case_insensitively_and_refuse_two_spellings() -> None:
    merged = merged_config(
        STORED,
        WebhookConfigPatch(headers={"authorization": "b", "x-keep": None}),
        allow_private=True,
    )
    assert dict(merged.headers) == {"X-Drop": "d", "authorization": "b"}
    for headers in ({"A": "1", "a": "2"}, {"X-Key": "1", "x-key": None}):
        with pytest.raises(InvalidArgument):
            merged_config(STORED, WebhookConfigPatch(headers=headers), allow_private=True)
    with pytest.raises(InvalidArgument):
        new_config("https://a.example.com", {"A": "1", "a": "2"}, None, allow_private=True)


def test_default_timeout_is_vyoms_ten_seconds() -> None:
    assert new_config("https://a.example.com", {}, None, allow_private=True).timeout_seconds == 10.0
