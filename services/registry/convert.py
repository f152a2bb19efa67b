"""Registry domain values to and from their protobuf messages."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from google.protobuf.message import Message
from switchboard.registry.v1 import registry_pb2

from services.common.errors import FieldViolation, InvalidArgument
from services.common.rpc.proto_time import from_duration, to_duration, to_timestamp
from services.registry.models import ContactRule, InboundContextStrategy
from services.registry.numbers import MappingView
from services.registry.strategy_config import StrategyPatch, WebhookConfig, WebhookConfigPatch

STRATEGY_FIELDS = ("strategy_name", "strategy_type", "strategy_config")
_LINKS = frozenset(registry_pb2.InboundNumberLinks.DESCRIPTOR.fields_by_name)


def mapping_to_proto(view: MappingView) -> registry_pb2.InboundNumber:
    """The InboundNumber message of a mapping (unset optionals stay absent = null)."""
    mapping = view.mapping
    config = mapping.inbound_config
    message = registry_pb2.InboundNumber(
        id=mapping.id,
        phone_number=mapping.phone_number,
        phone_number_normalized=mapping.phone_number_normalized,
        service=mapping.service,
        inbound_config=registry_pb2.InboundConfig(
            type=str(config.get("type", mapping.service)),
            phone_number=str(config.get("phone_number", mapping.phone_number)),
        ),
        create_time=to_timestamp(mapping.created_at),
        update_time=to_timestamp(mapping.updated_at),
    )
    message.filter_mode = enum_number(message, "filter_mode", mapping.filter_mode)
    optionals = {
        "assistant_id": mapping.assistant_id,
        "assistant_name": view.assistant_name,
        "inbound_context_strategy_id": mapping.inbound_context_strategy_id,
        "inbound_context_strategy_name": view.strategy_name,
        "max_concurrent_calls": mapping.max_concurrent_calls,
    }
    for name, value in optionals.items():
        if value is not None:
            setattr(message, name, value)
    return message


def strategy_to_proto(strategy: InboundContextStrategy) -> registry_pb2.InboundContextStrategy:
    """The InboundContextStrategy message of a row, secret-looking values masked."""
    config = WebhookConfig.from_json(strategy.config)
    shown = config.masked()
    return registry_pb2.InboundContextStrategy(
        id=strategy.id,
        strategy_name=strategy.name,
        strategy_type=strategy.strategy_type,
        strategy_config=registry_pb2.StrategyConfig(
            url=shown["url"],
            headers=shown["headers"],
            timeout=to_duration(config.timeout_seconds),
        ),
        create_time=to_timestamp(strategy.created_at),
        update_time=to_timestamp(strategy.updated_at),
    )


def rule_to_proto(rule: ContactRule) -> registry_pb2.ContactRule:
    """The ContactRule message of a row (``match_target`` in canonical E.164 with ``+``)."""
    message = registry_pb2.ContactRule(
        id=rule.id,
        inbound_id=rule.inbound_id,
        match_target="+" + rule.match_target_normalized,
        create_time=to_timestamp(rule.created_at),
        update_time=to_timestamp(rule.updated_at),
    )
    for name in ("action", "match_type", "direction", "status"):
        setattr(message, name, enum_number(message, name, getattr(rule, name)))
    return message


def _enum_prefix(message: Message, name: str) -> tuple[Any, str]:
    enum = message.DESCRIPTOR.fields_by_name[name].enum_type
    if enum is None:
        raise TypeError(f"{name} is not an enum field")
    return enum, re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"


def enum_value(message: Message, name: str) -> str | None:
    """An enum field as its lower-case name without prefix; None for UNSPECIFIED or unknown."""
    enum, prefix = _enum_prefix(message, name)
    value = enum.values_by_number.get(getattr(message, name))
    if value is None or value.number == 0:
        return None
    text: str = value.name.removeprefix(prefix).lower()
    return text


def enum_number(message: Message, name: str, text: str) -> Any:
    """The number of enum field ``name``'s value named ``text`` (lower-case, no prefix).

    Typed ``Any``: its type is the field's generated enum type, known only to the descriptor.
    """
    enum, prefix = _enum_prefix(message, name)
    number: int = enum.values_by_name[prefix + text.upper()].number
    return number


def mask_paths(paths: Iterable[str]) -> list[str]:
    """The paths of a FieldMask, duplicates removed; empty paths are INVALID_ARGUMENT."""
    unique = list(dict.fromkeys(paths))
    if any(not path for path in unique):
        raise InvalidArgument.for_field("update_mask", "update_mask paths must not be empty")
    return unique


def link_changes(request: registry_pb2.UpdateInboundNumberRequest) -> dict[str, Any]:
    """Mapping link -> new value (None = detach) for each path of the update mask.

    ``filter_mode`` maps to its lower-case name (None when UNSPECIFIED);
    ``max_concurrent_calls`` is an int (None = unlimited), the others are strings.
    """
    links = request.inbound_number
    changes: dict[str, Any] = {}
    for path in mask_paths(request.update_mask.paths):
        if path == "filter_mode":
            changes[path] = enum_value(links, path)
        elif path in _LINKS and links.HasField(path):
            changes[path] = getattr(links, path)
        else:
            changes[path] = None
    return changes


def strategy_patch(request: registry_pb2.UpdateInboundContextStrategyRequest) -> StrategyPatch:
    """The patch an update request applies, per its (possibly empty) update mask."""
    patch = request.strategy
    paths = mask_paths(request.update_mask.paths)
    unknown = [path for path in paths if path not in STRATEGY_FIELDS]
    if unknown:
        raise InvalidArgument.for_field(
            "update_mask", f"cannot update {', '.join(unknown)}: paths must be top-level fields"
        )
    if not paths:
        paths = [name for name in STRATEGY_FIELDS if patch.HasField(name)]
    unset = [path for path in paths if not patch.HasField(path)]
    if unset:
        raise InvalidArgument(
            f"{', '.join(unset)} cannot be null",
            violations=[FieldViolation(path, f"{path} cannot be null") for path in unset],
        )
    return StrategyPatch(
        strategy_name=patch.strategy_name if "strategy_name" in paths else None,
        strategy_type=patch.strategy_type if "strategy_type" in paths else None,
        strategy_config=(
            _config_patch(patch.strategy_config) if "strategy_config" in paths else None
        ),
    )


def _config_patch(patch: registry_pb2.StrategyConfigPatch) -> WebhookConfigPatch:
    headers: dict[str, str | None] = {}
    for name, value in patch.headers.items():
        kind = value.WhichOneof("kind")
        if kind == "string_value":
            headers[name] = value.string_value
        elif kind == "null_value":
            headers[name] = None
        else:
            raise InvalidArgument.for_field(
                f"strategy_config.headers.{name}", "a header value must be a string or null"
            )
    return WebhookConfigPatch(
        url=patch.url if patch.HasField("url") else None,
        timeout_seconds=from_duration(patch.timeout) if patch.HasField("timeout") else None,
        headers=headers,
    )
