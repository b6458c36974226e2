"""Accounts: sign-up, log-in lockout, session rotation and end, password reset, profile."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from kombu.exceptions import OperationalError
from pytest_django import Settings

from tests.world import PASSWORD, World
from watchlists.tasks import send_password_reset


def test_signup_logs_in_and_honours_a_safe_next(db: None) -> None:
    client = Client()
    data = {
        "username": "erin",
        "email": "erin@example.org",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    response = client.post(reverse("signup") + "?next=/teams/", {**data, "next": "/teams/"})
    assert response.status_code == 302 and response["Location"] == "/teams/"
    assert client.get(reverse("dashboard")).status_code == 200
    # An off-site next is ignored (no open redirect).
    other = Client()
    data = {
        "username": "frank",
        "email": "frank@example.org",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    response = other.post(reverse("signup"), {**data, "next": "https://evil.example/"})
    assert response["Location"] == reverse("dashboard")


@pytest.mark.parametrize(
    "target",
    [
        "foo",
        "dashboard",
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example/",
        "javascript:x",
    ],
)
def test_signup_follows_only_a_local_path_and_keeps_account_and_session(
    db: None, target: str
) -> None:
    """`?next=foo` answered 500 (redirect() took it for a URL name), after saving the account
    but before saving the session. Only "/..." paths on this site are followed."""
    client = Client()
    response = client.get(reverse("signup"), {"next": target})
    assert response.status_code == 200
    data = {
        "username": "erin",
        "email": "erin@example.org",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "next": target,
    }
    response = client.post(reverse("signup") + "?" + urlencode({"next": target}), data)
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    user = get_user_model().objects.get(username="erin")
    # The session was saved: the next request is signed in as erin.
    assert client.get(reverse("dashboard")).status_code == 200
    assert client.session["_auth_user_id"] == str(user.pk)
    # Signed in, the signup page sends on to the same safe place.
    response = client.get(reverse("signup"), {"next": target})
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    response = client.get(reverse("signup"), {"next": "/teams/?x=1"})
    assert response.status_code == 302 and response["Location"] == "/teams/?x=1"


def test_an_over_long_login_name_is_a_failed_login_not_a_500(
    world: World, settings: Settings
) -> None:
    """django-axes records failures in a varchar(255): a longer name overflowed it."""
    settings.AXES_ENABLED = True
    client = Client(REMOTE_ADDR="203.0.113.10")
    long_name = "x" * 300
    response = client.post(reverse("login"), {"username": long_name, "password": "wrong"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    attempt = AccessAttempt.objects.get(ip_address="203.0.113.10")
    assert attempt.username == long_name[:255] and attempt.failures_since_start == 1
    # It counts towards the lockout like any name (and locks out only itself).
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(reverse("login"), {"username": long_name, "password": "wrong"})
    assert response.status_code == 429
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302


def test_signup_rejects_weak_password_and_duplicate_email(world: World) -> None:
    response = Client().post(
        reverse("signup"),
        {
            "username": "gina",
            "email": "ALICE@example.org",
            "password1": "password",
            "password2": "password",
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "already exists" in body and "too common" in body
    assert not get_user_model().objects.filter(username="gina").exists()


def test_login_rotates_the_session_and_lands_on_the_dashboard(world: World) -> None:
    client = Client()
    client.get(reverse("login"))
    client.session.save()
    before = client.session.session_key
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    assert client.session.session_key != before  # no session fixation


def test_logout_ends_the_session_server_side(world: World) -> None:
    from django.contrib.sessions.models import Session

    client = Client()
    client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    key = client.session.session_key or ""
    assert Session.objects.filter(session_key=key).exists()
    client.post(reverse("logout"))
    assert not Session.objects.filter(session_key=key).exists()
    # A stolen copy of the old cookie is worthless.
    thief = Client()
    thief.cookies["sessionid"] = key
    response = thief.get(reverse("dashboard"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_lockout_after_repeated_failures(world: World, settings: Settings) -> None:
    settings.AXES_ENABLED = True
    client = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
        assert response.status_code == 200
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 429
    assert b"Too many failed log-in attempts" in response.content
    assert b"Try again in 15 minutes" in response.content
    # Locked even with the right password, from this address...
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429 and "_auth_user_id" not in client.session
    # ...but (username, IP) pairs are locked, so alice can still log in from elsewhere.
    elsewhere = Client(REMOTE_ADDR="198.51.100.7")
    response = elsewhere.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302


def test_password_reset_by_email(world: World, eager_celery: None) -> None:
    client = Client()
    client.post(reverse("password_reset"), {"email": "alice@example.org"})
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", str(mail.outbox[0].body))
    assert link
    response = client.get(link.group(1), follow=True)
    assert response.status_code == 200
    new = "another long passphrase 42"
    response = client.post(
        response.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    assert Client().login(username="alice", password=new)
    # Unknown addresses get the same answer and no email.
    client.post(reverse("password_reset"), {"email": "nobody@example.org"})
    assert len(mail.outbox) == 1


def test_password_change(world: World) -> None:
    client = world.client_for("bob")
    new = "a brand new passphrase 7"
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    assert Client().login(username="bob", password=new)


def test_profile_and_email_change_needs_the_password(world: World) -> None:
    client = world.client_for("bob")
    page = client.get(reverse("profile")).content.decode()
    assert (
        "bob@example.org" in page
        and "Alice&#x27;s team" in page
        and reverse("password_change") in page
    )
    response = client.post(
        reverse("email_change"), {"email": "bob2@example.org", "password": "nope"}
    )
    assert response.status_code == 400 and b"not your current password" in response.content
    response = client.post(
        reverse("email_change"), {"email": "alice@example.org", "password": PASSWORD}
    )
    assert response.status_code == 400 and b"already exists" in response.content
    response = client.post(
        reverse("email_change"), {"email": "bob2@example.org", "password": PASSWORD}
    )
    assert response.status_code == 302
    world.bob.refresh_from_db()
    assert world.bob.email == "bob2@example.org"
    assert Client().get(reverse("profile")).status_code == 302
    assert client.get(reverse("email_change")).status_code == 405


def test_production_cookie_settings() -> None:
    """The HTTPS block of settings, read with HTTPS on (tests run with it off)."""
    import os
    import subprocess
    import sys

    code = (
        "import django,os;os.environ['DJANGO_SETTINGS_MODULE']='pypistats_site.settings';"
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME,"
        " s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE, s.CSRF_COOKIE_HTTPONLY)"
    )
    env = {**os.environ, "HTTPS": "1", "DEBUG": "0"}
    env.pop("DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == [
        "True",
        "True",
        "__Host-sessionid",
        "__Host-csrftoken",
        "True",
        "Lax",
        "True",
    ]


def test_nav_links_for_signed_in_users(world: World) -> None:
    body = world.client_for("bob").get(reverse("dashboard")).content.decode()
    for name in ("dashboard", "watchlist_list", "team_list", "profile"):
        assert f'href="{reverse(name)}"' in body


def test_password_change_ends_other_sessions(world: World) -> None:
    laptop, phone = Client(), Client()
    laptop.post(reverse("login"), {"username": "bob", "password": PASSWORD})
    phone.post(reverse("login"), {"username": "bob", "password": PASSWORD})
    new = "a brand new passphrase 9"
    laptop.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert laptop.get(reverse("dashboard")).status_code == 200  # kept (session hash updated)
    assert phone.get(reverse("dashboard")).status_code == 302  # the other session is over


def test_disabled_account_is_signed_out_at_once(world: World) -> None:
    client = Client()
    client.post(reverse("login"), {"username": "bob", "password": PASSWORD})
    assert client.get(reverse("dashboard")).status_code == 200
    get_user_model().objects.filter(pk=world.bob.pk).update(is_active=False)
    assert client.get(reverse("dashboard")).status_code == 302
    assert client.get(reverse("watchlist_detail", args=[world.team_list.uid])).status_code == 302


def test_password_reset_takes_the_same_path_whether_the_address_exists(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request only hands the address to a task: no user lookup, no token, no mail in the
    request, the same queries and the same answer for a known and an unknown address. The
    task then sends the mail for the known one only."""
    queued: list[tuple[str, str, bool]] = []

    def enqueue(email: str, domain: str, use_https: bool) -> None:
        queued.append((email, domain, use_https))

    monkeypatch.setattr(send_password_reset, "delay", enqueue)
    seen = []
    for email in ("alice@example.org", "nobody@example.org"):
        client = Client()
        with CaptureQueriesContext(connection) as queries:
            response = client.post(reverse("password_reset"), {"email": email})
        seen.append((response.status_code, response["Location"], [q["sql"] for q in queries]))
    assert seen[0] == seen[1]
    assert seen[0][:2] == (302, reverse("password_reset_done"))
    assert not any("auth_user" in sql for sql in seen[0][2])
    assert mail.outbox == []
    assert queued == [
        ("alice@example.org", "testserver", False),
        ("nobody@example.org", "testserver", False),
    ]
    # What the worker does with them: one mail, to the account that exists.
    for args in queued:
        send_password_reset(*args)
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]
    assert "http://testserver/accounts/reset/" in str(mail.outbox[0].body)


