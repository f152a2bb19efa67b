"""The hot path (gateway/hot_path.py) answers exactly as FastAPI's route does, and serves.

Each request goes to two apps over one fake upstream: the gateway as built, and the same
gateway with no hot routes (every request through FastAPI's router, the reference). Status,
content type, body, and the upstream calls made must be the same, for well-formed requests
(answered by the hot path), malformed ones (handed to FastAPI), and upstream failures
(rendered by the route's dialect on both paths).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx
import pytest
from fastapi import FastAPI, Request, Response
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY
from switchboard.config.v1 import config_pb2
from switchboard.registry.v1 import registry_pb2

from gateway.app import HOT_ROUTES, create_app
from gateway.dialects import InkboxRoute
from gateway.hot_path import hot_route
from gateway.settings import GatewaySettings

ROUTE = "/v1/calls:route"
CALL_ACTION = "/api/v1/phone/incoming-call-action"
IDENTITY = "5f0c7f4e-1a8e-4c55-9b0e-2f3a4b5c6d7e"
EDGE = {"Authorization": "Bearer sbedge_" + "t" * 32}
JSON_TYPE = {"Content-Type": "application/json"}
DECISION = registry_pb2.RouteCallResponse(
    call_id="call-1",
    decision=registry_pb2.ROUTING_DECISION_ACCEPT,
    edge_outcome=registry_pb2.EDGE_OUTCOME_BRIDGE,
    client_websocket_url="wss://agent.example.com/ws",
    inbound_id=str(uuid.UUID(int=1)),
    assistant_id=IDENTITY,
    assistant_name="Front desk",
    decision_id="decision-1",
)
ACTION = config_pb2.IncomingCallAction(
    agent_identity_id=IDENTITY,
    incoming_call_action=config_pb2.INCOMING_CALL_ACTION_TYPE_AUTO_ACCEPT,
    client_websocket_url="wss://agent.example.com/ws",
)


@dataclass
class FakeUpstreams:
    """Both services' stubs: each call is recorded and answered with ``answers[method]``, or
    fails with ``failure`` when set."""

    timeout: float = 5.0
    calls: list[tuple[str, bytes, tuple[tuple[str, str], ...]]] = field(default_factory=list)
    failure: grpc.aio.AioRpcError | None = None
    answers: dict[str, Any] = field(
        default_factory=lambda: {"RouteCall": DECISION, "GetIncomingCallAction": ACTION}
    )

    def registry_stub(self, _stub_type: object) -> FakeUpstreams:
        return self

    def config_stub(self, _stub_type: object) -> FakeUpstreams:
        return self

    def __getattr__(self, method: str) -> Callable[..., Any]:
        async def invoke(message: Any, *, metadata: Any = (), timeout: float = 0) -> Any:
            sent = tuple((k, v) for k, v in metadata if k not in ("x-request-id", "traceparent"))
            self.calls.append((method, message.SerializeToString(), sent))
            if self.failure is not None:
                raise self.failure
            return self.answers[method]

        return invoke

    async def close(self) -> None:
        return None


def failure(code: grpc.StatusCode, details: str) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)


@dataclass
class Answer:
    status: int
    content_type: str | None
    body: Any
    calls: list[tuple[str, bytes, tuple[tuple[str, str], ...]]]


@dataclass
class Pair:
    """The gateway with its hot routes and the reference without them."""

    hot: httpx.AsyncClient
    reference: httpx.AsyncClient
    upstreams: tuple[FakeUpstreams, FakeUpstreams]
    hot_app: FastAPI

    def fail_with(self, error: grpc.aio.AioRpcError | None) -> None:
        for upstream in self.upstreams:
            upstream.failure = error

    async def both(self, method: str, url: str, **kwargs: Any) -> tuple[Answer, Answer]:
        answers = []
        for client, upstream in zip((self.hot, self.reference), self.upstreams, strict=True):
            upstream.calls.clear()
            response = await client.request(method, url, **kwargs)
            try:
                body: Any = response.json()
            except ValueError:
                body = response.text
            answers.append(
                Answer(
                    response.status_code,
                    response.headers.get("content-type"),
                    body,
                    list(upstream.calls),
                )
            )
        return answers[0], answers[1]

    async def same(self, method: str, url: str, **kwargs: Any) -> Answer:
        hot, reference = await self.both(method, url, **kwargs)
        assert hot == reference, f"{method} {url} {kwargs}"
        return hot


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    settings_ = GatewaySettings(config_address="127.0.0.1:1", registry_address="127.0.0.1:1")
    clients, apps = [], []
    upstreams = (FakeUpstreams(), FakeUpstreams())
    for routes, upstream in zip((HOT_ROUTES, ()), upstreams, strict=True):
        app = create_app(settings_, hot_routes=routes)
        app.state.upstreams = upstream
        apps.append(app)
        clients.append(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")
        )
    yield Pair(clients[0], clients[1], upstreams, apps[0])
    for client in clients:
        await client.aclose()


def route_body(**changes: Any) -> bytes:
    """A RouteCall body with ``changes``; a field changed to ``...`` is left out."""
    body: dict[str, Any] = {
        "inbound_number": "+14155550100",
        "caller_number": "+14155550199",
        "service": "exotel",
    }
    body.update(changes)
    return json.dumps({k: v for k, v in body.items() if v is not ...}).encode()


WELL_FORMED_ROUTE_BODIES = [
    route_body(),
    route_body(call_id="call-7"),
    route_body(call_id=None),
    route_body(extra="ignored"),
    route_body(inbound_number=" 0415 555 0100 "),
]
MALFORMED_ROUTE_BODIES = [
    b"",
    b"{not json",
    b"[]",
    b'"text"',
    b"null",
    b'{"inbound_number": NaN}',
    route_body(inbound_number=...),
    route_body(inbound_number=14155550100),
    route_body(caller_number=None),
    route_body(service=["exotel"]),
    route_body(call_id=7),
    b'{"inbound_number": "\\ud800"}',
    b'{"inbound_number": "+1", "inbound_number": 5, "caller_number": "1", "service": "x"}',
    b"\xff\xfe{}",
]


@pytest.mark.parametrize("body", WELL_FORMED_ROUTE_BODIES + MALFORMED_ROUTE_BODIES)
async def test_route_bodies_answer_alike(pair: Pair, body: bytes) -> None:
    await pair.same("POST", ROUTE, content=body, headers={**EDGE, **JSON_TYPE})


async def test_well_formed_route_reaches_the_registry(pair: Pair) -> None:
    answer = await pair.same("POST", ROUTE, content=route_body(), headers={**EDGE, **JSON_TYPE})
    assert answer.status == 200
    assert answer.body["decision"] == "accept"
    assert [name for name, _, _ in answer.calls] == ["RouteCall"]


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "application/vnd.switchboard+json",
        "application/x-www-form-urlencoded",
    ],
)
async def test_route_content_types_answer_alike(pair: Pair, content_type: str | None) -> None:
    headers = {**EDGE, **({"Content-Type": content_type} if content_type else {})}
    await pair.same("POST", ROUTE, content=route_body(), headers=headers)


@pytest.mark.parametrize(
    "credential",
    [
        {},
        {"X-API-Key": "sk_" + "k" * 40},
        {"Authorization": "Bearer sk_" + "k" * 40},
        {"X-Switchboard-Edge-Token": "sbedge_" + "e" * 32},
        {"X-API-Key": "key with \x7f control"},
        {"X-API-Key": "k" * 5000},
        {"Authorization": ""},
    ],
)
async def test_route_credentials_answer_alike(pair: Pair, credential: dict[str, str]) -> None:
    await pair.same("POST", ROUTE, content=route_body(), headers={**credential, **JSON_TYPE})


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.INTERNAL,
    ],
)
async def test_upstream_failures_answer_alike(pair: Pair, code: grpc.StatusCode) -> None:
    pair.fail_with(failure(code, "upstream says no"))
    route = await pair.same("POST", ROUTE, content=route_body(), headers={**EDGE, **JSON_TYPE})
    action = await pair.same("GET", f"{CALL_ACTION}?agent_identity_id={IDENTITY}", headers=EDGE)
    exotel = await pair.same("GET", EXOTEL.format(token="s3cret") + "?CallTo=1&CallFrom=2")
    assert route.status >= 400 and action.status >= 400 and exotel.status >= 400
    assert route.calls and action.calls and exotel.calls


async def test_oversized_and_odd_requests_answer_alike(pair: Pair) -> None:
    await pair.same("POST", ROUTE, content=b" " * 2_000_000, headers={**EDGE, **JSON_TYPE})
    await pair.same("POST", f"{ROUTE}?verbose=1", content=route_body(), headers=EDGE)
    await pair.same("PUT", ROUTE, content=route_body(), headers={**EDGE, **JSON_TYPE})
    await pair.same("POST", f"{ROUTE}/", content=route_body(), headers={**EDGE, **JSON_TYPE})


@pytest.mark.parametrize(
    "query",
    [
        "",
        f"agent_identity_id={IDENTITY}",
        f"agent_identity_id={IDENTITY.upper()}",
        f"agent_identity_id={IDENTITY.replace('-', '')}",
        f"agent_identity_id=%7B{IDENTITY}%7D",
        f"agent_identity_id=urn:uuid:{IDENTITY}",
        "agent_identity_id=not-a-uuid",
        "agent_identity_id=",
        f"agent_identity_id={IDENTITY}&agent_identity_id={uuid.UUID(int=9)}",
        f"agent_identity_id={IDENTITY}&page=2",
        f"agent_identity_id={IDENTITY}&",
        "agent_identity_id",
        "%ff=%fe",
    ],
)
async def test_call_action_queries_answer_alike(pair: Pair, query: str) -> None:
    await pair.same("GET", f"{CALL_ACTION}?{query}" if query else CALL_ACTION, headers=EDGE)
    await pair.same("GET", f"{CALL_ACTION}?{query}" if query else CALL_ACTION)


EXOTEL = "/exotel/{token}/stream"
REJECTED = registry_pb2.RouteCallResponse(
    call_id="call-2",
    decision=registry_pb2.ROUTING_DECISION_REJECT,
    reject_reason=registry_pb2.REJECT_REASON_NO_ACTIVE_MAPPING,
    edge_outcome=registry_pb2.EDGE_OUTCOME_TEMPORARILY_UNAVAILABLE,
    decision_id="decision-2",
    sip_status=480,
)
FORWARDED = registry_pb2.RouteCallResponse(
    call_id="call-3",
    decision=registry_pb2.ROUTING_DECISION_FORWARD,
    edge_outcome=registry_pb2.EDGE_OUTCOME_FORWARD,
    forwarding_phone_number="+14155550111",
    decision_id="decision-3",
)


@pytest.mark.parametrize(
    "decision", [DECISION, REJECTED, FORWARDED], ids=["accept", "reject", "forward"]
)
@pytest.mark.parametrize(
    ("token", "query"),
    [
        ("sbedge_" + "e" * 32, "CallTo=04155550100&CallFrom=09999999999&CallSid=abc"),
        ("sbedge_" + "e" * 32, "CallTo=04155550100&CallFrom=09999999999"),
        ("sbedge_" + "e" * 32, "CallTo=04155550100"),
        ("sbedge_" + "e" * 32, "CallTo=&CallFrom=1"),
        ("sbedge_" + "e" * 32, "CallTo=1&CallFrom=2&CallSid=a&CallSid=b"),
        ("sbedge_" + "e" * 32, "CallTo=1&CallFrom=2&Direction=incoming"),
        ("sbedge_" + "e" * 32, f"CallTo={'1' * 65}&CallFrom=2"),
        ("sbedge_" + "e" * 32, "call_to=1&call_from=2"),
        ("to%20ken%C3%A9", "CallTo=1&CallFrom=2"),
        ("t" * 5000, "CallTo=1&CallFrom=2"),
    ],
)
async def test_exotel_requests_answer_alike(
    pair: Pair, decision: registry_pb2.RouteCallResponse, token: str, query: str
) -> None:
    for upstream in pair.upstreams:
        upstream.answers["RouteCall"] = decision
    await pair.same("GET", f"{EXOTEL.format(token=token)}?{query}")


async def test_exotel_paths_that_are_not_the_route_answer_alike(pair: Pair) -> None:
    for path in ("/exotel//stream", "/exotel/a/b/stream", "/exotel/a/stream/", "/exotel/a"):
        await pair.same("GET", f"{path}?CallTo=1&CallFrom=2")
    await pair.same("POST", "/exotel/a/stream?CallTo=1&CallFrom=2")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=5,
)
ROUTE_FIELDS = ("inbound_number", "caller_number", "service", "call_id", "other")


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    fields=st.dictionaries(
        st.sampled_from(ROUTE_FIELDS),
        st.text(max_size=20) | JSON_VALUES,
        max_size=len(ROUTE_FIELDS),
    ),
    content_type=st.sampled_from(["application/json", "text/plain", "application/json; x=1"]),
)
async def test_any_route_body_answers_alike(
    pair: Pair, fields: dict[str, Any], content_type: str
) -> None:
    await pair.same(
        "POST",
        ROUTE,
        content=json.dumps(fields).encode(),
        headers={**EDGE, "Content-Type": content_type},
    )


def requests_labelled(route: str, method: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "switchboard_http_requests_total", {"route": route, "method": method, "status": status}
    )
    return value or 0.0


async def test_well_formed_requests_skip_fastapis_router(pair: Pair) -> None:
    app = pair.hot_app
    routed: list[str] = []
    router_stack = app.router.middleware_stack

    async def spy(scope: Any, receive: Any, send: Any) -> None:
        routed.append(scope["path"])
        await router_stack(scope, receive, send)

    app.router.middleware_stack = spy
    before = requests_labelled(ROUTE, "POST", "200")
    answered = await pair.hot.post(ROUTE, content=route_body(), headers={**EDGE, **JSON_TYPE})
    action = await pair.hot.get(f"{CALL_ACTION}?agent_identity_id={IDENTITY}", headers=EDGE)
    assert (answered.status_code, action.status_code) == (200, 200)
    exotel = await pair.hot.get(EXOTEL.format(token="s3cret") + "?CallTo=1&CallFrom=2")
    assert exotel.status_code == 200
    assert routed == []
    assert requests_labelled(ROUTE, "POST", "200") == before + 1
    assert requests_labelled(EXOTEL.replace("{token}", "{edge_token}"), "GET", "200") >= 1
    assert answered.headers["x-request-id"]
    malformed = await pair.hot.post(ROUTE, content=b"{", headers={**EDGE, **JSON_TYPE})
    assert malformed.status_code == 422
    assert routed == [ROUTE]


def test_each_hot_route_is_a_documented_route_of_its_endpoint() -> None:
    document = create_app().openapi()
    for route in HOT_ROUTES:
        operation = document["paths"][route.path][route.method.lower()]
        assert operation["operationId"].startswith(route.endpoint.__name__)


async def test_an_endpoint_the_hot_path_cannot_validate_is_refused() -> None:
    async def by_header(request: Request, x_trace: str) -> Response:
        return Response()

    async def returns_data(request: Request) -> dict[str, str]:
        return {}

    async def without_the_path_parameter(request: Request) -> Response:
        return Response()

    with pytest.raises(TypeError, match="x_trace"):
        hot_route("GET", "/x", InkboxRoute, by_header)
    with pytest.raises(TypeError, match="return a Response"):
        hot_route("GET", "/x", InkboxRoute, returns_data)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="each parameter"):
        hot_route("GET", "/x/{name}", InkboxRoute, without_the_path_parameter)
