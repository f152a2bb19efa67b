"""Every ``google.api.http`` annotation of the protos names a route the gateway serves."""

from __future__ import annotations

import re

# mypy resolves google.api to the vendored .proto directory (mypy_path = protos), not to the
# installed googleapis-common-protos modules.
from google.api import annotations_pb2, http_pb2  # type: ignore[attr-defined]
from google.protobuf.descriptor import FileDescriptor
from switchboard.config.v1 import config_pb2
from switchboard.registry.v1 import journal_pb2, registry_pb2

from gateway.app import create_app

ANNOTATED_FILES: tuple[FileDescriptor, ...] = (
    config_pb2.DESCRIPTOR,
    registry_pb2.DESCRIPTOR,
    journal_pb2.DESCRIPTOR,
)
_VARIABLE = re.compile(r"\{[^}]*\}")


def route_shape(path: str) -> str:
    """``path`` with its variables anonymized: the annotation binds request fields, the gateway
    names path parameters in the dialect's words, and both name the same URL."""
    return _VARIABLE.sub("{}", path)


def annotated_routes() -> dict[str, tuple[str, str]]:
    """``Service/Method`` (one entry per binding) -> (HTTP method, path) of every annotation."""
    routes: dict[str, tuple[str, str]] = {}
    for file in ANNOTATED_FILES:
        for service in file.services_by_name.values():
            for method in service.methods:
                options = method.GetOptions()
                if not options.HasExtension(annotations_pb2.http):
                    continue
                rule: http_pb2.HttpRule = options.Extensions[annotations_pb2.http]
                for index, binding in enumerate((rule, *rule.additional_bindings)):
                    verb = binding.WhichOneof("pattern")
                    assert verb is not None and verb != "custom", method.full_name
                    routes[f"{service.name}/{method.name}#{index}"] = (verb, getattr(binding, verb))
    return routes


def test_every_annotation_is_a_route_the_gateway_serves() -> None:
    document = create_app().openapi()
    served = {
        (verb, route_shape(path)) for path, item in document["paths"].items() for verb in item
    }
    annotated = annotated_routes()
    assert len(annotated) >= 30  # every public RPC of the three files is annotated
    missing = {
        name: route
        for name, route in annotated.items()
        if (route[0], route_shape(route[1])) not in served
    }
    assert missing == {}


def test_route_shapes_ignore_only_variable_names() -> None:
    assert route_shape("/api/v1/phone/numbers/{inbound_id}/contact-rules/{contact_rule_id}") == (
        "/api/v1/phone/numbers/{}/contact-rules/{}"
    )
    assert route_shape("/v1/calls:route") == "/v1/calls:route"
