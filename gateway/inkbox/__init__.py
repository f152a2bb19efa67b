"""Inkbox-dialect routes (``/api/v1/...``): incoming-call actions, identities, API keys."""

from fastapi import APIRouter

from gateway.dialects import InkboxRoute

router = APIRouter(prefix="/api/v1", route_class=InkboxRoute)
