"""Databases of both services: engines, ORM types, migrations, fast point reads, pagination,
idempotency."""
