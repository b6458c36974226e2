"""No 500 from bad input (issue #13 item 1): NUL, lone surrogates, invalid UTF-8 and over-long
values in path segments, query values and form fields, on every URL pattern of the URLconf,
anonymous, signed in and as staff.

The URL patterns are read from the URLconf itself and the names tried in queries and forms from
the project's forms, templates and views, so a new page or field is covered without editing
this file. Bounded (a fixed sweep plus a few hundred generated requests) to stay a few seconds.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_from_bytes

import pytest
from django import forms
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.regex_helper import normalize
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pytest_django import Settings

from pypistats_site.input_guard import unusable
from tests.world import World

ROOT = Path(__file__).resolve().parents[2]
PROJECT_DIRS = ("packages_app", "watchlists", "pypistats_site", "templates")

# --- what to send ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One URL pattern as reverse() sees it: a %-format string and its parameters."""

    template: str
    params: tuple[str, ...]


def _walk(resolver: URLResolver, prefix: str = "", params: tuple[str, ...] = ()) -> Iterator[Route]:
    for pattern in resolver.url_patterns:
        template, names = normalize(pattern.pattern.regex.pattern)[0]
        route = Route(prefix + template, params + tuple(names))
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern, route.template, route.params)
        else:
            assert isinstance(pattern, URLPattern)
            yield route


ROUTES = sorted(set(_walk(get_resolver())), key=lambda r: r.template)


def _form_field_names() -> set[str]:
    """Every field of every form class the project (and the auth views it uses) defines."""
    import django.contrib.auth.forms  # noqa: F401 (their classes are subclasses below)

    import watchlists.forms  # noqa: F401
    import watchlists.notify.forms  # noqa: F401

    names: set[str] = set()
    todo: list[type[forms.BaseForm]] = [forms.Form, forms.ModelForm]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith(("packages_app", "watchlists", "django.contrib.auth")):
            names.update(getattr(cls, "base_fields", {}))
    return names


def _names_in_sources() -> set[str]:
    """Names the templates submit and the views read straight from GET/POST."""
    names: set[str] = set()
    html = re.compile(r'\bname="([A-Za-z_][\w-]*)"')
    py = re.compile(
        r"""\b(?:GET|POST)(?:\.get|\.getlist|\.__contains__)?[(\[]\s*["']([\w-]+)["']"""
    )
    for folder in PROJECT_DIRS:
        for path in (ROOT / folder).rglob("*"):
            if path.suffix == ".html":
                names.update(html.findall(path.read_text()))
            elif path.suffix == ".py" and "migrations" not in path.parts:
                names.update(py.findall(path.read_text()))
    return names


FIELD_NAMES = sorted(_form_field_names() | _names_in_sources() - {"csrfmiddlewaretoken"})

NASTY = [
    "\x00",
    "a\x00b",
    "\ud800",  # a lone surrogate (sent as its WTF-8 bytes: invalid UTF-8)
    "x" * 300,
    "\x00" * 200,
    "é" * 5000,
    "",
    "-1",
    "9" * 40,
    "2026-02-30",
    "../../etc/passwd",
    "%",
]


# Invalid UTF-8 (a surrogate's bytes, a stray continuation byte), then text longer than any
# field of this site takes.
LONG_AND_INVALID = b"\xed\xa0\x80\xff" + ("é" * 100 + "x" * 400).encode()


@functools.cache
def encode(value: str | bytes) -> str:
    """Percent-encoded bytes: text as UTF-8, lone surrogates kept as their raw bytes."""
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return quote_from_bytes(raw, safe="")


class Requests:
    """Builds URLs and bodies, with real path values (so the views run past their lookups)."""

    def __init__(self, world: World) -> None:
        team_list = world.team_list
        self.real: dict[str, list[str]] = {
            "uid": [str(world.team.uid), str(team_list.uid)],
            "token": [world.invitation.token, team_list.public_token or "x"],
            "name": ["requests", "__all__"],
            "endpoint": ["overall", "recent"],
            "period": ["week", "month"],
            "invitation_id": [str(world.invitation.pk)],
            "membership_id": [str(world.bob_membership.pk)],
            "object_id": [str(world.alice.pk)],
            "id": [str(world.alice.pk)],
            "app_label": ["watchlists"],
        }

    def real_value(self, param: str) -> str:
        return self.real.get(param, ["x"])[0]

    def path(self, route: Route, values: dict[str, str | bytes]) -> str:
        return "/" + route.template % {
            p: encode(values[p]) if p in values else quote(self.real_value(p), safe="")
            for p in route.params
        }


def body(fields: list[tuple[str, str | bytes]]) -> str:
    return "&".join(f"{encode(name)}={encode(value)}" for name, value in fields)


def send(
    client: Client, method: str, path: str, fields: list[tuple[str, str | bytes]], htmx: bool
) -> int:
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    if method == "GET":
        query = body(fields)
        response = client.get(f"{path}?{query}" if query else path, **extra)  # type: ignore[arg-type]
    else:
        response = client.post(
            path,
            body(fields),
            content_type="application/x-www-form-urlencoded",
            **extra,  # type: ignore[arg-type]
        )
    return response.status_code


# --- the world, three ways in ---------------------------------------------------------------


