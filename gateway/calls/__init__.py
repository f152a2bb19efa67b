"""Call routes of the telephony edge: ``POST /v1/calls:route`` and the Exotel stream adapter."""

from fastapi import APIRouter

from gateway.calls import exotel, routing

router = APIRouter()
router.include_router(routing.router)
router.include_router(exotel.router)
