"""Call routes: ``POST /v1/calls:route``, lease release/renew, the Exotel stream adapter and the
decision journal."""

from fastapi import APIRouter

from gateway.calls import decisions, exotel, leases, routing

router = APIRouter()
router.include_router(routing.router)
router.include_router(leases.router)
router.include_router(exotel.router)
router.include_router(decisions.router)
