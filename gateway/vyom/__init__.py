"""Vyom-dialect routes: inbound number mappings and inbound context strategies."""

from fastapi import APIRouter

from gateway.vyom import inbound, strategies

router = APIRouter()
router.include_router(inbound.router)
router.include_router(strategies.router)
