"""HTTP behaviour of the JSON API: conditional GET, CORS, HEAD/OPTIONS, our rate limit, client IP."""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime

import pytest
import time_machine
from django.test import Client, RequestFactory
from pytest_django import Settings

from packages_app.api import ratelimit
from packages_app.models import Package
from tests.packages_app import golden

URL = "/api/packages/demo-pkg/python_minor"


# --- Conditional GET ---------------------------------------------------------------------


def test_validators_on_every_answer(
    seeded: dict[str, Package], client: Client, settings: Settings
) -> None:
    settings.API_CACHE_MAX_AGE = 1234
    response = client.get(URL)
    assert response.status_code == 200
    assert response["ETag"].startswith('"') and response["ETag"].endswith('"')
    assert response["Last-Modified"] == "Tue, 24 Nov 2026 03:00:00 GMT"
    assert response["Cache-Control"] == "public, max-age=1234"


def test_if_none_match_gives_304(seeded: dict[str, Package], client: Client) -> None:
    tag = client.get(URL)["ETag"]
    response = client.get(URL, headers={"If-None-Match": tag})
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == tag
    assert response["Access-Control-Allow-Origin"] == "*"
    # Weak form and lists match too; another tag does not.
    assert client.get(URL, headers={"If-None-Match": f'"x", W/{tag}'}).status_code == 304
    assert client.get(URL, headers={"If-None-Match": '"other"'}).status_code == 200


def test_if_modified_since_gives_304(seeded: dict[str, Package], client: Client) -> None:
    at_refresh = format_datetime(golden.REFRESHED_AT, usegmt=True)
    before = format_datetime(golden.REFRESHED_AT - dt.timedelta(seconds=1), usegmt=True)
    assert client.get(URL, headers={"If-Modified-Since": at_refresh}).status_code == 304
    assert client.get(URL, headers={"If-Modified-Since": before}).status_code == 200
    assert client.get(URL, headers={"If-Modified-Since": "garbage"}).status_code == 200


def test_etag_depends_on_params_and_version(seeded: dict[str, Package], client: Client) -> None:
    tags = {
        client.get(URL)["ETag"],
        client.get(URL + "?version=3.10")["ETag"],
        client.get(URL + "?start_date=2026-01-01")["ETag"],
    }
    assert len(tags) == 3
    # Repeated and reordered parameters normalise to the same answer and tag.
    assert (
        client.get(URL + "?version=3.10&version=3.9")["ETag"]
        == client.get(URL + "?&version=3.10")["ETag"]
    )
    old = client.get(URL)["ETag"]
    golden.bump(seeded["demo-pkg"])
    response = client.get(URL, headers={"If-None-Match": old})
    assert response.status_code == 200 and response["ETag"] != old


# --- CORS, HEAD, OPTIONS, methods -----------------------------------------------------------


def test_cors_on_api_answers_only(
    seeded: dict[str, Package], client: Client, settings: Settings
) -> None:
    for target in (URL, "/api/packages/nosuchpkg/recent", "/api/packages/demo-pkg/recent/"):
        response = client.get(target, headers={"Origin": "https://example.org"})
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in response
        assert "ETag" in response["Access-Control-Expose-Headers"]
    page = client.get("/api/")
    assert page.status_code == 200
    assert "Access-Control-Allow-Origin" not in page


