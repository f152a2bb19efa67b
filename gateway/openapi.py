"""What every route declares in OpenAPI: the dialect's error responses and the security schemes.

Route classes (:mod:`gateway.dialects`) apply :func:`route_declarations` to every route, so a
new route only names its own extra statuses, e.g. ``responses={409: {"description": "..."}}``;
the dialect's error schema is attached to every 4xx/5xx entry that has none.

The credential headers are declared as OpenAPI only (each route's ``security``, and the
schemes in the document's components by :func:`document_security_schemes`), not as FastAPI
security dependencies: those only documented, yet ran on every request (about a fifth of the
gateway's own time on ``POST /v1/calls:route``). The credential itself is checked by the
services.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

from fastapi import FastAPI
from pydantic import BaseModel

Dialect = Literal["inkbox", "vyom"]
Responses = dict[int | str, dict[str, Any]]

SECURITY_SCHEMES: Final[Mapping[str, Mapping[str, str]]] = {
    "ApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An admin or identity-scoped API key (or, on `/v1/calls:route`, the "
        "edge token).",
    },
    "Bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "`Authorization: Bearer <API key or edge token>`; the same credentials.",
    },
}
"""The two credential headers, as the document's ``components.securitySchemes``."""
SECURITY_REQUIREMENT: Final[list[dict[str, list[str]]]] = [{name: []} for name in SECURITY_SCHEMES]
"""A credential route's ``security``: either scheme is enough."""


class ValidationIssue(BaseModel):
    """One invalid part of the request (FastAPI style)."""

    type: str
    loc: list[str | int]
    msg: str


class InkboxError(BaseModel):
    """Inkbox-dialect error: a message, the invalid fields, or a structured explanation."""

    detail: str | list[ValidationIssue] | dict[str, Any]


class VyomFieldError(BaseModel):
    """One invalid field of a Vyom request."""

    field: str
    message: str


class VyomErrorData(BaseModel):
    """The invalid fields of a Vyom request."""

    errors: list[VyomFieldError]


class VyomError(BaseModel):
    """Vyom-dialect error envelope."""

    success: Literal[False]
    message: str
    data: VyomErrorData | None


ERROR_MODELS: Final[Mapping[Dialect, type[BaseModel]]] = {
    "inkbox": InkboxError,
    "vyom": VyomError,
}

_CREDENTIAL_ERRORS: Final[Mapping[int, str]] = {
    401: "Missing, malformed, unknown or revoked credential",
    403: "The credential may not do this (e.g. an identity-scoped key on an admin route)",
}
_COMMON_ERRORS: Final[Mapping[int, str]] = {
    404: "Not found, or not visible to this credential",
    413: "Request body larger than the gateway accepts",
    414: "Request URL longer than the gateway accepts",
    422: "Invalid input: unparseable body, a field failing validation, or unstorable text",
    431: "Request headers larger than the gateway accepts",
    503: "A Switchboard service is unavailable; retry later",
    504: "A Switchboard service did not answer in time; retry later",
}
_DIALECT_ERRORS: Final[Mapping[Dialect, Mapping[int, str]]] = {
    "inkbox": {},
    "vyom": {400: "Invalid request"},
}


def error_responses(dialect: Dialect, *, credential: bool = True) -> Responses:
    """The statuses any route of ``dialect`` may answer, each with the dialect's error schema."""
    descriptions: dict[int, str] = {**_COMMON_ERRORS, **_DIALECT_ERRORS[dialect]}
    if credential:
        descriptions.update(_CREDENTIAL_ERRORS)
    model = ERROR_MODELS[dialect]
    return {
        status: {"description": description, "model": model}
        for status, description in sorted(descriptions.items())
    }


def route_declarations(
    dialect: Dialect,
    *,
    responses: Responses | None,
    openapi_extra: dict[str, Any] | None,
    credential: bool,
) -> tuple[Responses, dict[str, Any] | None]:
    """A route's ``responses`` and ``openapi_extra`` completed with the dialect's declarations.

    The route's own entries win; every error entry without a model gets the dialect's error
    schema; credential routes name both security schemes (unless they state their own).
    """
    merged = error_responses(dialect, credential=credential)
    for status, declared in (responses or {}).items():
        merged[status] = {**merged.get(status, {}), **declared}
    model = ERROR_MODELS[dialect]
    for status, declared in merged.items():
        if str(status)[0] in "45" and "model" not in declared and "content" not in declared:
            declared["model"] = model
    if credential:
        openapi_extra = {"security": SECURITY_REQUIREMENT, **(openapi_extra or {})}
    return merged, openapi_extra


def document_security_schemes(app: FastAPI) -> None:
    """Add :data:`SECURITY_SCHEMES` to the components of ``app``'s OpenAPI document."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        document = app.openapi_schema
        if document is None:  # built once, then FastAPI keeps it
            document = build()
            components = document.setdefault("components", {})
            components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
