"""/api/: the API documented for people (a page extending base.html), and its browser rendering."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.live import chromium, live_django

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


def test_docs_page_documents_the_api(db: None, client: Client, settings: Any) -> None:
    settings.API_RATE_LIMIT_PER_MINUTE = 600
    settings.API_CACHE_MAX_AGE = 3600
    response = client.get("/api/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    assert '<link rel="stylesheet"' in html  # it extends base.html
    for text in (
        "/api/packages/&lt;package&gt;/recent",
        "/api/packages/&lt;package&gt;/python_minor",
        "start_date, end_date",
        'id="etiquette"',
        'id="differences"',
        "600 requests per minute",
        "max-age=3600",
        "http://testserver/api/",
        'href="/api/openapi.yml"',
    ):
        assert text in html, text
    # CSP: no inline script or style.
    assert "<script>" not in html and "style=" not in html and "<style" not in html


def test_docs_page_without_a_limit(db: None, client: Client, settings: Any) -> None:
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    assert "does not limit request rates" in client.get("/api/").content.decode()


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as instance:
        yield instance


@pytest.mark.e2e
def test_docs_page_in_a_browser(transactional_db: None, browser: Any) -> None:
    with live_django() as server:
        page = browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(server.url + "/api/")
        assert page.locator("h1").inner_text() == "JSON API"
        assert page.locator("#etiquette").is_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "api-docs.png"), full_page=True)
        assert not [e for e in errors if "Content Security Policy" in e], errors
        # The document's link works (a YAML download for a browser).
        href = page.locator('a[href$="openapi.yml"]').first.get_attribute("href")
        assert "openapi: 3.1.0" in page.request.get(server.url + href).text()
        page.close()
