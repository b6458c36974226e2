"""Tests over real HTTP: headless Chromium, and the Django app on a loopback port.

Two things keep each test thread on one database connection, the one pytest-django
manages, and no server thread using it after the test stopped sharing it:

- Playwright's sync API leaves its event loop marked as running in the test's thread
  between calls. Django's connection handler then files connections under that "async
  context" instead of the thread, so the test body and anything started after the
  browser would get a second connection of their own: on PostgreSQL one that nobody
  closes (dropping the test database then fails, "being accessed by other users"); on
  in-memory SQLite a second handle that a live server shares with its threads only for
  as long as the server runs. chromium() files the thread's own connections there.
- Django's live server hands each browser connection to a daemon thread that shares
  the test's in-memory SQLite connection. The browser keeps those connections open, so
  the threads outlive the server: they then close the shared connection after the test
  stopped sharing it ("DatabaseWrapper objects created in a thread can only be used in
  that same thread"), and two of them may run statements on it at once; on PostgreSQL
  each keeps its own connection open (CONN_MAX_AGE) for as long as its client keeps the
  HTTP connection, past the end of the run. live_django() and pytest-django's
  live_server (tests/conftest.py) serve one request at a time from the server's own
  thread (Django then answers with "Connection: close"), so nothing runs after stop().
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.servers.basehttp import WSGIServer
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteDatabaseWrapper
from django.test.testcases import LiveServerThread, QuietWSGIRequestHandler
from django.test.utils import modify_settings

from tests.services import CHROMIUM

# The flags this machine's closed network needs (no background fetches, no sandbox as root).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Headless Chromium through Playwright's sync API, the test keeping its connections."""
    from playwright.sync_api import sync_playwright

    own = {alias: connections[alias] for alias in connections}
    with sync_playwright() as playwright:
        # From here on the loop counts as running in this thread: hand Django's
        # "async context" store the thread's own connections.
        for alias, connection in own.items():
            connections[alias] = connection
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class _QuickStopServer(WSGIServer):
    def serve_forever(self, poll_interval: float = 0.05) -> None:
        # shutdown() waits for the next poll of its flag (0.5 s by default).
        super().serve_forever(poll_interval)


class _OneRequestAtATime(LiveServerThread):
    def _create_server(self, connections_override: Any = None) -> WSGIServer:
        return _QuickStopServer(
            (self.host, self.port), QuietWSGIRequestHandler, allow_reuse_address=False
        )


def one_request_at_a_time(server: Any) -> Any:
    """Give pytest-django's LiveServer, made with start=False, our server thread."""
    threaded = server.thread
    server.thread = _OneRequestAtATime(
        threaded.host,
        threaded.static_handler,
        connections_override=threaded.connections_override,
        port=threaded.port,
    )
    server.thread.daemon = True
    return server


@dataclass(frozen=True)
class LiveDjango:
    url: str

    def __str__(self) -> str:
        return self.url


@contextlib.contextmanager
def live_django(host: str = "127.0.0.1") -> Iterator[LiveDjango]:
    """The app on http://<host>:<free port>, built now: after the test's own settings
    (pytest-django's session-wide live_server builds its middleware before them)."""
    shared: dict[str, BaseDatabaseWrapper] = {
        c.alias: c
        for c in connections.all()
        if isinstance(c, SQLiteDatabaseWrapper) and c.is_in_memory_db()
    }
    thread = _OneRequestAtATime(host, StaticFilesHandler, connections_override=shared)
    thread.daemon = True
    for connection in shared.values():
        connection.inc_thread_sharing()
    try:
        with modify_settings(ALLOWED_HOSTS={"append": host}):
            thread.start()
            thread.is_ready.wait()
            try:
                if thread.error:
                    raise thread.error
                yield LiveDjango(f"http://{host}:{thread.port}")
            finally:
                # Joins the server thread: its last request is over, its connections closed.
                thread.terminate()
    finally:
        for connection in shared.values():
            connection.dec_thread_sharing()
