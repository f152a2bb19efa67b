"""Route classes that render errors in each public API's own shape.

Inkbox routes answer ``{"detail": ...}`` (FastAPI style, validation errors 422);
Vyom routes answer the ``{"success": false, "message", "data"}`` envelope.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ClassVar

import grpc
from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from gateway.limits import refusal
from gateway.openapi import Dialect, route_declarations
from gateway.rpc import UpstreamError, has_credential
from services.common.auth import MISSING_CREDENTIAL

_log = logging.getLogger(__name__)

SHUTTING_DOWN = "service is shutting down; retry"


class DialectError(Exception):
    """Raised by a route for an error the gateway itself detects (before any RPC)."""

    def __init__(self, status_code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.data = data


class DialectRoute(APIRoute):
    """A route whose failures are answered in its public API's shape (subclass per dialect)."""

    dialect: ClassVar[Dialect]
    requires_credential: ClassVar[bool] = True
    """Refuse requests without any credential header before even reading their body."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        # Every route documents its dialect's errors and (when it needs one) the credentials.
        kwargs["responses"], kwargs["openapi_extra"] = route_declarations(
            self.dialect,
            responses=kwargs.get("responses"),
            openapi_extra=kwargs.get("openapi_extra"),
            credential=self.requires_credential,
        )
        super().__init__(path, endpoint, **kwargs)

    @classmethod
    def render(cls, status_code: int, message: str, data: Any = None) -> Response:
        raise NotImplementedError

    @classmethod
    def render_validation(cls, error: RequestValidationError) -> Response:
        raise NotImplementedError

    @classmethod
    def status_for(cls, error: UpstreamError) -> int:
        return error.http_status

    @classmethod
    async def answer(cls, request: Request, respond: Callable[[], Awaitable[Response]]) -> Response:
        """What ``respond()`` returns, or this dialect's answer to what it raised: the one
        place a route's failures become responses (FastAPI's routes and the hot path,
        ``gateway/hot_path.py``)."""
        try:
            return await respond()
        except RequestValidationError as error:
            return cls.render_validation(error)
        except HTTPException as error:
            if error.status_code == 400 and error.__cause__ is not None:
                # FastAPI could not decode the body as JSON: invalid UTF-8, nesting too
                # deep, an integer too long to convert. The same answer as a syntax error.
                return cls.render_validation(unparseable_body(error.__cause__))
            return cls.render(error.status_code, str(error.detail))
        except UpstreamError as error:
            data = (
                {"errors": [{"field": f, "message": m} for f, m in error.violations]}
                if error.violations
                else None
            )
            return cls.render(cls.status_for(error), error.message, data)
        except DialectError as error:
            return cls.render(error.status_code, error.message, error.data)
        except asyncio.CancelledError:
            if not getattr(request.app.state, "stopping", False):
                raise
            # The gateway's shutdown grace ran out before the upstream answered.
            return cls.render(503, SHUTTING_DOWN)
        except Exception:
            _log.exception("unhandled error in %s %s", request.method, request.url.path)
            return cls.render(500, "Internal server error")

    @classmethod
    def early_answer(cls, request: Request) -> Response | None:
        """The answer given before the body is read or validated, if any: a size refusal, or
        401 without a credential (unauthenticated callers learn nothing about the body)."""
        refused = refusal(request.scope)
        if refused is not None:
            # Over a size limit (gateway/limits.py): answered in this route's dialect.
            refused.rendered = True
            return cls.render(refused.status_code, refused.message)
        if cls.requires_credential and not has_credential(request):
            return cls.render(401, MISSING_CREDENTIAL)
        return None

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def respond(request: Request) -> Response:
            early = self.early_answer(request)
            return early if early is not None else await handle(request)

        async def guarded(request: Request) -> Response:
            return await self.answer(request, lambda: respond(request))

        return guarded


def unparseable_body(cause: BaseException) -> RequestValidationError:
    """The ``json_invalid`` validation error FastAPI raises for malformed JSON."""
    message = "JSON decode error" if isinstance(cause, ValueError) else "JSON nested too deeply"
    return RequestValidationError(
        [{"type": "json_invalid", "loc": ("body", 0), "msg": message, "input": {}}]
    )


class InkboxRoute(DialectRoute):
    """Errors as ``{"detail": message}``; invalid input is 422 as in FastAPI."""

    dialect = "inkbox"

    @classmethod
    def status_for(cls, error: UpstreamError) -> int:
        if error.code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION):
            return 422
        return error.http_status

    @classmethod
    def render(cls, status_code: int, message: str, data: Any = None) -> Response:
        return JSONResponse({"detail": message}, status_code=status_code)

    @classmethod
    def render_validation(cls, error: RequestValidationError) -> Response:
        detail = [
            {key: value for key, value in item.items() if key in ("type", "loc", "msg")}
            for item in error.errors()
        ]
        return JSONResponse({"detail": jsonable_encoder(detail)}, status_code=422)


class InkboxPublicRoute(InkboxRoute):
    """Inkbox-style errors on a route whose credential is not a header (e.g. in the path)."""

    requires_credential = False


class VyomRoute(DialectRoute):
    """Errors in the ``{success: false, message, data}`` envelope."""

    dialect = "vyom"

    @classmethod
    def render(cls, status_code: int, message: str, data: Any = None) -> Response:
        return JSONResponse(
            {"success": False, "message": message, "data": data}, status_code=status_code
        )

    @classmethod
    def render_validation(cls, error: RequestValidationError) -> Response:
        errors = [
            {
                "field": "body"
                if item["type"] == "json_invalid"
                else ".".join(str(part) for part in item["loc"] if part != "body"),
                "message": item["msg"],
            }
            for item in error.errors()
        ]
        return cls.render(422, "Validation error", {"errors": jsonable_encoder(errors)})
