"""A loopback HTTP server thread for a WSGI callable (the real one: the API's fast path in
front of Django's handler, as pypistats_site/wsgi.py builds it), for tests over HTTP.

pytest-django's live_server serves Django's WSGIHandler directly, bypassing wsgi.py.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.db import connections


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serving(app: Callable[..., Any]) -> Iterator[str]:
    """Serve `app` on 127.0.0.1:<ephemeral> from one thread; yield its base URL.

    One thread with one persistent database connection, as one worker has; the test needs
    transactional_db to share data with it. The connection is closed when the server stops.
    """
    server = make_server("127.0.0.1", 0, app, WSGIServer, _QuietHandler)

    def serve() -> None:
        try:
            # shutdown() waits for the next poll of its flag (0.5 s by default).
            server.serve_forever(poll_interval=0.05)
        finally:
            connections.close_all()  # this thread's connection, before the test DB goes

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
