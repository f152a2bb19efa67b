"""Context-strategy values: validation, the update merge rules, and secret masking."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from services.common.budgets import STRATEGY_BUDGET
from services.common.errors import FieldViolation, InvalidArgument
from services.common.urls import STRATEGY_SCHEMES, UnsafeUrl, validate_outbound_url

STRATEGY_TYPES: Final = frozenset({"webhook"})
MASK: Final = "****"
MAX_NAME_LENGTH: Final = 200
MAX_HEADERS: Final = 50
MAX_HEADER_NAME_LENGTH: Final = 256
MAX_HEADER_VALUE_LENGTH: Final = 4096

SECRET_NAME_PARTS: Final = (
    # Vyom's documented list ...
    "authorization",
    "token",
    "secret",
    "api-key",
    "apikey",
    "api_key",
    "password",
    # ... and the stricter additions (each also covers longer names containing it).
    "pass",
    "auth",
    "cookie",
    "session",
    "key",
    "signature",
    "credential",
    "access",
    "private",
    "jwt",
    "bearer",
)
"""A key whose lower-cased name contains any of these has its value masked on read."""
MASKED_VALUE_MESSAGE: Final = (
    "'{name}' is masked (as returned by GET /tool/details). "
    "Send the real value, or omit the field to keep the stored one."
)
"""Vyom's documented message for a masked value sent back on create/update."""
_HEADER_NAME: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE: Final = re.compile(r"[\t\x20-\x7e\x80-\U0010ffff]*")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class WebhookConfig:
    """The stored configuration of a ``webhook`` strategy (headers in clear)."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_seconds: float = STRATEGY_BUDGET.default

    def to_json(self) -> dict[str, Any]:
        """The JSON object stored in the ``config`` column."""
        return {
            "url": self.url,
            "headers": dict(self.headers),
            "timeout_seconds": self.timeout_seconds,
        }

    @classmethod
    def from_json(cls, stored: Mapping[str, Any]) -> WebhookConfig:
        """The configuration of a stored ``config`` column."""
        return cls(
            url=str(stored["url"]),
            headers={str(k): str(v) for k, v in (stored.get("headers") or {}).items()},
            timeout_seconds=float(stored.get("timeout_seconds", STRATEGY_BUDGET.default)),
        )

    def masked(self) -> dict[str, Any]:
        """The configuration as shown to clients: see :func:`masked_secrets`."""
        shown: dict[str, Any] = masked_secrets(self.to_json())
        return shown

    def masked_headers(self) -> dict[str, str]:
        """The headers as shown to clients: secret-looking values replaced by :data:`MASK`."""
        return {str(name): str(value) for name, value in self.masked()["headers"].items()}

    def masked_url(self) -> str:
        """The URL as shown to clients: secret-looking query parameter values masked."""
        return str(self.masked()["url"])


@dataclass(frozen=True)
class WebhookConfigPatch:
    """Changes to a stored configuration: replaced values, and headers merged key by key."""

    url: str | None = None
    timeout_seconds: float | None = None
    headers: Mapping[str, str | None] = field(default_factory=dict)
    """Header name -> new value, or None to delete that header."""


@dataclass(frozen=True)
class StrategyPatch:
    """The top-level fields an update applies (None = not applied)."""

    strategy_name: str | None = None
    strategy_type: str | None = None
    strategy_config: WebhookConfigPatch | None = None


def is_secret_header(name: str) -> bool:
    """Whether a key's value must be masked on read (its name looks like a credential)."""
    lowered = name.lower()
    return any(part in lowered for part in SECRET_NAME_PARTS)


def masked_secrets(value: Any) -> Any:
    """``value`` (a JSON value) with every secret-looking key's value replaced by :data:`MASK`.

    Recursive through objects and arrays, whatever the nesting; a secret-looking key's value
    is masked whole (an object under ``auth`` included). A ``url`` string also has the values
    of its secret-looking query parameters masked (``?api_key=...`` -> ``?api_key=****``).
    """
    if isinstance(value, Mapping):
        return {key: _masked_entry(str(key), item) for key, item in value.items()}
    if isinstance(value, list):
        return [masked_secrets(item) for item in value]
    return value


def _masked_entry(key: str, value: Any) -> Any:
    if is_secret_header(key):
        return MASK
    if key == "url" and isinstance(value, str):
        return _masked_url(value) or value
    return masked_secrets(value)


