"""405 answers whose ``Allow`` lists every method the path serves, as OpenAPI documents them.

Starlette answers 405 from the first route whose path matches, so a path served by two
routes (``GET`` and ``PUT`` of one resource) would advertise only one of its methods.
"""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

_PARAMETER = re.compile(r"\{[^}]+\}")


def _templates(app: FastAPI) -> list[tuple[re.Pattern[str], list[str]]]:
    found: list[tuple[re.Pattern[str], list[str]]] | None = getattr(
        app.state, "allow_templates", None
    )
    if found is None:
        found = [
            (
                re.compile("[^/]+".join(re.escape(part) for part in _PARAMETER.split(path))),
                sorted(method.upper() for method in item),
            )
            for path, item in app.openapi()["paths"].items()
        ]
        app.state.allow_templates = found
    return found


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The documented methods of ``path`` (empty when it is not a documented path)."""
    return next((methods for pattern, methods in _templates(app) if pattern.fullmatch(path)), [])


async def method_not_allowed(request: Request, error: Exception) -> Response:
    """The 405 answer, with ``Allow`` naming every documented method of the path."""
    assert isinstance(error, HTTPException)
    headers = dict(error.headers or {})
    methods = allowed_methods(request.app, request.url.path)
    if methods:
        headers["Allow"] = ", ".join(methods)
    return JSONResponse({"detail": error.detail}, status_code=405, headers=headers)
