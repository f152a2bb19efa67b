"""The gateway's lifecycle lines on stdout (listening, draining, stopped): once per gateway,
whether it serves in one process or through worker processes."""

from __future__ import annotations

from gateway.settings import GatewaySettings
from services.common.process.shutdown import StopRequest, signal_name


def listening(host: str, port: int, workers: int = 1) -> None:
    """The banner: where the gateway takes HTTP requests."""
    served_by = f" ({workers} worker processes)" if workers > 1 else ""
    print(f"switchboard gateway: HTTP listening on http://{host}:{port}{served_by}", flush=True)


def draining(settings: GatewaySettings, stop: StopRequest) -> None:
    """What a stop request does next, when it drains at all."""
    drain = settings.shutdown_drain_seconds
    if stop.drains and drain > 0:
        print(
            f"switchboard gateway: {signal_name(stop.signum)}: /readyz 503, "
            f"draining for {drain:g} s, then in-flight requests get up to "
            f"{settings.shutdown_grace_seconds:g} s",
            flush=True,
        )


def stopped() -> None:
    """The last line of a gateway that stopped."""
    print("switchboard gateway: stopped", flush=True)
