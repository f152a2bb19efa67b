"""Routing fixtures: a local HTTPS receiver and a registry + gateway that trust it."""

from tests.support.routing_stack import receiver, routing

__all__ = ["receiver", "routing"]
