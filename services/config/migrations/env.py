"""Alembic environment of the config service."""

from services.common.storage.alembic_env import run_migrations
from services.config.models import Base

run_migrations(Base.metadata)
