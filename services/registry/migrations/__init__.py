"""Alembic migrations of the registry service."""
