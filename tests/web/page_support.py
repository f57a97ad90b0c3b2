"""Helpers of the browser tests: a Playwright page that can reach only this machine, and
an app served by uvicorn on a free local port."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
SCREENS = REPO / "test-artifacts" / "screens"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


class OfflinePage:
    """A Playwright page whose requests to anything but this machine are aborted (and
    recorded in ``blocked``), with the page's uncaught errors in ``errors``."""

    def __init__(self, browser) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.console: list[str] = []  # the page's console messages, printed when a test fails
        self.page.on("console", lambda msg: self.console.append(f"{msg.type}: {msg.text}"))

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def open(self, url: str, timeout_ms: float = 20_000) -> None:
        """Go to ``url`` (a page route) and wait until the view has rendered."""
        self.page.goto(url)
        self.page.wait_for_selector("#view[data-ready='1']", timeout=timeout_ms)

    def shot(self, name: str, full_page: bool = True) -> Path:
        SCREENS.mkdir(parents=True, exist_ok=True)
        path = SCREENS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        print(f"screenshot: {path}")
        return path

    def close(self) -> None:
        print("page console:", *self.console[-30:], sep="\n  ")
        self.context.close()


@contextmanager
def serve_app(app) -> Iterator[str]:
    """``app`` served by uvicorn on a free local port in a thread; yields its base URL."""
    import uvicorn
    from live_support import free_port

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        assert time.time() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(10)


