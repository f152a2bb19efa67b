"""CLI actions that open a service's database directly, with the service's own settings."""

from __future__ import annotations

from services.common.db import create_engine, create_session_factory
from services.common.migrations import upgrade_to_head
from services.config import models as config_models
from services.config import operator
from services.config.models import ApiKey
from services.config.settings import ConfigSettings
from services.registry import models as registry_models
from services.registry.settings import RegistrySettings

MIGRATIONS = {"config": config_models.MIGRATIONS_DIR, "registry": registry_models.MIGRATIONS_DIR}


def database_url(service: str) -> str:
    """The database URL ``service`` would use with the current environment."""
    if service == "config":
        return ConfigSettings().database_url
    return RegistrySettings().database_url


async def migrate(service: str) -> str:
    """Apply ``service``'s migrations; returns the URL (password hidden)."""
    url = database_url(service)
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine, MIGRATIONS[service])
    finally:
        await engine.dispose()
    return engine.url.render_as_string(hide_password=True)


async def create_account(name: str) -> operator.CreatedAccount:
    """Create an account and its first admin key (migrating first if needed)."""
    url = database_url("config")
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine, MIGRATIONS["config"])
        return await operator.create_account(create_session_factory(engine), name)
    finally:
        await engine.dispose()


async def revoke_key(key_id: str) -> ApiKey:
    """Revoke a key by id."""
    engine = create_engine(database_url("config"))
    try:
        return await operator.revoke_key(create_session_factory(engine), key_id)
    finally:
        await engine.dispose()
