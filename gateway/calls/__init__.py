"""Call routes: ``POST /v1/calls:route``, the Exotel stream adapter and the decision journal."""

from fastapi import APIRouter

from gateway.calls import decisions, exotel, routing

router = APIRouter()
router.include_router(routing.router)
router.include_router(exotel.router)
router.include_router(decisions.router)