@pytest.mark.redis
@pytest.mark.parametrize("form", ["signup", "password_reset"])
def test_signup_and_password_reset_are_limited_per_ip(
    world: World, settings: Settings, form: str, eager_celery: None
) -> None:
    settings.SIGNUP_LIMIT_PER_IP_PER_HOUR = 3
    settings.PASSWORD_RESET_LIMIT_PER_IP_PER_HOUR = 3

    def submit(client: Client, n: int) -> HttpResponse:
        if form == "signup":
            data = {
                "username": f"user{n}",
                "email": f"user{n}@example.org",
                "password1": PASSWORD,
                "password2": PASSWORD,
            }
        else:
            data = {"email": "alice@example.org"}
        return client.post(reverse(form), data)  # type: ignore[return-value]

    client = Client(REMOTE_ADDR="203.0.113.20")
    for n in range(3):
        assert submit(client, n).status_code == 302
        client.logout()
    users = get_user_model().objects.count()
    response = submit(client, 3)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600
    assert "Too many attempts from your network address" in response.content.decode()
    # Refused before the form is looked at: nothing created, nothing sent, nothing told.
    assert get_user_model().objects.count() == users
    assert "already exists" not in response.content.decode()
    assert len(mail.outbox) == (3 if form == "password_reset" else 0)
    # Reading the form is not an attempt; another address has its own budget.
    assert client.get(reverse(form)).status_code == 200
    assert submit(Client(REMOTE_ADDR="198.51.100.20"), 4).status_code == 302


def test_password_reset_with_the_broker_down_says_so_for_every_address(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Publishing fails as kombu reports a broker it cannot reach."""

    def unreachable(*args: object) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(send_password_reset, "delay", unreachable)
    answers = []
    for email in ("alice@example.org", "nobody@example.org"):
        response = Client().post(reverse("password_reset"), {"email": email})
        answers.append(
            (response.status_code, "cannot send email right now" in response.content.decode())
        )
    assert answers == [(503, True), (503, True)]
    assert mail.outbox == []
