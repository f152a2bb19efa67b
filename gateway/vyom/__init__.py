"""Vyom-dialect routes: inbound number mappings and inbound context strategies."""

from fastapi import APIRouter

from gateway.dialects import VyomRoute

router = APIRouter(route_class=VyomRoute)