def test_options_preflight(seeded: dict[str, Package], client: Client) -> None:
    response = client.options(
        URL,
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "If-None-Match",
        },
    )
    assert response.status_code == 200
    assert response.content == b""
    assert response["Allow"] == "GET, HEAD, OPTIONS"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
    assert "If-None-Match" in response["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in response


def test_head_has_get_headers_and_no_body(seeded: dict[str, Package], client: Client) -> None:
    get = client.get(URL)
    head = client.head(URL)
    assert head.status_code == 200 and head.content == b""
    assert head["Content-Length"] == str(len(get.content))
    assert head["ETag"] == get["ETag"]


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_other_methods_are_405(seeded: dict[str, Package], client: Client, method: str) -> None:
    response = getattr(client, method)(URL)
    assert response.status_code == 405
    assert response.content == b"405"
    assert response["Allow"] == "GET, HEAD, OPTIONS"


# --- Our rate limit -----------------------------------------------------------------------

MINUTE = 1_800_000_000.0  # the start of a one-minute window (a multiple of 60)


def test_rate_limit_answers_429_with_headers(
    seeded: dict[str, Package], client: Client, settings: Settings
) -> None:
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    statuses = []
    remaining = []
    # 15.5 s into a minute window: the window resets 44.5 s later, announced as 45.
    with time_machine.travel(MINUTE + 15.5, tick=False) as clock:
        for _ in range(3):
            response = client.get(URL)
            statuses.append(response.status_code)
            remaining.append(response["X-RateLimit-Remaining"])
            assert response["X-RateLimit-Limit"] == "3"
        assert statuses == [200, 200, 200]
        assert remaining == ["2", "1", "0"]
        # 404s count too, as upstream's do; every API endpoint shares the budget.
        response = client.get("/api/packages/nosuchpkg/recent")
        assert response.status_code == 429
        assert response["Content-Type"] == "text/html; charset=utf-8"
        assert response.content == b'<a href="/api/#etiquette">429 RATE LIMIT EXCEEDED</a>'
        assert response["Retry-After"] == "45"
        assert response["X-RateLimit-Remaining"] == "0"
        assert response["X-RateLimit-Reset"] == "45"
        assert response["Access-Control-Allow-Origin"] == "*"
        # Another client has its own budget.
        assert client.get(URL, REMOTE_ADDR="10.0.0.9").status_code == 200
        # The docs page and the OpenAPI document are not limited.
        assert client.get("/api/openapi.yml").status_code == 200
        # The next window starts a new count.
        clock.shift(44.5)
        response = client.get(URL)
        assert response.status_code == 200 and response["X-RateLimit-Remaining"] == "2"


def test_rate_limit_can_be_turned_off(
    seeded: dict[str, Package], client: Client, settings: Settings
) -> None:
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    for _ in range(5):
        response = client.get(URL)
        assert response.status_code == 200
        assert "X-RateLimit-Limit" not in response


def test_client_ip_without_proxies_ignores_forwarded_for(settings: Settings) -> None:
    settings.AXES_IPWARE_PROXY_COUNT = 0
    request = RequestFactory().get("/", REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert ratelimit.client_ip(request) == "10.1.1.1"


def test_client_ip_behind_proxies(settings: Settings) -> None:
    factory = RequestFactory()
    settings.AXES_IPWARE_PROXY_COUNT = 1
    request = factory.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    assert ratelimit.client_ip(request) == "203.0.113.7"  # a client cannot spoof the last hop
    settings.AXES_IPWARE_PROXY_COUNT = 2
    assert ratelimit.client_ip(request) == "6.6.6.6"
    settings.AXES_IPWARE_PROXY_COUNT = 3  # fewer entries than proxies: the peer
    assert ratelimit.client_ip(request) == "10.0.0.1"
    settings.AXES_IPWARE_PROXY_COUNT = 1
    bad = factory.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert ratelimit.client_ip(bad) == "10.0.0.1"


def test_rate_limit_keys_on_forwarded_client(
    seeded: dict[str, Package], client: Client, settings: Settings
) -> None:
    settings.API_RATE_LIMIT_PER_MINUTE = 1
    settings.AXES_IPWARE_PROXY_COUNT = 1
    with time_machine.travel(MINUTE, tick=False):  # all three in one window
        assert client.get(URL, headers={"X-Forwarded-For": "203.0.113.1"}).status_code == 200
        assert client.get(URL, headers={"X-Forwarded-For": "203.0.113.1"}).status_code == 429
        assert client.get(URL, headers={"X-Forwarded-For": "203.0.113.2"}).status_code == 200


@pytest.mark.redis
def test_rate_limit_on_redis_is_one_atomic_counter(
    seeded: dict[str, Package], client: Client, settings: Settings
) -> None:
    """On Redis the counter is INCR+EXPIRE in one pipeline, and it expires with its window."""
    import os

    import redis

    from tests.isolation import delete_prefixed

    settings.REDIS_URL = os.environ["REDIS_URL"]
    settings.CACHE_KEY_PREFIX = "pss-api-test"
    settings.API_RATE_LIMIT_PER_MINUTE = 2
    # A count left by an earlier run in this minute would start above zero.
    delete_prefixed(os.environ["REDIS_URL"], "pss-api-test")
    with time_machine.travel(MINUTE, tick=False):  # all three in one window
        statuses = [client.get(URL, REMOTE_ADDR="192.0.2.50").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    r = redis.Redis.from_url(os.environ["REDIS_URL"])
    keys = list(r.keys("pss-api-test:*api-rl:192.0.2.50:*"))
    assert len(keys) == 1
    assert r.get(keys[0]) == b"3"
    assert 0 < r.ttl(keys[0]) <= ratelimit.WINDOW_SECONDS + 5
    # Leave nothing behind in the shared database: the counter and the answers cached.
    delete_prefixed(os.environ["REDIS_URL"], "pss-api-test")
    assert not list(r.scan_iter(match="pss-api-test:*"))
