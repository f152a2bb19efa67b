"""The suite's list of proto modules (tests/support/proto_modules.py) misses no .proto file."""

from __future__ import annotations

from tests.support import proto_modules


def test_every_service_proto_file_is_listed() -> None:
    listed = {module.DESCRIPTOR.name for module in proto_modules.ALL}
    assert listed == proto_modules.proto_files()