def _masked_url(url: str) -> str | None:
    """``url`` with secret-looking query values masked, or None when there is nothing to mask."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not any(is_secret_header(name) for name, _ in query):
        return None
    masked = [(name, MASK if is_secret_header(name) else item) for name, item in query]
    return urlunsplit(parts._replace(query=urlencode(masked, safe="*")))


def checked_name(name: str) -> str:
    """A valid strategy name, stripped of surrounding whitespace."""
    stripped = name.strip()
    if not stripped or len(stripped) > MAX_NAME_LENGTH or _CONTROL.search(stripped):
        raise InvalidArgument.for_field(
            "strategy_name",
            f"strategy_name must be 1-{MAX_NAME_LENGTH} characters without control characters",
        )
    return stripped


def checked_type(strategy_type: str) -> str:
    """A supported strategy type."""
    if strategy_type not in STRATEGY_TYPES:
        raise InvalidArgument.for_field(
            "strategy_type",
            f"strategy_type must be one of: {', '.join(sorted(STRATEGY_TYPES))}",
            reason="UNSUPPORTED_STRATEGY_TYPE",
        )
    return strategy_type


def new_config(
    url: str, headers: Mapping[str, str], timeout_seconds: float | None, *, allow_private: bool
) -> WebhookConfig:
    """A validated configuration for a new strategy (``timeout_seconds`` None = default)."""
    return WebhookConfig(
        url=_checked_url(url, allow_private=allow_private),
        headers=_checked_headers(headers),
        timeout_seconds=(
            STRATEGY_BUDGET.default
            if timeout_seconds is None
            else _checked_timeout(timeout_seconds)
        ),
    )


def merged_config(
    stored: WebhookConfig, patch: WebhookConfigPatch, *, allow_private: bool
) -> WebhookConfig:
    """``stored`` with ``patch`` applied: url/timeout replaced, headers merged, None deletes."""
    _unique_names(patch.headers)
    headers = dict(stored.headers)
    changed: dict[str, str] = {}
    for name, value in patch.headers.items():
        # Header names are case-insensitive (RFC 9110): `authorization` replaces `Authorization`.
        for same in [stored_name for stored_name in headers if stored_name.lower() == name.lower()]:
            del headers[same]
        if value is not None:
            headers[name] = changed[name] = value
    _checked_headers(changed)
    if len(headers) > MAX_HEADERS:
        raise InvalidArgument.for_field("strategy_config.headers", f"at most {MAX_HEADERS} headers")
    return WebhookConfig(
        url=(
            stored.url
            if patch.url is None
            else _checked_url(patch.url, allow_private=allow_private)
        ),
        headers=headers,
        timeout_seconds=(
            stored.timeout_seconds
            if patch.timeout_seconds is None
            else _checked_timeout(patch.timeout_seconds)
        ),
    )


def _checked_url(url: str, *, allow_private: bool) -> str:
    if any(
        value == MASK and is_secret_header(name)
        for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True)
    ):
        raise InvalidArgument.for_field(
            "strategy_config.url", MASKED_VALUE_MESSAGE.format(name="url"), reason="MASKED_VALUE"
        )
    try:
        return validate_outbound_url(url, schemes=STRATEGY_SCHEMES, allow_private=allow_private)
    except UnsafeUrl as error:
        raise InvalidArgument.for_field(
            "strategy_config.url", error.message, reason="UNSAFE_URL"
        ) from None


def _checked_timeout(seconds: float) -> float:
    if not STRATEGY_BUDGET.allows(seconds):
        raise InvalidArgument.for_field(
            "strategy_config.timeout_seconds",
            f"timeout_seconds must be between {STRATEGY_BUDGET.minimum} and "
            f"{STRATEGY_BUDGET.maximum}",
        )
    return float(seconds)


def _unique_names(headers: Mapping[str, Any]) -> None:
    """Refuse two spellings of one header name (``authorization`` and ``Authorization``)."""
    seen: dict[str, str] = {}
    for name in headers:
        first = seen.setdefault(name.lower(), name)
        if first != name:
            raise InvalidArgument.for_field(
                f"strategy_config.headers.{name}",
                f"header names are case-insensitive: '{first}' and '{name}' are the same header",
            )


def _checked_headers(headers: Mapping[str, str]) -> dict[str, str]:
    _unique_names(headers)
    if len(headers) > MAX_HEADERS:
        raise InvalidArgument.for_field("strategy_config.headers", f"at most {MAX_HEADERS} headers")
    for name, value in headers.items():
        if value == MASK:
            raise InvalidArgument.for_field(
                f"strategy_config.headers.{name}",
                MASKED_VALUE_MESSAGE.format(name=name),
                reason="MASKED_VALUE",
            )
    violations: list[FieldViolation] = []
    for name, value in headers.items():
        path = f"strategy_config.headers.{name}"
        if len(name) > MAX_HEADER_NAME_LENGTH or not _HEADER_NAME.fullmatch(name):
            violations.append(FieldViolation(path, "header name is not a valid HTTP token"))
        elif len(value) > MAX_HEADER_VALUE_LENGTH or not _HEADER_VALUE.fullmatch(value):
            violations.append(
                FieldViolation(path, "header value must be printable text on one line")
            )
    if violations:
        raise InvalidArgument(
            "Invalid strategy_config.headers: " + violations[0].description,
            violations=violations,
        )
    return dict(headers)
