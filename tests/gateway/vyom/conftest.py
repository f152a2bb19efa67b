"""Fixtures of the Vyom route tests: the registry tests' tenants with an assistant."""

from tests.services.registry.conftest import other_tenant, tenant

__all__ = ["other_tenant", "tenant"]
