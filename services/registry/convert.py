"""Registry domain values to and from their protobuf messages."""

from __future__ import annotations

from collections.abc import Iterable

from switchboard.registry.v1 import registry_pb2

from services.common.errors import FieldViolation, InvalidArgument
from services.common.proto_time import to_timestamp
from services.registry.models import InboundContextStrategy
from services.registry.numbers import MappingView
from services.registry.strategy_config import StrategyPatch, WebhookConfig, WebhookConfigPatch

STRATEGY_FIELDS = ("strategy_name", "strategy_type", "strategy_config")
_LINKS = frozenset(registry_pb2.InboundNumberLinks.DESCRIPTOR.fields_by_name)


def mapping_to_proto(view: MappingView) -> registry_pb2.InboundNumber:
    """The InboundNumber message of a mapping (unset optionals stay absent = null)."""
    mapping = view.mapping
    config = mapping.inbound_config
    message = registry_pb2.InboundNumber(
        inbound_id=mapping.id,
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
    optionals = {
        "assistant_id": mapping.assistant_id,
        "assistant_name": view.assistant_name,
        "inbound_context_strategy_id": mapping.inbound_context_strategy_id,
        "inbound_context_strategy_name": view.strategy_name,
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
        strategy_id=strategy.id,
        strategy_name=strategy.name,
        strategy_type=strategy.strategy_type,
        strategy_config=registry_pb2.StrategyConfig(
            url=shown["url"],
            headers=shown["headers"],
            timeout_seconds=config.timeout_seconds,
        ),
        create_time=to_timestamp(strategy.created_at),
        update_time=to_timestamp(strategy.updated_at),
    )


def mask_paths(paths: Iterable[str]) -> list[str]:
    """The paths of a FieldMask, duplicates removed; empty paths are INVALID_ARGUMENT."""
    unique = list(dict.fromkeys(paths))
    if any(not path for path in unique):
        raise InvalidArgument.for_field("update_mask", "update_mask paths must not be empty")
    return unique


def link_changes(request: registry_pb2.UpdateInboundNumberRequest) -> dict[str, str | None]:
    """Mapping link -> new value (None = detach) for each path of the update mask."""
    links = request.inbound_number
    return {
        path: getattr(links, path) if path in _LINKS and links.HasField(path) else None
        for path in mask_paths(request.update_mask.paths)
    }


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
        timeout_seconds=patch.timeout_seconds if patch.HasField("timeout_seconds") else None,
        headers=headers,
    )
