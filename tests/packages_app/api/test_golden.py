"""Replay every upstream golden capture against our app: same status, type and bytes.

The captures that differ on purpose are listed in DIFFERENCES with the test that
covers each; they are not skipped silently, the replay asserts they really differ.
"""

from __future__ import annotations

import pytest
from django.test import Client

from packages_app.models import Package
from tests.packages_app import golden

# target -> why ours differs (each has its own test in test_api_differences.py)
DIFFERENCES = {
    # 1. Full PEP 503 names: these answer the canonical package's data.
    "/api/packages/Demo-Pkg/recent": "PEP 503 names (test_uppercase_names_answer)",
    "/api/packages/zope..interface/recent": "PEP 503 names (test_separator_runs_collapse)",
    "/api/packages/DEMO-PKG/system": "PEP 503 names (test_uppercase_names_answer)",
    # Non-ASCII is not a valid project name: our documented 404.
    "/api/packages/%C3%BC/python_major": "invalid names 404 (test_non_ascii_name_is_404)",
    # 2. os=other, os=null, version=null match.
    "/api/packages/demo-pkg/system?os=other": "lowercase categories match (test_os_other_and_null_match)",
    "/api/packages/demo-pkg/system?os=null": "lowercase categories match (test_os_other_and_null_match)",
    "/api/packages/demo-pkg/python_major?version=null": "lowercase categories match (test_version_null_matches)",
    # 3. The default window is upstream's 181 dates; the hand-inserted D-200 row is outside it.
    "/api/packages/demo-pkg/overall": "default window (test_default_window_drops_d200)",
    "/api/packages/demo-pkg/overall?mirrors=true": "default window (test_default_window_drops_d200)",
    "/api/packages/demo-pkg/overall?mirrors=false": "default window (test_default_window_drops_d200)",
    "/api/packages/demo-pkg/overall?mirrors=True": "default window (test_default_window_drops_d200)",
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


@pytest.mark.parametrize("capture", _replayable(), ids=lambda c: c.target)
def test_replay(capture: golden.Capture, seeded: dict[str, Package], client: Client) -> None:
    response = client.generic(capture.method, capture.target)
    body = response.content.replace(b"http://testserver", golden.CAPTURE_ORIGIN.encode())
    same = (
        response.status_code == capture.status
        and response["Content-Type"] == capture.content_type
        and body == capture.body
    )
    if capture.target in DIFFERENCES:
        assert not same, f"documented difference no longer differs: {capture.target}"
    else:
        assert response.status_code == capture.status
        assert response["Content-Type"] == capture.content_type
        assert body == capture.body


def test_redirect_location(client: Client) -> None:
    response = client.get("/api")
    assert response.status_code == 308
    assert response["Location"] == "http://testserver/api/"
