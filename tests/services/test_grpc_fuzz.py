"""Hypothesis-generated requests to every RPC of every service: only documented status codes.

The RPCs are enumerated from the proto descriptors (config and registry), so a new RPC is
fuzzed without touching this file. Each request is built from its message descriptor: random
and huge strings, valid and invalid UUIDs, unknown enum numbers, out-of-range numbers,
nested messages, repeated and map fields; plus raw bytes that may not parse at all. Calls
carry a valid admin key, so they reach the handlers. UNKNOWN and INTERNAL (a handler that
raised) or any code outside :data:`DOCUMENTED` fails the test.

``SWITCHBOARD_FUZZ_EXAMPLES`` sets the examples per RPC (default 10; ``make fuzz`` raises it);
``SWITCHBOARD_FUZZ_SEED=random`` draws new examples instead of the fixed derandomized ones.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.config.provisioning import CreatedAccount
from tests.support import proto_modules
from tests.support.stack import Stack

EXAMPLES = int(os.environ.get("SWITCHBOARD_FUZZ_EXAMPLES", "10"))
DOCUMENTED = frozenset(
    {
        grpc.StatusCode.OK,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
    }
)
"""What a caller may get for bad input (ABORTED: a concurrent write won; retry)."""
SERVICES = {process: proto_modules.services(process) for process in proto_modules.BY_SERVICE}
MAX_DEPTH = 3

_STRINGS = st.one_of(
    st.text(max_size=40),
    st.text(min_size=5000, max_size=70_000, alphabet=st.characters(codec="utf-8")),
    st.uuids().map(str),
    st.sampled_from(["", " ", "not-a-uuid", "00000000-0000-0000-0000-00000000000g", "+1", "@"]),
    st.from_regex(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}X?", fullmatch=True
    ),
)
_INTEGERS = {
    FieldDescriptor.TYPE_INT32: st.integers(-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: st.integers(-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: st.integers(-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: st.integers(0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: st.integers(0, 2**32 - 1),
    FieldDescriptor.TYPE_INT64: st.integers(-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: st.integers(-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: st.integers(-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: st.integers(0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: st.integers(0, 2**64 - 1),
}


def _scalar(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.type == FieldDescriptor.TYPE_STRING:
        return _STRINGS
    if field.type == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=64)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(allow_nan=True, allow_infinity=True, width=32)
    if field.type == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None
        known = [value.number for value in field.enum_type.values]
        return st.one_of(st.sampled_from(known), st.integers(-5, 1000))  # unknown numbers too
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        assert field.message_type is not None
        return messages(field.message_type, depth + 1)
    return _INTEGERS[field.type]


def messages(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
    """Random instances of the message ``descriptor`` (unset fields stay unset)."""
    message_class = GetMessageClass(descriptor)
    if depth > MAX_DEPTH:
        return st.just(message_class())
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key = field.message_type.fields_by_name["key"]
            value = field.message_type.fields_by_name["value"]
            fields[field.name] = st.dictionaries(
                _scalar(key, depth), _scalar(value, depth), max_size=3
            )
        elif field.is_repeated:
            fields[field.name] = st.lists(_scalar(field, depth), max_size=3)
        else:
            fields[field.name] = _scalar(field, depth)

    @st.composite
    def build(draw: Callable[..., Any]) -> Message:
        message = message_class()
        for name in draw(st.sets(st.sampled_from(sorted(fields)))) if fields else ():
            _assign(message, descriptor.fields_by_name[name], draw(fields[name]))
        return message

    return build()


def _assign(message: Message, field: FieldDescriptor, value: Any) -> None:
    target = getattr(message, field.name)
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        for key, item in value.items():
            if isinstance(item, Message):
                target[key].CopyFrom(item)
            else:
                target[key] = item
    elif field.is_repeated:
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            for item in value:
                target.add().CopyFrom(item)
        else:
            target.extend(value)
    elif field.type == FieldDescriptor.TYPE_MESSAGE:
        target.CopyFrom(value)
    else:
        setattr(message, field.name, value)


def _requests(method: MethodDescriptor) -> st.SearchStrategy[bytes]:
    """Serialized requests: generated messages, or bytes that may not be a message at all."""
    return st.one_of(
        messages(method.input_type).map(lambda message: message.SerializeToString()),
        st.binary(max_size=256),
    )


def fuzz_method(
    target: str, method: MethodDescriptor, metadata: tuple[tuple[str, str], ...]
) -> int:
    """Run the examples for one RPC over a blocking channel; how many were sent."""
    sent = 0
    path = f"/{method.containing_service.full_name}/{method.name}"
    with grpc.insecure_channel(target) as channel:
        call = channel.unary_unary(path)

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=os.environ.get("SWITCHBOARD_FUZZ_SEED") != "random",
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(_requests(method))
        def check(payload: bytes) -> None:
            nonlocal sent
            sent += 1
            try:
                call(payload, metadata=metadata, timeout=60)
            except grpc.RpcError as error:
                code = error.code()
                assert code in DOCUMENTED, (path, code, error.details(), payload[:200])
                assert "Traceback" not in (error.details() or ""), (path, error.details())

        check()
    return sent


@pytest.mark.timeout(1800)
async def test_every_rpc_answers_only_documented_codes(
    stack: Stack, account: CreatedAccount
) -> None:
    metadata = (("x-api-key", account.api_key),)
    targets = {"config": stack.config_target, "registry": stack.registry_target}
    total = 0
    methods = 0
    for name, services in SERVICES.items():
        for service in services:
            for method in service.methods:
                if method.client_streaming or method.server_streaming:
                    continue
                methods += 1
                total += await asyncio.to_thread(fuzz_method, targets[name], method, metadata)
    assert methods >= 20
    print(f"gRPC fuzz: {total} requests over {methods} RPCs, only documented codes")
