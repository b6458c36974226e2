"""base.html: htmx and Chart.js from static files, CSRF header on <body>, CSP with no inline scripts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from pytest_django import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _static_files_through_django(settings: Settings) -> None:
    """Serve static files as settings.py does: tests/conftest.py turns WhiteNoise's finders
    off for every other test, which never asks Django for /static/."""
    settings.WHITENOISE_USE_FINDERS = True


@pytest.fixture
def home(client: Client, db: None) -> tuple[str, dict[str, str]]:
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode(), dict(response.headers)


def test_csp_is_enforced_without_unsafe_inline(home: tuple[str, dict[str, str]]) -> None:
    _, headers = home
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp


def test_no_inline_scripts_or_styles(home: tuple[str, dict[str, str]]) -> None:
    html, _ = home
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag, tag
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)


def test_htmx_is_loaded_from_static_and_pinned_to_2(
    home: tuple[str, dict[str, str]], client: Client
) -> None:
    html, _ = home
    src = re.search(r'<script[^>]+src="([^"]*htmx[^"]*)"', html)
    assert src is not None
    body = client.get(src.group(1))
    assert body.status_code == 200
    # Static files are served streaming (FileResponse).
    content = (
        b"".join(body.streaming_content)
        if isinstance(body, StreamingHttpResponse)
        else body.content
    )
    assert b'version:"2.' in content
    assert '"allowEval": false' in html


def test_body_carries_the_csrf_header(home: tuple[str, dict[str, str]]) -> None:
    html, _ = home
    assert re.search(r'<body hx-headers=\'\{"X-CSRFToken": "[A-Za-z0-9]{32,}"\}\'>', html)


def test_the_page_has_search_account_links_and_data_as_of(home: tuple[str, dict[str, str]]) -> None:
    html, _ = home
    assert 'role="search"' in html
    assert 'href="/accounts/login/' in html and 'href="/accounts/signup/"' in html
    assert "Data as of" in html


@pytest.mark.parametrize(
    "name",
    [
        "chart.umd.min.js",
        "chartjs-adapter-date-fns.bundle.min.js",
        "chartjs-plugin-annotation.min.js",
    ],
)
def test_vendored_chart_files_are_served(client: Client, name: str) -> None:
    response = client.get(f"/static/vendor/{name}")
    assert response.status_code == 200
    assert (ROOT / "static" / "vendor" / name).stat().st_size > 10_000


def test_the_stylesheet_follows_the_os_colour_scheme(client: Client) -> None:
    css = (ROOT / "static" / "css" / "site.css").read_text()
    assert "@media (prefers-color-scheme: dark)" in css


def test_demo_mode_labels_data_as_synthetic(client: Client, db: None, settings: Settings) -> None:
    settings.DEMO_UPSTREAM = True
    assert "synthetic" in client.get("/").content.decode()
