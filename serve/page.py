"""The arena page and the API docs, served from this package (no CDN, works offline).

* ``GET /`` — the single-page app (``serve/static/index.html``, ``app.js``, ``app.css``:
  hand-written ES modules, no build step) with TradingView's Lightweight Charts.
* ``GET /static/...`` — the page's files; ``static/vendor/`` holds the third-party files,
  copied unchanged from the npm packages pinned by ``web/package-lock.json`` (rebuilt byte
  for byte by ``scripts/build_web.sh``; licenses and notices beside them, ``MANIFEST.json``
  their versions, integrity and sha256).
* ``GET /docs`` (Swagger UI) and ``GET /redoc`` (ReDoc) from the vendored copies.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["CONTENT_SECURITY_POLICY", "STATIC_DIR", "mount_page"]

STATIC_DIR = Path(__file__).parent / "static"
"""The page's files (inside the package, so the wheel carries them)."""

_VENDOR = "/static/vendor"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'self'; base-uri 'self'; form-action 'self'"
)
"""Sent with the page and the docs: the browser loads nothing from any other origin (ReDoc's
bundle, for one, would fetch its logo from its vendor's CDN; the logo is then left out)."""
_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY}


def mount_page(app: FastAPI) -> None:
    """Add ``/``, ``/static``, ``/docs`` and ``/redoc`` to ``app`` (built with ``docs_url=None``
    and ``redoc_url=None``).

    Raises:
        FileNotFoundError: if the package's static files are missing (a broken install).
    """
    index = STATIC_DIR / "index.html"
    if not index.is_file():
        raise FileNotFoundError(f"the arena page is missing from the package: {index}")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    title = app.title

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        """The arena page."""
        return FileResponse(index, headers={"Cache-Control": "no-cache", **_HEADERS})

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return _with_policy(get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{title} — Swagger UI",
            swagger_js_url=f"{_VENDOR}/swagger-ui-dist/swagger-ui-bundle.js",
            swagger_css_url=f"{_VENDOR}/swagger-ui-dist/swagger-ui.css",
            swagger_favicon_url=f"{_VENDOR}/swagger-ui-dist/favicon-32x32.png",
        ))

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return _with_policy(get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{title} — ReDoc",
            redoc_js_url=f"{_VENDOR}/redoc/redoc.standalone.js",
            redoc_favicon_url=f"{_VENDOR}/swagger-ui-dist/favicon-32x32.png",
            with_google_fonts=False,
        ))


def _with_policy(response: HTMLResponse) -> HTMLResponse:
    response.headers.update(_HEADERS)
    return response
