"""Every view in the URLconf, walked: none accepts a state-changing request without a CSRF
token, and none writes to the database on GET.

The walk is over the resolver itself (admin included), so a view added later is checked
without anyone listing it here. The caller is alice, made a superuser and staff, owner of
the team whose objects fill the URLs: a refusal is CSRF's, not a missing permission's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.world import World

UNSAFE = ("post", "put", "patch", "delete")
WRITES = ("INSERT", "UPDATE", "DELETE")
# csrf_exempt views, each with why it is safe; any other exempt view fails the walk.
EXEMPT = {
    # RFC 8058 one-click unsubscribe: mail clients POST without cookies; the signed token
    # in the URL is the credential (docs/decisions.md).
    "digest_unsubscribe": {"post"},
    # The compatible JSON API: GET/HEAD/OPTIONS only, so nothing to protect.
    "api:endpoint": set(),
    "api:not-found": set(),
    # Its extended endpoints (/api/ext/, issue #16): GET/HEAD/OPTIONS only, the same.
    "api:ext-breakdown": set(),
}


@dataclass
class Route:
    name: str  # namespaced, e.g. "admin:auth_user_change"
    pattern: URLPattern
    kwargs: list[str]


def routes() -> Iterator[Route]:
    def walk(patterns: list[Any], namespace: str, groups: list[str]) -> Iterator[Route]:
        for entry in patterns:
            found = _groups(entry)
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                yield from walk(entry.url_patterns, inner, groups + found)
            elif entry.name:
                yield Route(f"{namespace}{entry.name}", entry, groups + found)

    yield from walk(get_resolver().url_patterns, "", [])


def _groups(entry: URLPattern | URLResolver) -> list[str]:
    converters = getattr(entry.pattern, "converters", None)
    if converters:
        return list(converters)
    return list(entry.pattern.regex.groupindex)


def sample(route: Route, key: str, world: World) -> str:
    """A value for a URL argument: the world's own objects where the name says which."""
    name = route.name
    regex = route.pattern.pattern.regex.pattern
    choice = re.search(rf"\(\?P<{key}>([\w-]+)[|)]", regex)
    if choice:  # an alternation such as the admin's app_label or the API's endpoints
        return choice.group(1)
    values = {
        "membership_id": str(world.bob_membership.pk),
        "invitation_id": str(world.invitation.pk),
        "name": "requests",
        "period": "month",
        "object_id": "1",
        "content_type_id": "1",
    }
    if key == "uid":
        return str(
            world.team.uid
            if name.startswith(("team", "member", "invitation_"))
            else world.team_list.uid
        )
    if key == "token":
        if name == "invitation":
            return world.invitation.token
        if name == "watchlist_public":
            return str(world.team_list.public_token)
        return "not-a-token"
    return values.get(key, "x")


def url_of(route: Route, world: World) -> str:
    kwargs = {key: sample(route, key, world) for key in route.kwargs}
    return reverse(route.name, kwargs=kwargs)


@pytest.fixture
def admin_alice(world: World) -> Client:
    world.alice.is_superuser = world.alice.is_staff = True
    world.alice.save(update_fields=["is_superuser", "is_staff"])
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.alice)
    return client


def data_writes(queries: CaptureQueriesContext) -> list[str]:
    """Statements that wrote application data (the session row is not data)."""
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(WRITES) and "django_session" not in q["sql"]
    ]


def test_the_walk_reaches_every_part_of_the_site(world: World) -> None:
    names = {route.name for route in routes()}
    assert {
        "watchlist_delete",
        "webhook_delete",
        "email_change",
        "password_change",
        "logout",
    } <= names
    assert {"admin:index", "admin:auth_user_change", "api:endpoint", "digest_unsubscribe"} <= names
    assert len(names) > 150


def test_no_view_accepts_a_state_changing_request_without_csrf(
    world: World, admin_alice: Client
) -> None:
    accepted = []
    for route in routes():
        url = url_of(route, world)
        exempt = getattr(route.pattern.callback, "csrf_exempt", False)
        if exempt:
            assert route.name in EXEMPT, f"{route.name} is csrf_exempt without a reason here"
        # CsrfViewMiddleware treats every unsafe method alike: two of them prove a
        # protected view; an exempt one gets all four.
        for method in UNSAFE if exempt else ("post", "delete"):
            with CaptureQueriesContext(connection) as queries:
                response = getattr(admin_alice, method)(url)
            refused_by_csrf = response.status_code == 403 and b"CSRF" in response.content
            if exempt and method in EXEMPT[route.name]:
                continue  # allowed, for the reason given in EXEMPT
            if exempt:
                # Refused for the method (405), or the API's 404 for any unknown path.
                ok = response.status_code in (404, 405) and not data_writes(queries)
            else:
                ok = refused_by_csrf and not data_writes(queries)
            if not ok:
                accepted.append(f"{method.upper()} {url} ({route.name}): {response.status_code}")
    assert accepted == []


def test_no_view_writes_on_get(world: World, admin_alice: Client) -> None:
    writers = []
    for route in routes():
        url = url_of(route, world)
        with CaptureQueriesContext(connection) as queries:
            response = admin_alice.get(url)
        assert response.status_code < 500, f"GET {url}: {response.status_code}"
        if data_writes(queries):
            writers.append(f"GET {url} ({route.name}): {data_writes(queries)}")
    assert writers == []
