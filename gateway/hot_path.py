"""The hot routes' direct path: a well-formed request is answered without FastAPI's router.

Under one request in flight the gateway's latency is its own CPU per request, and on the
call-routing path most of it went to FastAPI's machinery rather than to the route: matching
the path against each included router (twice, as 0.16x includes routers lazily), the
exception and exit-stack middlewares, dependency solving and body reading. For each route of
``gateway/app.py``'s ``HOT_ROUTES``, :class:`HotRoutes` (an ASGI middleware inside the
request-context and size-limit ones) answers a request itself when everything about it is
plain: the route's method and exact path, no size refusal, a credential header, and
arguments that validate (a JSON body under ``Content-Type: application/json`` for a body
model, single non-empty values for query parameters). It validates them with the
endpoint's own annotations, calls the endpoint FastAPI calls, and turns a failure into a
response through the route's dialect (:meth:`gateway.dialects.DialectRoute.answer`), as
FastAPI's path does.

Anything else — malformed, oversized, unauthenticated, another content type, repeated or
unknown query parameters — is handed to FastAPI untouched (a body already read is replayed),
so every error answer keeps coming from one place, the FastAPI route, which also stays the
route's documentation.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final, get_args, get_origin, get_type_hints
from urllib.parse import parse_qsl

import orjson
from fastapi import params
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.dialects import DialectRoute
from gateway.limits import prepend, refusal, replay
from gateway.observe import ROUTE_TEMPLATE_KEY
from gateway.rpc import has_credential

Arguments = dict[str, Any]
_CONTENT_TYPE: Final = b"content-type"
_JSON: Final = b"application/json"


@dataclass(frozen=True)
class HotRoute:
    """A FastAPI route that is also served directly when its request is well formed."""

    method: str
    path: str
    """The full path, as in the OpenAPI document (no path parameters)."""
    dialect: type[DialectRoute]
    """The route's class: its credential rule and how its failures are rendered."""
    endpoint: Callable[..., Awaitable[Response]]
    """The FastAPI endpoint; it takes ``request`` and the arguments below by name."""
    body: tuple[str, type[BaseModel]] | None
    """The parameter that takes the JSON body, and its model."""
    query: Mapping[str, tuple[TypeAdapter[Any], Any]]
    """Query parameters: name -> (validator of its annotation, default or ``inspect._empty``)."""

    def arguments(self, scope: Scope, body: bytes) -> Arguments | None:
        """The endpoint's arguments (besides ``request``), or None: FastAPI should answer."""
        found = self._query_arguments(scope)
        if found is None:
            return None
        if self.body is not None:
            name, model = self.body
            if not _is_json(scope):
                return None
            try:
                found[name] = model.model_validate(orjson.loads(body))
            except (orjson.JSONDecodeError, ValidationError):
                return None
        return found

    def _query_arguments(self, scope: Scope) -> Arguments | None:
        pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        given = dict(pairs)
        if len(given) != len(pairs) or not given.keys() <= self.query.keys():
            return None
        found: Arguments = {}
        for name, (validator, default) in self.query.items():
            value = given.get(name)
            if value is None:
                if default is inspect.Parameter.empty:
                    return None
                found[name] = default
                continue
            if not value:
                return None
            try:
                found[name] = validator.validate_python(value)
            except ValidationError:
                return None
        return found


def hot_route(
    method: str,
    path: str,
    dialect: type[DialectRoute],
    endpoint: Callable[..., Awaitable[Response]],
) -> HotRoute:
    """The hot route of ``endpoint``, its parameters read from the endpoint's signature.

    The endpoint must take ``request`` and otherwise only a body model or ``Query``
    parameters (without alias): the shapes this path can validate exactly as FastAPI does.
    """
    hints = get_type_hints(endpoint, include_extras=True)
    body: tuple[str, type[BaseModel]] | None = None
    query: dict[str, tuple[TypeAdapter[Any], Any]] = {}
    for name, parameter in inspect.signature(endpoint).parameters.items():
        annotation = hints[name]
        if name == "request":
            continue
        if isinstance(annotation, type) and issubclass(annotation, BaseModel) and body is None:
            body = (name, annotation)
        elif _query_field(annotation) is not None:
            query[name] = (TypeAdapter(annotation), parameter.default)
        else:
            raise TypeError(f"{endpoint.__name__}: parameter {name!r} cannot be served hot")
    return HotRoute(method, path, dialect, endpoint, body, query)


def _query_field(annotation: Any) -> params.Query | None:
    if get_origin(annotation) is not Annotated:
        return None
    found = [item for item in get_args(annotation)[1:] if isinstance(item, params.Query)]
    if len(found) != 1 or found[0].alias is not None:
        return None
    return found[0]


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == _CONTENT_TYPE:
            media_type: bytes = value.split(b";", 1)[0].strip().lower()
            return media_type == _JSON
    return False


class HotRoutes:
    """Serves the hot routes' well-formed requests; passes everything else on."""

    def __init__(self, app: ASGIApp, *, routes: Iterable[HotRoute]) -> None:
        self._app = app
        self._routes = {(route.method, route.path): route for route in routes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = (
            self._routes.get((scope["method"], scope["path"])) if scope["type"] == "http" else None
        )
        if route is None or refusal(scope) is not None:
            await self._app(scope, receive, send)
            return
        request = Request(scope, receive)
        if route.dialect.requires_credential and not has_credential(request):
            await self._app(scope, receive, send)
            return
        body = b""
        if route.body is not None:
            chunks: list[bytes] = []
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    # The client left mid-body: FastAPI meets the same end.
                    await self._app(scope, prepend(message, receive), send)
                    return
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            body = b"".join(chunks)
        arguments = route.arguments(scope, body)
        if arguments is None:
            await self._app(scope, replay(body, receive), send)
            return
        scope[ROUTE_TEMPLATE_KEY] = route.path
        response = await route.dialect.answer(
            request, lambda: route.endpoint(request=request, **arguments)
        )
        await response(scope, receive, send)
