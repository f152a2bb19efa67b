"""The hot routes' direct path: a well-formed request is answered without FastAPI's router.

Under one request in flight the gateway's latency is its own CPU per request, and on the
call-routing path most of it went to FastAPI's machinery rather than to the route: matching
the path against each included router (twice, as 0.16x includes routers lazily), the
exception and exit-stack middlewares, dependency solving and body reading. For each route of
``gateway/app.py``'s ``HOT_ROUTES``, :class:`HotRoutes` (an ASGI middleware inside the
request-context and size-limit ones) serves the requests addressed to it by method and path.
A size refusal or a missing credential gets the route's early answer
(:meth:`gateway.dialects.DialectRoute.early_answer`, the one FastAPI's route gives). Then,
when the arguments validate with the endpoint's own annotations (path parameters, a JSON
body under ``Content-Type: application/json`` for a body model, single non-empty values for
query parameters), it calls the endpoint FastAPI calls and turns a failure into a response
through the route's dialect (:meth:`gateway.dialects.DialectRoute.answer`), as FastAPI's
path does.

Anything else — malformed, another content type, repeated or unknown query parameters — is
handed to FastAPI untouched (a body already read is replayed), so every validation error
keeps coming from one place, the FastAPI route, which also stays the route's documentation.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Final, get_args, get_origin, get_type_hints
from urllib.parse import parse_qsl

import orjson
from fastapi import params
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.dialects import DialectRoute
from gateway.limits import header, prepend, replay
from gateway.observe import ROUTE_TEMPLATE_KEY

Arguments = dict[str, Any]
_CONTENT_TYPE: Final = b"content-type"
_JSON: Final = b"application/json"


@dataclass(frozen=True)
class QueryParameter:
    """One query parameter of an endpoint."""

    name: str
    """The endpoint's parameter (the query key is its alias when it has one)."""
    validator: TypeAdapter[Any]
    default: Any
    """``inspect.Parameter.empty``: required."""


@dataclass(frozen=True)
class HotRoute:
    """A FastAPI route that is also served directly when its request is well formed."""

    method: str
    path: str
    """The full path template, as in the OpenAPI document."""
    dialect: type[DialectRoute]
    """The route's class: its credential rule and how its failures are rendered."""
    endpoint: Callable[..., Awaitable[Response]]
    """The FastAPI endpoint; it takes ``request`` and the arguments below by name."""
    body: tuple[str, type[BaseModel]] | None
    """The parameter that takes the JSON body, and its model."""
    query: Mapping[str, QueryParameter]
    """By query key."""
    path_parameters: Mapping[str, TypeAdapter[Any]]
    """By name; the path template's ``{name}`` segments."""
    pattern: re.Pattern[str] = field(compare=False)
    """The path template compiled by Starlette: the same match FastAPI's router makes."""

    def arguments(self, scope: Scope, in_path: Mapping[str, str], body: bytes) -> Arguments | None:
        """The endpoint's arguments (besides ``request``) from the path's ``{name}`` values,
        the query and the body; None: FastAPI should answer."""
        found = self._path_arguments(in_path)
        if found is None or not self._add_query_arguments(scope, found):
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

    def _path_arguments(self, in_path: Mapping[str, str]) -> Arguments | None:
        try:
            return {
                name: validator.validate_python(in_path[name])
                for name, validator in self.path_parameters.items()
            }
        except ValidationError:
            return None

    def _add_query_arguments(self, scope: Scope, found: Arguments) -> bool:
        pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        given = dict(pairs)
        if len(given) != len(pairs) or not given.keys() <= self.query.keys():
            return False
        for key, parameter in self.query.items():
            value = given.get(key)
            if value is None:
                if parameter.default is inspect.Parameter.empty:
                    return False
                found[parameter.name] = parameter.default
                continue
            if not value:
                return False
            try:
                found[parameter.name] = parameter.validator.validate_python(value)
            except ValidationError:
                return False
        return True


def hot_route(
    method: str,
    path: str,
    dialect: type[DialectRoute],
    endpoint: Callable[..., Awaitable[Response]],
) -> HotRoute:
    """The hot route of ``endpoint``, its parameters read from the endpoint's signature.

    The endpoint must return a ``Response`` and take ``request`` and otherwise only a body
    model, the path template's parameters and ``Query`` parameters: the shapes this path
    validates exactly as FastAPI does. Anything else is refused here, at import.
    """
    hints = get_type_hints(endpoint, include_extras=True)
    returned = hints.get("return")
    if not (isinstance(returned, type) and issubclass(returned, Response)):
        raise TypeError(f"{endpoint.__name__}: must be annotated to return a Response")
    pattern, _, convertors = compile_path(path)
    in_path = set(convertors)
    body: tuple[str, type[BaseModel]] | None = None
    query: dict[str, QueryParameter] = {}
    path_parameters: dict[str, TypeAdapter[Any]] = {}
    for name, parameter in inspect.signature(endpoint).parameters.items():
        if name == "request":
            continue
        annotation = hints[name]
        query_field = _query_field(annotation)
        if name in in_path and get_origin(annotation) is not Annotated:
            path_parameters[name] = TypeAdapter(annotation)
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel) and body is None:
            body = (name, annotation)
        elif query_field is not None:
            key = query_field.alias or name
            query[key] = QueryParameter(name, TypeAdapter(annotation), parameter.default)
        else:
            raise TypeError(f"{endpoint.__name__}: parameter {name!r} cannot be served hot")
    if path_parameters.keys() != in_path:
        raise TypeError(f"{endpoint.__name__}: does not take each parameter of {path}")
    return HotRoute(method, path, dialect, endpoint, body, query, path_parameters, pattern)


def _query_field(annotation: Any) -> params.Query | None:
    if get_origin(annotation) is not Annotated:
        return None
    found = [item for item in get_args(annotation)[1:] if isinstance(item, params.Query)]
    return found[0] if len(found) == 1 else None


def _is_json(scope: Scope) -> bool:
    content_type = header(scope, _CONTENT_TYPE)
    return content_type is not None and content_type.split(b";", 1)[0].strip().lower() == _JSON


class HotRoutes:
    """Serves the hot routes' well-formed requests; passes everything else on."""

    def __init__(self, app: ASGIApp, *, routes: Iterable[HotRoute]) -> None:
        self._app = app
        routes = tuple(routes)
        self._static = {
            (route.method, route.path): route for route in routes if not route.path_parameters
        }
        self._templated = tuple(route for route in routes if route.path_parameters)

    def _route(self, scope: Scope) -> tuple[HotRoute, Mapping[str, str]] | None:
        """The hot route the request addresses, with its path's ``{name}`` values."""
        if scope["type"] != "http":
            return None
        method, path = scope["method"], scope["path"]
        found = self._static.get((method, path))
        if found is not None:
            return found, {}
        for route in self._templated:
            match = route.pattern.match(path) if route.method == method else None
            if match is not None:
                return route, match.groupdict()
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        addressed = self._route(scope)
        if addressed is None:
            await self._app(scope, receive, send)
            return
        route, in_path = addressed
        scope[ROUTE_TEMPLATE_KEY] = route.path
        request = Request(scope, receive)
        early = route.dialect.early_answer(request)
        if early is not None:
            await early(scope, receive, send)
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
        arguments = route.arguments(scope, in_path, body)
        if arguments is None:
            await self._app(scope, replay(body, receive), send)
            return
        response = await route.dialect.answer(
            request, lambda: route.endpoint(request=request, **arguments)
        )
        await response(scope, receive, send)
