from __future__ import annotations

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from packages_app.models import Package, RefreshRun
from pypistats_site.celery import app


@pytest.mark.django_db
def test_it_reports_healthy(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] and body["cache"]["ok"] and body["broker"]["ok"]
    assert body["last_successful_refresh"] is None
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_it_reports_the_last_successful_refresh(client: Client) -> None:
    package = Package.objects.create(name="demo-pkg")
    finished = timezone.now()
    RefreshRun.objects.create(package=package, status=RefreshRun.Status.OK, finished_at=finished)
    RefreshRun.objects.create(
        package=package, status=RefreshRun.Status.FAILED, finished_at=finished
    )
    body = client.get("/healthz").json()
    assert body["last_successful_refresh"]["finished_at"] == finished.isoformat()


@pytest.mark.django_db
def test_a_broker_that_does_not_answer_is_unhealthy(client: Client) -> None:
    saved = {
        "broker_url": app.conf.broker_url,
        "broker_transport_options": app.conf.broker_transport_options,
    }
    # The discard port: nothing listens there.
    app.conf.update(broker_url="redis://127.0.0.1:9/0", broker_transport_options={})
    try:
        response = client.get("/healthz")
    finally:
        app.conf.update(saved)
    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False
    assert response.json()["status"] == "unhealthy"


@pytest.mark.django_db
def test_a_cache_that_does_not_answer_is_unhealthy(client: Client, settings: Settings) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"socket_connect_timeout": 0.5},
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["cache"] == {"ok": False, "error": "ConnectionError"}


@pytest.mark.django_db
def test_a_database_that_does_not_answer_is_unhealthy(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_cursor(*args: object, **kwargs: object) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == {"ok": False, "error": "OperationalError"}
    assert body["last_successful_refresh"] is None


def test_it_only_answers_get(client: Client) -> None:
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_the_status_page_says_the_same_in_words(client: Client) -> None:
    package = Package.objects.create(name="demo-pkg")
    RefreshRun.objects.create(
        package=package, status=RefreshRun.Status.OK, finished_at=timezone.now()
    )
    response = client.get("/status/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "All systems answering." in html
    assert "Database" in html and "Task broker" in html and "Last successful refresh" in html
    assert 'href="/healthz"' in html  # machines keep their JSON


@pytest.mark.django_db
def test_the_status_page_names_what_is_down(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from packages_app.sync import selectors

    def broken_cursor(*args: object, **kwargs: object) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    monkeypatch.setattr(selectors, "last_successful_refresh", lambda: None)
    response = client.get("/status/")
    assert response.status_code == 503
    html = response.content.decode()
    assert "Something is not answering" in html and "not answering" in html


@pytest.mark.django_db
def test_a_loopback_check_is_answered_with_a_real_allowed_hosts(
    client: Client, settings: Settings
) -> None:
    """The compose healthcheck calls http://127.0.0.1:8000/healthz inside the container while
    ALLOWED_HOSTS names the real site: answered, and host validation is not weakened."""
    settings.ALLOWED_HOSTS = ["stats.example.org"]
    local = "127.0.0.1"
    for host in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000", "127.0.0.1"):
        response = client.get("/healthz", HTTP_HOST=host, REMOTE_ADDR=local)
        assert response.status_code == 200, host
        assert response.json()["status"] == "ok"
    assert client.get("/healthz", HTTP_HOST="[::1]:8000", REMOTE_ADDR="::1").status_code == 200
    # Everything else is validated as before: another peer, another Host, another path.
    refused = [
        client.get("/healthz", HTTP_HOST="127.0.0.1:8000", REMOTE_ADDR="203.0.113.7"),
        client.get("/healthz", HTTP_HOST="evil.example", REMOTE_ADDR=local),
        client.get("/healthz", HTTP_HOST="127.0.0.1.evil.example", REMOTE_ADDR=local),
        client.get("/", HTTP_HOST="127.0.0.1:8000", REMOTE_ADDR=local),
        client.get("/api/packages/pip/recent", HTTP_HOST="127.0.0.1:8000", REMOTE_ADDR=local),
    ]
    assert [r.status_code for r in refused] == [400] * len(refused)
    assert client.get("/healthz", HTTP_HOST="stats.example.org").status_code == 200
