"""Replay every upstream golden capture against our app: same status, type and bytes.

The captures that differ on purpose are listed in DIFFERENCES with what we answer
instead, built from upstream's own captures by the documented rule; the replay asserts
they really differ, and that our answer is exactly that one.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from django.test import Client

from packages_app.demo.upstream import DemoUpstream
from packages_app.models import Package
from packages_app.sync import services
from packages_app.sync.upstream import UpstreamClient
from tests.packages_app import golden

# The first date our default window holds for demo-pkg (latest 2026-11-23 minus 180 days).
WINDOW_START = "2026-05-27"
Answer = tuple[int, str | None, bytes]  # status, Content-Type, body


def _capture(target: str) -> golden.Capture:
    return next(c for c in golden.captures() if c.target == target)


def _same_as(target: str) -> Callable[[], Answer]:
    """Upstream's own answer to another request (the canonical name's)."""

    def answer() -> Answer:
        c = _capture(target)
        return c.status, c.content_type, c.body

    return answer


def _rows_of(target: str, keep: Callable[[dict[str, Any]], bool]) -> Callable[[], Answer]:
    """Upstream's answer to `target` with only the rows `keep` accepts, in upstream's
    format (compact JSON, sorted keys, a trailing newline)."""

    def answer() -> Answer:
        c = _capture(target)
        payload = orjson.loads(c.body)
        payload["data"] = [row for row in payload["data"] if keep(row)]
        return c.status, c.content_type, orjson.dumps(payload, option=orjson.OPT_SORT_KEYS) + b"\n"

    return answer


def _category(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda row: row["category"] == name


def _in_window(row: dict[str, Any]) -> bool:
    return str(row["date"]) >= WINDOW_START


# target -> what we answer instead of upstream's capture, built from upstream's own
# captures by the documented rule (each also has its own test in test_differences.py).
DIFFERENCES: dict[str, Callable[[], Answer]] = {
    # 1. Full PEP 503 names: the canonical package's answer (upstream 404s or is empty).
    "/api/packages/Demo-Pkg/recent": _same_as("/api/packages/demo-pkg/recent"),
    "/api/packages/zope..interface/recent": _same_as("/api/packages/zope.interface/recent"),
    "/api/packages/DEMO-PKG/system": _same_as("/api/packages/demo-pkg/system"),
    # Non-ASCII is not a valid project name: upstream's own 404 (it answers 200 and "\u00fc").
    "/api/packages/%C3%BC/python_major": _same_as("/api/packages/nosuchpkg/recent"),
    # 2. os=other, os=null, version=null match (upstream's .title() never does): the rows
    # of that category from the unfiltered answer.
    "/api/packages/demo-pkg/system?os=other": _rows_of(
        "/api/packages/demo-pkg/system", _category("other")
    ),
    "/api/packages/demo-pkg/system?os=null": _rows_of(
        "/api/packages/demo-pkg/system", _category("null")
    ),
    "/api/packages/demo-pkg/python_major?version=null": _rows_of(
        "/api/packages/demo-pkg/python_major", _category("null")
    ),
    # 3. The default window is upstream's 181 dates: the hand-inserted D-200 row is outside.
    "/api/packages/demo-pkg/overall": _rows_of("/api/packages/demo-pkg/overall", _in_window),
    "/api/packages/demo-pkg/overall?mirrors=true": _rows_of(
        "/api/packages/demo-pkg/overall?mirrors=true", _in_window
    ),
    "/api/packages/demo-pkg/overall?mirrors=false": _rows_of(
        "/api/packages/demo-pkg/overall?mirrors=false", _in_window
    ),
    "/api/packages/demo-pkg/overall?mirrors=True": _rows_of(
        "/api/packages/demo-pkg/overall?mirrors=True", _in_window
    ),
}
# Not API routes: upstream's health pages; ours is /healthz (JSON), outside /api/.
NOT_OURS = {"/health", "/status"}


def _replayable() -> list[golden.Capture]:
    return [c for c in golden.captures() if c.target not in NOT_OURS]


def test_the_parser_reads_every_capture() -> None:
    caps = golden.captures()
    assert len(caps) == 49
    first = caps[0]
    assert first.target == "/api/packages/demo-pkg/recent"
    assert first.status == 200 and first.content_type == "application/json"
    assert first.body.endswith(b"\n") and len(first.body) == 106


def assert_replays(capture: golden.Capture, client: Client, *, gzipped: bool = False) -> None:
    """Our answer is upstream's captured one, or exactly the documented difference; with
    `gzipped`, asked with Accept-Encoding: gzip and compared once gunzipped."""
    headers = {"accept-encoding": "gzip, deflate, br"} if gzipped else {}
    response = client.generic(capture.method, capture.target, headers=headers)
    content = response.content
    if gzipped:
        assert response.get("Vary", "Accept-Encoding") == "Accept-Encoding", capture.target
        if response.get("Content-Encoding") == "gzip":
            content = gzip.decompress(content)
            assert capture.method == "HEAD" or len(response.content) < len(content)
            assert response["ETag"].startswith('W/"')
        else:  # small bodies and errors go as they are
            assert "Content-Encoding" not in response
            assert response.status_code != 200 or len(content) < 200, capture.target
    body = content.replace(b"http://testserver", golden.CAPTURE_ORIGIN.encode())
    same = (
        response.status_code == capture.status
        and response["Content-Type"] == capture.content_type
        and body == capture.body
    )
    if capture.target in DIFFERENCES:
        assert not same, f"documented difference no longer differs: {capture.target}"
        ours = (response.status_code, response["Content-Type"], body)
        assert ours == DIFFERENCES[capture.target](), capture.target
    else:
        assert response.status_code == capture.status, capture.target
        assert response["Content-Type"] == capture.content_type, capture.target
        assert body == capture.body, capture.target


@pytest.mark.parametrize("capture", _replayable(), ids=lambda c: c.target)
def test_replay(capture: golden.Capture, seeded: dict[str, Package], client: Client) -> None:
    assert_replays(capture, client)


@pytest.mark.parametrize("capture", _replayable(), ids=lambda c: c.target)
def test_replay_gzipped(
    capture: golden.Capture, seeded: dict[str, Package], client: Client
) -> None:
    """A client that takes gzip gets upstream's bytes once gunzipped, computed once: the
    second answer comes from the gzip entry beside the plain one."""
    assert_replays(capture, client, gzipped=True)
    assert_replays(capture, client, gzipped=True)
    assert_replays(capture, client)


# month-only's `recent` row was inserted by hand into upstream's table, with no download
# rows behind it: upstream 404s its /overall, so no refresh can (or should) store it.
HAND_INSERTED = "/api/packages/month-only/"


@pytest.mark.django_db
def test_replay_after_a_real_refresh_from_the_demo_upstream(
    golden_demo: DemoUpstream, client_for: Callable[..., UpstreamClient], client: Client
) -> None:
    """The store filled the way production fills it (refresh_package over HTTP from the
    demo upstream serving the golden seed), not by the test seed, answers every capture."""
    upstream = client_for(golden_demo)
    for name in ("demo-pkg", "zope-interface", "__all__", "old-only"):
        package, _ = services.package_track(name=name)
        assert services.refresh_package(package_id=package.pk, client=upstream).status == "ok"
    replayed = [c for c in _replayable() if not c.target.startswith(HAND_INSERTED)]
    assert len(replayed) == len(_replayable()) - 2
    for capture in replayed:
        assert_replays(capture, client)


def test_redirect_location(client: Client) -> None:
    response = client.get("/api")
    assert response.status_code == 308
    assert response["Location"] == "http://testserver/api/"
