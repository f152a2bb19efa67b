"""Every generated module of the services' public protos, per service: the one list the
suite-wide checks (README coverage, auth matrix, gRPC fuzzing) iterate over."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Final

from google.protobuf.descriptor import ServiceDescriptor
from switchboard.config.v1 import config_pb2
from switchboard.registry.v1 import carrier_pb2, journal_pb2, registry_pb2

PROTOS: Final = Path(__file__).parents[2] / "protos" / "switchboard"

BY_SERVICE: Final[dict[str, tuple[ModuleType, ...]]] = {
    "config": (config_pb2,),
    "registry": (registry_pb2, journal_pb2, carrier_pb2),
}
"""Which process serves each module's services."""

ALL: Final = tuple(module for modules in BY_SERVICE.values() for module in modules)


def services(process: str | None = None) -> list[ServiceDescriptor]:
    """The gRPC services of one process's modules (of every module when None)."""
    modules = ALL if process is None else BY_SERVICE[process]
    return [
        service for module in modules for service in module.DESCRIPTOR.services_by_name.values()
    ]


def proto_files() -> set[str]:
    """The .proto files of the config and registry services, relative to protos/."""
    return {
        str(path.relative_to(PROTOS.parent))
        for name in BY_SERVICE
        for path in (PROTOS / name).rglob("*.proto")
    }