@pytest.fixture
def clients(world: World, settings: Settings) -> dict[str, Client]:
    settings.AXES_ENABLED = True  # the lockout's failure record is one of the things at stake
    staff = get_user_model().objects.create_superuser("root", "root@example.org", "pw")
    staff_client = Client()
    staff_client.force_login(staff)
    return {
        "anonymous": world.client_for("anonymous"),
        "alice": world.client_for("alice"),
        "staff": staff_client,
    }


def test_the_sweep_knows_the_site() -> None:
    """The URLconf and the field names were found (a broken walk would test nothing)."""
    templates = {route.template for route in ROUTES}
    assert {"search/", "accounts/signup/", "compare/save/", "invitations/%(token)s/"} <= templates
    assert "admin/watchlists/watchlist/%(object_id)s/change/" in templates
    assert {"q", "add", "name", "username", "password1", "email", "next"} <= set(FIELD_NAMES)


@pytest.mark.django_db
def test_every_route_with_bad_values_in_every_place_answers_without_5xx(
    world: World, clients: dict[str, Client]
) -> None:
    """Each URL pattern, as each user: a NUL in each path segment, then real path values with
    a NUL in every query value and every form field (refused with a 400 wherever it is, before
    any view), then with every query value and form field over-long and not UTF-8."""
    requests = Requests(world)
    for route, (who, client) in itertools.product(ROUTES, clients.items()):
        if route.template.startswith("admin/") and who != "staff":
            continue  # the admin sends anyone else to its login page, whatever they ask
        # The JSON API answers as upstream does (its own text 404/400), not the guard's 400.
        refused = range(400, 500) if route.template.startswith("api") else range(400, 401)
        for param in route.params:
            path = requests.path(route, {param: "a\x00"})
            assert send(client, "GET", path, [], htmx=False) in refused, (who, path)
        path = requests.path(route, {})
        nul: list[tuple[str, str | bytes]] = [(name, "a\x00b") for name in FIELD_NAMES]
        long: list[tuple[str, str | bytes]] = [(name, LONG_AND_INVALID) for name in FIELD_NAMES]
        for method in ("GET", "POST"):
            status = send(client, method, path, nul, htmx=False)
            assert status in refused or route.template.startswith("api"), (who, method, path)
            assert status < 500, (who, method, path)
            # Past the guard: over-long values holding invalid UTF-8, for the views' own
            # validation to answer.
            assert send(client, method, path, long, htmx=False) < 500, (who, method, path)


@pytest.mark.django_db
def test_the_reported_nul_endpoints_answer_a_clear_400(world: World) -> None:
    """The nine endpoints issue #13 found answering 500 to a NUL."""
    uid = world.team_list.uid
    for who in ("anonymous", "alice"):
        client = world.client_for(who)
        for url in (
            "/search/?q=%00",
            "/?q=%00",
            "/compare/suggest/?add=%00",
            "/compare/suggest/?q=%00",
            "/watchlists/shared/a%00/",
            "/invitations/a%00/",
            f"/watchlists/suggest/?watchlist={uid}&name=%00",
        ):
            response = client.get(url)
            assert response.status_code == 400, (who, url)
            assert response["Content-Type"] == "text/plain; charset=utf-8"
            assert b"NUL character" in response.content
        response = client.post("/compare/save/", {"name": "a\x00", "packages": "requests"})
        assert response.status_code == 400 and b"the form holds" in response.content


def test_the_guard_tells_nul_and_lone_surrogates_from_good_text() -> None:
    assert unusable("a\x00") and unusable("\ud800x") and unusable("é\udfff")
    assert not unusable("") and not unusable("pypistats") and not unusable("é ☃ \U0001f40d")


# Values: real ones, the nasty ones above, arbitrary text (lone surrogates included), raw bytes
# (invalid UTF-8), and long runs.
values = st.one_of(
    st.sampled_from(NASTY),
    st.sampled_from(["requests", "django", "30", "all", "day", "overall", "2026-11-01", "1"]),
    st.text(st.characters(exclude_categories=(), include_characters="\x00"), max_size=20),
    st.binary(max_size=20),
    st.builds(
        lambda c, n: c * n,
        st.sampled_from(["x", "\x00", "é", "-", "\ud800"]),
        st.integers(100, 3000),
    ),
)
# Half the draws on the site's own pages, half on the admin's (most of the patterns).
SITE_ROUTES = [route for route in ROUTES if not route.template.startswith("admin/")]
ADMIN_ROUTES = [route for route in ROUTES if route.template.startswith("admin/")]
requests_st = st.tuples(
    st.sampled_from(SITE_ROUTES) | st.sampled_from(ADMIN_ROUTES),
    st.sampled_from(["GET", "POST"]),
    st.dictionaries(
        st.sampled_from(["uid", "token", "name", "period", "endpoint", "object_id", "rest", "url"]),
        values,
        max_size=2,
    ),
    st.lists(st.tuples(st.sampled_from(FIELD_NAMES) | st.text(max_size=5), values), max_size=4),
    st.booleans(),
)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["anonymous", "alice", "staff"])
@hsettings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=requests_st)
def test_arbitrary_bytes_anywhere_never_answer_5xx(
    world: World,
    clients: dict[str, Client],
    who: str,
    drawn: tuple[Route, str, dict[str, str | bytes], list[tuple[str, str | bytes]], bool],
) -> None:
    route, method, path_values, fields, htmx = drawn
    path = Requests(world).path(route, {k: v for k, v in path_values.items() if k in route.params})
    status = send(clients[who], method, path, fields, htmx)
    assert status < 500, (who, method, path, fields)
