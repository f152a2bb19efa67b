"""The ConfigInternalService workload: driven over gRPC and timed in-process (no timed asserts)."""

from __future__ import annotations

import math
from pathlib import Path

from switchboard.config.v1 import config_pb2, config_pb2_grpc

from bench import internal_rpcs, loader, service_time
from tests.support.stack import INTERNAL_TOKEN, Stack


async def seeded(database_url: str, token: str = "") -> internal_rpcs.Fixture:
    account = await loader.seed_config(database_url, identities=60)
    return internal_rpcs.Fixture(account.account_id, account.api_key, account.identity_ids, token)


def test_fixture_round_trips_through_its_file(tmp_path: Path) -> None:
    fixture = internal_rpcs.Fixture("a", "sk_x", ("i1", "i2"), "token")
    fixture.save(tmp_path / "f.json")
    assert internal_rpcs.Fixture.load(tmp_path / "f.json") == fixture
    assert fixture.metadata() == (("x-switchboard-internal-token", "token"),)


def test_requests_and_answer_checks() -> None:
    fixture = internal_rpcs.Fixture("a", "sk_x", tuple(f"id{i}" for i in range(80)), "")
    batch = internal_rpcs.requests(fixture, "BatchGetAgentIdentities", 3, seed=1)
    assert [len(set(request.ids)) for request in batch] == [50, 50, 50]
    resolve = internal_rpcs.requests(fixture, "ResolveCallTarget", 2, seed=1)[0]
    answer = config_pb2.CallTarget(
        agent_identity=config_pb2.AgentIdentity(id=resolve.agent_identity_id)
    )
    assert internal_rpcs.check("ResolveCallTarget", resolve, answer) is not None  # no action
    answer.incoming_call_action.agent_identity_id = resolve.agent_identity_id
    assert internal_rpcs.check("ResolveCallTarget", resolve, answer) is None
    short = config_pb2.BatchGetAgentIdentitiesResponse()
    assert internal_rpcs.check("BatchGetAgentIdentities", batch[0], short) is not None
    scoped = config_pb2.Principal(scope=config_pb2.PRINCIPAL_SCOPE_IDENTITY)
    assert internal_rpcs.check("Authenticate", None, scoped) is not None


async def test_each_internal_rpc_request_gets_an_answer_its_check_accepts(stack: Stack) -> None:
    """What the bench's preflight does before h2load repeats one request of each RPC."""
    fixture = await seeded(stack.database_urls["config"], token=INTERNAL_TOKEN)
    stub = config_pb2_grpc.ConfigInternalServiceStub(stack.config_channel)
    for rpc in internal_rpcs.RPCS:
        for request in internal_rpcs.requests(fixture, rpc, 3, seed=1):
            response = await getattr(stub, rpc)(request, metadata=fixture.metadata(), timeout=10)
            assert internal_rpcs.check(rpc, request, response) is None, rpc


async def test_service_time_times_every_handler(bench_databases: dict[str, str]) -> None:
    fixture = await seeded(bench_databases["config"], token="internal")
    measured = await service_time.measure(bench_databases["config"], fixture, calls=20)
    assert set(measured) == set(internal_rpcs.RPCS)
    for spent in measured.values():
        assert spent.calls == 20
        assert 0 < spent.p50_us <= spent.p99_us <= spent.max_us
        assert not math.isnan(spent.mean_us)
