"""Interactive API docs (``/docs``, ``/redoc``) served from packaged assets, never a CDN.

FastAPI's default pages load Swagger UI and ReDoc from a CDN, so on a machine without
internet they are blank. The assets here come from the ``fastapi-offline`` package (a
dependency, pinned by the lock file) and are served by the gateway itself.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Final

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, Response

ASSETS_URL: Final = "/docs-assets"
"""Where the Swagger UI and ReDoc bundles are served."""

_ASSETS: Final = files("fastapi_offline") / "static"
_TITLE: Final = "Switchboard"

# Swagger UI would otherwise send the spec to an online validator for its badge.
_SWAGGER_PARAMETERS: Final = {"validatorUrl": None, "persistAuthorization": True}

# The pages may load nothing but this gateway's own assets and API (ReDoc's sidebar, for
# one, hard-codes a logo image on a CDN). Their bootstrap scripts are inline.
_CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'"
)


# The packaged ReDoc bundle hard-codes its sidebar logo on a CDN; served with a local image.
_REDOC_CDN_LOGO: Final = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def _redoc_bundle() -> bytes:
    bundle = (_ASSETS / "redoc.standalone.js").read_bytes()
    return bundle.replace(_REDOC_CDN_LOGO.encode(), f"{ASSETS_URL}/favicon.png".encode())


def _self_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = _CONTENT_SECURITY_POLICY
    return page


def mount_docs(app: FastAPI) -> None:
    """Serve ``/docs`` (Swagger UI), ``/redoc`` and their assets from this process."""
    openapi_url = app.openapi_url or "/openapi.json"
    router = APIRouter(include_in_schema=False)
    redoc_bundle = _redoc_bundle()

    @router.get(f"{ASSETS_URL}/redoc.standalone.js")
    async def redoc_js() -> Response:
        # Registered before the static mount below, so it wins over the file there.
        return Response(redoc_bundle, media_type="text/javascript")

    @router.get("/docs")
    async def swagger_ui() -> HTMLResponse:
        return _self_only(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=f"{_TITLE} — API docs",
                swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
                swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
                swagger_ui_parameters=_SWAGGER_PARAMETERS,
            )
        )

    @router.get("/redoc")
    async def redoc() -> HTMLResponse:
        return _self_only(
            get_redoc_html(
                openapi_url=openapi_url,
                title=f"{_TITLE} — API reference",
                redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
                redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
                with_google_fonts=False,
            )
        )

    app.include_router(router)
    app.mount(ASSETS_URL, StaticFiles(directory=str(_ASSETS)), name="docs-assets")
