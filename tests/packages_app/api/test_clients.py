"""Real clients against a live server: the `pypistats` package (library and CLI), a
shields.io-style badge check, and schemathesis against our /api/openapi.yml.

The expected `pypistats` output is what the same calls print against upstream's own
answers: a tiny local HTTP server replays the golden captures (with the one documented
difference, the default 181-date window, applied to them).
"""

from __future__ import annotations

import datetime as dt
import importlib
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
import pypistats
import pytest
import schemathesis
import urllib3
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from pypistats import _cache as pypistats_cache
from pypistats import cli as pypistats_cli
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from packages_app.api import fastpath as api_fastpath
from packages_app.models import Package
from tests.packages_app import golden
from tests.packages_app.api import wsgi_live

# The first date our default window holds for demo-pkg (latest 2026-11-23 minus 180 days).
WINDOW_START = "2026-05-27"


def _key(path: str, query: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return path, tuple(parse_qsl(query, keep_blank_values=True))


def _expected(capture: golden.Capture) -> bytes:
    """Upstream's body, with our documented default window applied (only demo-pkg/overall changes)."""
    if capture.status != 200 or "/overall" not in capture.path:
        return capture.body
    payload = orjson.loads(capture.body)
    payload["data"] = [r for r in payload["data"] if r["date"] >= WINDOW_START]
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS) + b"\n"


