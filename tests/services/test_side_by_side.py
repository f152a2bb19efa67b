"""Two instances on one machine, differing only in ports and data dir, never see each other."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from services.common.process.local_secrets import INTERNAL_TOKEN_FILE
from services.common.settings import metrics_port_for
from tests.support.processes import run_cli
from tests.support.serve_all import ServeAll, serve_all


async def _account(instance: ServeAll) -> str:
    status, stdout, stderr = await run_cli(
        "accounts", "create", "--name", "Side", "--json", env=instance.env
    )
    assert status == 0, stderr
    assert f"{instance.env['SWITCHBOARD_DATA_DIR']}/config.db" in stderr
    api_key: str = json.loads(stdout)["api_key"]
    return api_key


async def test_two_instances_side_by_side_keep_their_own_data(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with serve_all(tmp_path / "a") as first, serve_all(tmp_path / "b") as second:
        assert all(await asyncio.gather(first.ready(), second.ready()))
        for instance in (first, second):
            data_dir = instance.env["SWITCHBOARD_DATA_DIR"]
            assert f"db {data_dir}/config.db" in instance.stdout()
            assert f"db {data_dir}/registry.db" in instance.stdout()
        first_key, second_key = await _account(first), await _account(second)

        async with (
            httpx.AsyncClient(base_url=first.gateway_url, timeout=30) as a,
            httpx.AsyncClient(base_url=second.gateway_url, timeout=30) as b,
        ):
            created = await a.post(
                "/api/v1/identities/",
                headers={"X-API-Key": first_key},
                json={"agent_handle": "only-in-a"},
            )
            assert created.status_code == 201, created.text
            assigned = await a.post(
                "/inbound/assign",
                headers={"Authorization": f"Bearer {first_key}"},
                json={
                    "assistant_id": created.json()["id"],
                    "service": "exotel",
                    "inbound_config": {"phone_number": "+918044319240"},
                },
            )
            assert assigned.status_code == 200, assigned.text

            # The first instance's key means nothing to the second, through its gateway
            # (which dials the second config) and its registry (which dials it too).
            assert (
                await b.get("/api/v1/identities/", headers={"X-API-Key": first_key})
            ).status_code == 401
            assert (
                await b.get("/inbound/list", headers={"Authorization": f"Bearer {first_key}"})
            ).status_code == 401
            listed = await b.get("/api/v1/identities/", headers={"X-API-Key": second_key})
            assert listed.status_code == 200
            assert "only-in-a" not in listed.text
            numbers = await b.get(
                "/inbound/list", headers={"Authorization": f"Bearer {second_key}"}
            )
            assert numbers.status_code == 200
            assert numbers.json()["data"] == []
            # The same number is free to assign in the second instance.
            own = await b.post(
                "/api/v1/identities/",
                headers={"X-API-Key": second_key},
                json={"agent_handle": "only-in-b"},
            )
            again = await b.post(
                "/inbound/assign",
                headers={"Authorization": f"Bearer {second_key}"},
                json={
                    "assistant_id": own.json()["id"],
                    "service": "exotel",
                    "inbound_config": {"phone_number": "+918044319240"},
                },
            )
            assert again.status_code == 200, again.text
            mine = await a.get("/inbound/list", headers={"Authorization": f"Bearer {first_key}"})
            [item] = mine.json()["data"]
            assert item["assistant_id"] == created.json()["id"]

        # Each instance's metrics ports follow its own service ports and answer its own token.
        for instance, other in ((first, second), (second, first)):
            for service in ("config", "registry"):
                port = metrics_port_for(instance.ports[service])
                url = f"http://127.0.0.1:{port}/metrics"
                async with httpx.AsyncClient(timeout=10) as http:
                    own = await http.get(url, headers=_bearer(_internal_token(instance)))
                    foreign = await http.get(url, headers=_bearer(_internal_token(other)))
                assert own.status_code == 200, (service, own.text)
                assert foreign.status_code == 401


def _internal_token(instance: ServeAll) -> str:
    return (Path(instance.env["SWITCHBOARD_DATA_DIR"]) / INTERNAL_TOKEN_FILE).read_text().strip()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
