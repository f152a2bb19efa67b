"""Inkbox-dialect routes (``/api/v1/...``): incoming-call actions, identities, API keys."""

from fastapi import APIRouter

from gateway.dialects import InkboxRoute
from gateway.inkbox import api_keys, call_actions, identities, signing_secrets

router = APIRouter(prefix="/api/v1", route_class=InkboxRoute)
for _module in (call_actions, identities, api_keys, signing_secrets):
    router.include_router(_module.router)
