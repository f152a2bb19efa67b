"""Inkbox-dialect routes (``/api/v1/...`` and ``/api/whoami``): call actions, identities, keys,
business hours, phone numbers and their contact rules, carrier outcomes."""

from fastapi import APIRouter

from gateway.dialects import InkboxRoute
from gateway.inkbox import (
    api_keys,
    business_hours,
    call_actions,
    carrier_outcomes,
    contact_rules,
    identities,
    phone_numbers,
    signing_keys,
    whoami,
)

router = APIRouter(route_class=InkboxRoute)
_v1 = APIRouter(prefix="/api/v1", route_class=InkboxRoute)
for _module in (
    call_actions,
    identities,
    api_keys,
    signing_keys,
    business_hours,
    phone_numbers,
    contact_rules,
    carrier_outcomes,
):
    _v1.include_router(_module.router)
router.include_router(_v1)
router.include_router(whoami.router, prefix="/api")
