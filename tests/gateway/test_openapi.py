"""Every gateway route declares its dialect's error responses and the two security schemes."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from gateway.app import create_app
from gateway.dialects import InkboxRoute, VyomRoute
from gateway.openapi import ERROR_MODELS
from tests.support.stack import Stack

PUBLIC_OPERATIONS = {
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/exotel/{edge_token}/stream"),
}
"""Operations without a credential header: probes, and Exotel's token-in-path adapter."""
VYOM_PREFIXES = ("/inbound/", "/inbound_context_strategy/")


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of every operation in ``document``."""
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def error_schema_name(operation: dict[str, Any], status: str) -> str:
    """The component name of the JSON schema declared for ``status``."""
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    ref: str = schema["$ref"]
    return ref.rsplit("/", 1)[-1]


async def test_every_credential_route_declares_both_schemes_and_its_errors(stack: Stack) -> None:
    document = (await stack.http.get("/openapi.json")).json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": schemes["ApiKey"]["description"],
    }
    assert schemes["Bearer"]["scheme"] == "bearer"
    checked = 0
    for method, path, operation in operations(document):
        if (method, path) in PUBLIC_OPERATIONS:
            continue
        checked += 1
        assert operation["security"] == [{"ApiKey": []}, {"Bearer": []}], (method, path)
        dialect: Literal["inkbox", "vyom"] = "vyom" if path.startswith(VYOM_PREFIXES) else "inkbox"
        wanted = {"401", "403", "404", "413", "414", "422", "431", "503", "504"}
        if dialect == "vyom":
            wanted.add("400")
        assert wanted <= set(operation["responses"]), (method, path)
        for status in operation["responses"]:
            if status[0] in "45":
                name = error_schema_name(operation, status)
                assert name == ERROR_MODELS[dialect].__name__, (method, path, status)
    assert checked >= 20


def test_a_new_route_gets_the_declarations_from_its_route_class() -> None:
    router = APIRouter()
    inkbox = APIRouter(route_class=InkboxRoute)
    vyom = APIRouter(route_class=VyomRoute)

    @inkbox.post("/things", responses={409: {"description": "Thing exists"}})
    async def create_thing() -> None:
        """A route that only names its own extra status."""

    @vyom.get("/gadgets")
    async def list_gadgets() -> None:
        """A route that names nothing."""

    router.include_router(inkbox)
    router.include_router(vyom)
    app = FastAPI()
    app.include_router(router)
    document = app.openapi()
    created = document["paths"]["/things"]["post"]
    assert created["responses"]["409"]["description"] == "Thing exists"
    assert error_schema_name(created, "409") == "InkboxError"
    assert error_schema_name(created, "401") == "InkboxError"
    assert created["security"] == [{"ApiKey": []}, {"Bearer": []}]
    listed = document["paths"]["/gadgets"]["get"]
    assert error_schema_name(listed, "400") == "VyomError"
    assert listed["security"] == [{"ApiKey": []}, {"Bearer": []}]
    for route in (*inkbox.routes, *vyom.routes):
        # Declared for the document only: nothing of it runs on a request.
        assert isinstance(route, APIRoute) and not route.dependant.dependencies, route


def test_the_schema_is_built_without_a_running_stack() -> None:
    document = create_app().openapi()
    assert {"InkboxError", "VyomError"} <= set(document["components"]["schemas"])
