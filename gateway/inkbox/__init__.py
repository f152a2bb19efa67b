"""Inkbox-dialect routes (``/api/v1/...``): incoming-call actions, identities, API keys."""

from fastapi import APIRouter, Security

from gateway.dialects import InkboxRoute
from gateway.inkbox import api_keys, call_actions, identities, signing_secrets
from gateway.inkbox.common import API_KEY_SCHEME

router = APIRouter(
    prefix="/api/v1", route_class=InkboxRoute, dependencies=[Security(API_KEY_SCHEME)]
)
for _module in (call_actions, identities, api_keys, signing_secrets):
    router.include_router(_module.router)
