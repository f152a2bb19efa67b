"""Alembic environment of the registry service."""

from services.common.storage.alembic_env import run_migrations
from services.registry.models import Base

run_migrations(Base.metadata)