@pytest.fixture
def upstream_replay() -> Iterator[str]:
    """A local HTTP server answering every golden request with upstream's bytes."""
    answers = {
        _key(c.path, urlsplit(c.target).query): c for c in golden.captures() if c.method == "GET"
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            capture = answers.get(_key(parts.path, parts.query))
            if capture is None:
                self.send_error(599, f"no golden capture for {self.path}")
                return
            body = _expected(capture)
            self.send_response(capture.status)
            self.send_header("Content-Type", capture.content_type or "")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # shutdown() waits for the next poll of its flag: 0.5 s by default, at every teardown.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def live_api(transactional_db: None, settings: Any) -> Iterator[str]:
    """Our app on 127.0.0.1:<ephemeral>, with the golden seed loaded: the real WSGI
    callable (the API's fast path in front of Django, as pypistats_site/wsgi.py builds it).

    Built here, after the per-test settings (SECURE_SSL_REDIRECT off) apply; pytest-django's
    session `live_server` would build its middleware before them and serves Django's
    handler without wsgi.py's fast path.
    """
    golden.load_seed()
    with wsgi_live.serving(api_fastpath.wrap(WSGIHandler())) as url:
        yield url + "/api/"
        # Close the clients' keep-alive connections before the server goes.
        urllib3_default_pool = getattr(urllib3, "_DEFAULT_POOL", None)
        if urllib3_default_pool is not None:
            urllib3_default_pool.clear()


CALLS: list[tuple[str, Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = [
    ("recent", pypistats.recent, ("demo-pkg",), {}),
    ("recent day", pypistats.recent, ("demo-pkg",), {"period": "day"}),
    ("recent week", pypistats.recent, ("demo-pkg",), {"period": "week"}),
    ("recent month", pypistats.recent, ("demo-pkg",), {"period": "month"}),
    ("recent zope", pypistats.recent, ("zope.interface",), {}),
    ("recent all", pypistats.recent, ("__all__",), {}),
    ("recent month-only", pypistats.recent, ("month-only",), {}),
    ("overall", pypistats.overall, ("demo-pkg",), {}),
    ("overall with", pypistats.overall, ("demo-pkg",), {"mirrors": True}),
    (
        "overall without daily",
        pypistats.overall,
        ("demo-pkg",),
        {"mirrors": False, "total": "daily"},
    ),
    ("overall monthly", pypistats.overall, ("demo-pkg",), {"total": "monthly"}),
    ("overall old-only", pypistats.overall, ("old-only",), {}),
    ("overall all", pypistats.overall, ("__all__",), {}),
    ("python_major", pypistats.python_major, ("demo-pkg",), {}),
    ("python_major 3", pypistats.python_major, ("demo-pkg",), {"version": 3}),
    ("python_major unknown", pypistats.python_major, ("nosuchpkg",), {}),
    ("python_minor", pypistats.python_minor, ("demo-pkg",), {}),
    ("python_minor 3.10", pypistats.python_minor, ("demo-pkg",), {"version": "3.10"}),
    ("python_minor daily", pypistats.python_minor, ("demo-pkg",), {"total": "daily"}),
    ("system", pypistats.system, ("demo-pkg",), {}),
    ("system linux", pypistats.system, ("demo-pkg",), {"os": "linux"}),
    ("system darwin", pypistats.system, ("demo-pkg",), {"os": "darwin"}),
    ("system unknown", pypistats.system, ("nosuchpkg",), {}),
]


def _run(
    base_url: str,
    cache_dir: Path,
    call: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    fmt: str,
) -> str:
    pypistats.BASE_URL = base_url
    pypistats_cache.CACHE_DIR = cache_dir
    return str(call(*args, format=fmt, color="no", **kwargs))


@pytest.mark.parametrize("fmt", ["json", "markdown"])
def test_pypistats_library_prints_what_upstream_gives(
    upstream_replay: str, live_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    monkeypatch.setattr(pypistats, "BASE_URL", pypistats.BASE_URL)
    monkeypatch.setattr(pypistats_cache, "CACHE_DIR", pypistats_cache.CACHE_DIR)
    for label, call, args, kwargs in CALLS:
        expected = _run(upstream_replay, tmp_path / "upstream", call, args, kwargs, fmt)
        ours = _run(live_api, tmp_path / "ours", call, args, kwargs, fmt)
        assert ours == expected, label
        assert "599" not in expected, f"{label}: the replay server has no capture for it"
    # The same client call that 404s upstream 404s here, with the client's own error.
    for base, cache_dir in ((upstream_replay, "upstream"), (live_api, "ours")):
        with pytest.raises(urllib3.exceptions.HTTPError) as raised:
            _run(base, tmp_path / cache_dir, pypistats.recent, ("nosuchpkg",), {}, fmt)
        assert str(raised.value) == f"HTTP Error 404 for url: {base}packages/nosuchpkg/recent"


@pytest.mark.parametrize(
    "argv",
    [
        ["recent", "demo-pkg"],
        ["recent", "demo-pkg", "-p", "week", "-j"],
        ["overall", "demo-pkg", "-f", "md"],
        ["overall", "demo-pkg", "--mirrors", "without", "--daily", "-f", "tsv"],
        ["python_major", "demo-pkg", "-V", "3", "-j"],
        ["python_minor", "demo-pkg", "-f", "rst"],
        ["system", "demo-pkg", "-o", "linux", "-f", "html"],
        ["system", "demo-pkg", "-f", "md"],
    ],
    ids=" ".join,
)
def test_pypistats_cli_prints_what_upstream_gives(
    upstream_replay: str,
    live_api: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(pypistats, "BASE_URL", pypistats.BASE_URL)
    monkeypatch.setattr(pypistats_cache, "CACHE_DIR", pypistats_cache.CACHE_DIR)
    outputs = []
    for base, cache_dir in ((upstream_replay, "upstream"), (live_api, "ours")):
        pypistats.BASE_URL = base
        pypistats_cache.CACHE_DIR = tmp_path / cache_dir
        monkeypatch.setattr(sys, "argv", ["pypistats", *argv])
        # main() adds its arguments to a module-level parser: a fresh module per run.
        importlib.reload(pypistats_cli).main()
        outputs.append(capsys.readouterr().out)
    assert outputs[0].strip()
    assert outputs[1] == outputs[0]


# --- shields.io ------------------------------------------------------------------------


def test_shields_style_recent(seeded: dict[str, Package], client: Client) -> None:
    """What badges/shields' pypi-downloads service validates: three integers >= 0, and 404."""
    for name in (
        "demo-pkg",
        "zope-interface",
        "month-only",
        "__all__",
        "djangorestframework-x".lower(),
    ):
        response = client.get(f"/api/packages/{name}/recent")
        if name == "djangorestframework-x":
            assert response.status_code == 404  # "package not found"
            continue
        assert response.status_code == 200
        data = orjson.loads(response.content)["data"]
        for key in ("last_day", "last_week", "last_month"):
            assert isinstance(data[key], int) and not isinstance(data[key], bool)
            assert data[key] >= 0
    assert client.get("/api/packages/not-a-package/recent").status_code == 404


# --- schemathesis ------------------------------------------------------------------------


CHECKS = [
    not_a_server_error,
    # Valid requests are answered (2xx, or a 404 the spec documents for an unknown
    # package) and invalid ones refused with a 4xx.
    negative_data_rejection,
    positive_data_acceptance,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def _start_after_end(query: dict[str, Any]) -> bool:
    try:
        start = dt.date.fromisoformat(str(query["start_date"]))
        end = dt.date.fromisoformat(str(query["end_date"]))
    except (KeyError, ValueError):
        return False
    return start > end


def fuzz(operation: Any, base_url: str, mode: GenerationMode, *, max_examples: int) -> None:
    """Cases schemathesis generates for one operation, each called and checked (CHECKS)."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @hsettings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        query = case.query or {}
        if mode == GenerationMode.POSITIVE and _start_after_end(query):
            # A constraint across two parameters, which OpenAPI cannot express: the spec
            # documents it in words ("a start after the end → 400"; an unknown package is
            # a 404 before its dates are looked at).
            response = case.call(base_url=base_url.rstrip("/"))
            assert response.status_code in (400, 404), (query, response.text)
            return
        case.call_and_validate(base_url=base_url.rstrip("/"), checks=CHECKS)

    run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_schemathesis_against_openapi(live_api: str, settings: Any, mode: GenerationMode) -> None:
    """Every operation of /api/openapi.yml, fuzzed (30 examples each) against the live app.

    (schemathesis' own pytest plugin does not run under pytest 9 here, so this drives
    its Python API with hypothesis directly.)
    """
    # Generated requests come from one IP; the 429 path has its own tests.
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    schema = schemathesis.openapi.from_url(live_api + "openapi.yml")
    operations = [
        op
        for op in (result.ok() for result in schema.get_all_operations())  # type: ignore[union-attr]
        if not op.path.startswith("/ext/")
    ]
    # The compatible API's five; /ext/ (ClickHouse's breakdowns) has its own run
    # (tests/packages_app/history/test_breakdown_api.py).
    assert len(operations) == 5
    for operation in operations:
        fuzz(operation, live_api, mode, max_examples=30)


def test_openapi_document_is_yaml_shown_as_text(seeded: dict[str, Package], client: Client) -> None:
    import yaml

    response = client.get("/api/openapi.yml")
    assert response.status_code == 200
    # text/plain, so a browser shows it rather than downloading it (issue #14).
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "attachment" not in response.get("Content-Disposition", "")
    doc = yaml.safe_load(response.content)
    assert doc["openapi"].startswith("3.1")
    system = doc["paths"]["/packages/{package}/system"]["get"]
    categories = system["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert categories.endswith("SystemSeries")
    assert doc["components"]["schemas"]["SystemSeries"]["properties"]["data"]["items"]["allOf"][1][
        "properties"
    ]["category"]["enum"] == ["Darwin", "Linux", "Windows", "other", "null"]
    names = {p.get("name") or p["$ref"].rsplit("/", 1)[1] for p in system["parameters"]}
    assert {"StartDate", "EndDate", "os", "Package"} <= names
    assert set(system["responses"]) == {"200", "304", "400", "404", "429"}
