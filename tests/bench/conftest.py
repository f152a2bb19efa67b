"""Fresh, migrated databases for the bench loader tests, on each backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.common.storage.db import create_engine
from services.common.storage.migrations import upgrade_to_head
from services.config.models import MIGRATIONS_DIR as CONFIG_MIGRATIONS
from services.registry.models import MIGRATIONS_DIR as REGISTRY_MIGRATIONS
from tests.support.databases import fresh_databases


@pytest.fixture
async def bench_databases(backend: str, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """Empty migrated config and registry databases of their own (not the stack's)."""
    async with fresh_databases(backend, tmp_path) as urls:
        for service, migrations in (
            ("config", CONFIG_MIGRATIONS),
            ("registry", REGISTRY_MIGRATIONS),
        ):
            engine = create_engine(urls[service])
            try:
                await upgrade_to_head(engine, migrations)
            finally:
                await engine.dispose()
        yield urls
