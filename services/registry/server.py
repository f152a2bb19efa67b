"""Assembly and lifecycle of the registry service process."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from switchboard.registry.v1 import (
    carrier_pb2,
    carrier_pb2_grpc,
    journal_pb2,
    journal_pb2_grpc,
    registry_pb2,
    registry_pb2_grpc,
)

from services.common.observability import logs
from services.common.process.local_secrets import (
    host_of,
    internal_token,
    require_token_off_loopback,
)
from services.common.process.service_process import start_service
from services.common.rpc.server import GrpcServer, serve_until_signalled
from services.common.storage.db import (
    create_engine,
    create_read_only_session_factory,
    create_session_factory,
)
from services.common.storage.point_reads import PointReader
from services.registry.capacity_leases import CapacityLeases
from services.registry.carrier_servicer import CarrierOutcomeServicer
from services.registry.carrier_settings import CarrierSettings
from services.registry.config_changes import ChangeWatcher
from services.registry.config_client import ConfigClient
from services.registry.contact_rules import ContactRules
from services.registry.contact_rules_servicer import ContactRuleServicer
from services.registry.journal import DecisionJournal, journal_rows
from services.registry.journal_read import DecisionJournalReader
from services.registry.journal_servicer import CallDecisionServicer
from services.registry.models import MIGRATIONS_DIR
from services.registry.numbers import InboundNumbers
from services.registry.routing.call_targets import CallTargetCache
from services.registry.routing.capacity_stage import CapacityStage
from services.registry.routing.circuit_breaker import BreakerSettings, CircuitBreakers
from services.registry.routing.decision import Router
from services.registry.routing.edge_auth import EdgeAuthenticator
from services.registry.routing.hedging import LatencyTracker
from services.registry.routing.mapping_lookup import MappingLookup
from services.registry.routing.outbound_http import OutboundHttp
from services.registry.routing.outcome import RejectReason
from services.registry.routing.webhook_endpoints import WebhookEndpoints
from services.registry.routing_servicer import CallRoutingServicer
from services.registry.servicer import InboundContextStrategyServicer, InboundNumberServicer
from services.registry.settings import RegistrySettings
from services.registry.strategies import InboundContextStrategies

SERVICE_NAMES = (
    *(
        registry_pb2.DESCRIPTOR.services_by_name[name].full_name
        for name in (
            "InboundNumberService",
            "InboundContextStrategyService",
            "CallRoutingService",
            "ContactRuleService",
        )
    ),
    journal_pb2.DESCRIPTOR.services_by_name["CallDecisionService"].full_name,
    carrier_pb2.DESCRIPTOR.services_by_name["CarrierOutcomeService"].full_name,
)


async def start(
    settings: RegistrySettings, *, clock: Callable[[], datetime] | None = None
) -> GrpcServer:
    """Start serving; health turns SERVING once migrations are applied.

    ``clock`` is routing's idea of now (business hours); tests inject one.
    """
    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    readers = create_read_only_session_factory(engine)
    config = ConfigClient.connect(settings)
    edge_auth = EdgeAuthenticator(settings.edge_token, config)
    numbers = InboundNumberServicer(InboundNumbers(sessions, readers, config), sessions, config)
    strategies = InboundContextStrategyServicer(
        InboundContextStrategies(sessions, readers, allow_private_urls=settings.allow_private_urls),
        sessions,
        config,
    )
    rules = ContactRuleServicer(ContactRules(sessions, readers), sessions, config)
    carrier = CarrierSettings(
        sessions,
        readers,
        reasons=[reason.value for reason in RejectReason],
        cache_seconds=settings.call_target_cache_ttl_seconds,
    )
    carrier_outcomes = CarrierOutcomeServicer(config, carrier)
    http = OutboundHttp(
        allow_private=settings.allow_private_urls,
        max_response_bytes=settings.outbound_max_response_bytes,
        max_connections=settings.outbound_max_connections,
        ca_file=settings.outbound_ca_file,
    )
    point_reads = PointReader(engine, readers)
    mappings = MappingLookup(point_reads)
    call_targets = CallTargetCache(
        config,
        settings.call_target_cache_ttl_seconds,
        settings.call_target_cache_pushed_ttl_seconds,
    )
    journal = DecisionJournal(
        journal_rows(engine, sessions),
        sessions,
        enabled=settings.journal_enabled,
        queue_size=settings.journal_queue_size,
        batch_size=settings.journal_batch_size,
        retention_days=settings.journal_retention_days,
        max_rows=settings.journal_max_rows,
        prune_interval_seconds=settings.journal_prune_interval_seconds,
        flush_interval_seconds=settings.journal_flush_interval_seconds,
    )
    journal.start()
    breakers = CircuitBreakers(
        BreakerSettings(
            failure_threshold=settings.webhook_circuit_failures,
            open_seconds=settings.webhook_circuit_open_seconds,
            max_open_seconds=settings.webhook_circuit_open_seconds * 10,
        )
    )
    capacity = CapacityStage(CapacityLeases(sessions), lease_seconds=settings.call_lease_seconds)
    router = Router(
        mappings,
        call_targets,
        http,
        WebhookEndpoints(http, breakers, LatencyTracker()),
        carrier,
        capacity,
        call_context_ttl_seconds=settings.call_context_ttl_seconds,
        clock=clock,
    )
    routing = CallRoutingServicer(router, edge_auth, journal, settings.replica_id, capacity)
    watcher = ChangeWatcher(config, call_targets)
    watcher.start()
    decisions = CallDecisionServicer(DecisionJournalReader(readers), edge_auth)
    return await start_service(
        settings=settings,
        host=settings.bind_host,
        port=settings.registry_port,
        engine=engine,
        migrations_dir=MIGRATIONS_DIR,
        registrars=[
            lambda s: registry_pb2_grpc.add_InboundNumberServiceServicer_to_server(numbers, s),
            lambda s: registry_pb2_grpc.add_InboundContextStrategyServiceServicer_to_server(
                strategies, s
            ),
            lambda s: registry_pb2_grpc.add_CallRoutingServiceServicer_to_server(routing, s),
            lambda s: registry_pb2_grpc.add_ContactRuleServiceServicer_to_server(rules, s),
            lambda s: journal_pb2_grpc.add_CallDecisionServiceServicer_to_server(decisions, s),
            lambda s: carrier_pb2_grpc.add_CarrierOutcomeServiceServicer_to_server(
                carrier_outcomes, s
            ),
        ],
        service_names=SERVICE_NAMES,
        name="registry",
        metrics_port=settings.registry_metrics_port,
        # The journal writes what it holds before the HTTP client and reads close.
        closers=[watcher.stop, journal.close, http.close, point_reads.close, config.close],
    )


async def serve(settings: RegistrySettings | None = None) -> None:
    """Run the registry service until SIGTERM/SIGINT."""
    settings = settings or RegistrySettings()
    require_token_off_loopback(
        host_of(settings.config_address), settings.internal_token, "the config service is at"
    )
    token = internal_token(settings, settings.internal_token)
    settings = settings.model_copy(update={"internal_token": token})
    logs.configure("registry", settings.log_level, settings.secret_values())
    await serve_until_signalled(
        lambda: start(settings),
        name="registry",
        grace=settings.shutdown_grace_seconds,
        drain=settings.shutdown_drain_seconds,
    )
