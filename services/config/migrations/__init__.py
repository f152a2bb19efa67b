"""Alembic migrations of the config service."""
