"""CLI actions that open a service's database directly, with the service's own settings."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.errors import FailedPrecondition
from services.common.storage.db import (
    create_engine,
    create_session_factory,
    describe_database,
    is_sqlite,
)
from services.common.storage.migrations import upgrade_to_head
from services.config import models as config_models
from services.config import provisioning
from services.config.models import ApiKey
from services.config.settings import ConfigSettings
from services.registry import models as registry_models
from services.registry.settings import RegistrySettings

_RETRY_INTERVAL_SECONDS = 1.0
MIGRATIONS = {"config": config_models.MIGRATIONS_DIR, "registry": registry_models.MIGRATIONS_DIR}
_URL_SETTING = {
    "config": "SWITCHBOARD_CONFIG_DATABASE_URL",
    "registry": "SWITCHBOARD_REGISTRY_DATABASE_URL",
}


@dataclass(frozen=True)
class Written:
    """What a command did, and to which database (as :func:`describe_database` names it)."""

    database: str


@dataclass(frozen=True)
class AccountWritten(Written):
    """An account created in ``database``."""

    created: provisioning.CreatedAccount


@dataclass(frozen=True)
class KeyMinted(Written):
    """An admin key minted in ``database``."""

    created: provisioning.CreatedKey


@dataclass(frozen=True)
class KeyRevoked(Written):
    """A key revoked in ``database``."""

    key: ApiKey


def database_url(service: str) -> str:
    """The database URL ``service`` would use with the current environment."""
    if service == "config":
        return ConfigSettings().database_url
    return RegistrySettings().database_url


async def migrate(service: str, retry_for: float = 0.0) -> str:
    """Apply ``service``'s migrations (creating the database); returns what was migrated.

    While the database cannot be reached or opened (a server still starting, a database
    its init script has not created yet), tries again every second for ``retry_for`` seconds.
    """
    url = database_url(service)
    deadline = time.monotonic() + retry_for
    while True:
        engine = create_engine(url)
        try:
            await upgrade_to_head(engine, MIGRATIONS[service])
            break
        except (OSError, DBAPIError) as error:
            if time.monotonic() >= deadline:
                raise
            reason = type(error).__name__
            print(f"{service}: database not ready ({reason}); retrying", file=sys.stderr)
            await asyncio.sleep(_RETRY_INTERVAL_SECONDS)
        finally:
            await engine.dispose()
    return describe_database(url)


async def create_account(name: str, *, create: bool = False) -> AccountWritten:
    """Create an account and its first admin key in the config database.

    The database must already exist (a running or once-started instance's) unless
    ``create``; it is migrated to the newest revision either way.
    """
    url = database_url("config")
    engine = await _open("config", url, create=create)
    try:
        await upgrade_to_head(engine, MIGRATIONS["config"])
        created = await provisioning.create_account(create_session_factory(engine), name)
    finally:
        await engine.dispose()
    return AccountWritten(describe_database(url), created)


async def create_admin_key(account_id: str, label: str) -> KeyMinted:
    """Mint an admin key for an account in the existing config database."""
    url = database_url("config")
    engine = await _open("config", url, create=False, hint=False)
    try:
        await upgrade_to_head(engine, MIGRATIONS["config"])
        key = await provisioning.create_admin_key(create_session_factory(engine), account_id, label)
    finally:
        await engine.dispose()
    return KeyMinted(describe_database(url), key)


async def revoke_key(key_id: str) -> KeyRevoked:
    """Revoke a key by id in the existing config database."""
    url = database_url("config")
    engine = await _open("config", url, create=False, hint=False)
    try:
        key = await provisioning.revoke_key(create_session_factory(engine), key_id)
    finally:
        await engine.dispose()
    return KeyRevoked(describe_database(url), key)


async def _open(service: str, url: str, *, create: bool, hint: bool = True) -> AsyncEngine:
    """An engine on ``url``; unless ``create``, refuses a database that does not exist yet.

    ``hint``: whether the refusal suggests ``--create`` (the command has that option).
    """
    if not create and _sqlite_file_missing(url):
        # Checked before connecting: opening a SQLite file creates it.
        raise _missing(service, url, create_hint=hint)
    engine = create_engine(url)
    if create:
        return engine
    try:
        async with engine.connect() as connection:
            migrated = await connection.run_sync(_has_schema)
    except BaseException:
        await engine.dispose()
        raise
    if not migrated:
        await engine.dispose()
        raise _missing(service, url, create_hint=hint)
    return engine


def _sqlite_file_missing(url: str) -> bool:
    database = make_url(url).database if is_sqlite(url) else None
    return bool(database) and database != ":memory:" and not Path(str(database)).is_file()


def _has_schema(connection: Connection) -> bool:
    return inspect(connection).has_table("alembic_version")


def _missing(service: str, url: str, *, create_hint: bool) -> FailedPrecondition:
    fix = f"point SWITCHBOARD_DATA_DIR (or {_URL_SETTING[service]}) at the running instance's"
    if create_hint:
        fix += ", or pass --create to create a new one there"
    return FailedPrecondition(f"no {service} database at {describe_database(url)}; {fix}")
