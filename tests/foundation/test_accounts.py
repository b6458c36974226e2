"""The account basics: sign up, log in and out, password change and reset by email."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

User = get_user_model()
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def alice(db: None) -> object:
    return User.objects.create_user("alice", "alice@example.org", PASSWORD)


@pytest.mark.django_db
def test_signup_creates_the_account_and_logs_in(client: Client) -> None:
    response = client.post(
        "/accounts/signup/",
        {
            "username": "bob",
            "email": "bob@example.org",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="bob")
    assert user.email == "bob@example.org"
    assert client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "error"),
    [
        (
            {
                "username": "bob",
                "email": "bob@example.org",
                "password1": "short",
                "password2": "short",
            },
            "too short",
        ),
        (
            {
                "username": "bob",
                "email": "bob@example.org",
                "password1": PASSWORD,
                "password2": PASSWORD + "x",
            },
            "didn",
        ),
        (
            {
                "username": "bob",
                "email": "not-an-email",
                "password1": PASSWORD,
                "password2": PASSWORD,
            },
            "valid email",
        ),
        (
            {"username": "bob", "email": "", "password1": PASSWORD, "password2": PASSWORD},
            "required",
        ),
    ],
)
def test_signup_errors_are_form_errors(client: Client, data: dict[str, str], error: str) -> None:
    response = client.post("/accounts/signup/", data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not User.objects.filter(username="bob").exists()


def test_signup_refuses_a_taken_email(client: Client, alice: object) -> None:
    response = client.post(
        "/accounts/signup/",
        {
            "username": "bob",
            "email": "ALICE@example.org",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()


def test_login_and_logout(client: Client, alice: object) -> None:
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert "_auth_user_id" in client.session
    assert client.get("/accounts/logout/").status_code == 405  # logging out is a POST
    assert client.post("/accounts/logout/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_a_wrong_password_is_a_form_error(client: Client, alice: object) -> None:
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_password_change_needs_login_then_works(client: Client, alice: object) -> None:
    assert client.get("/accounts/password_change/").status_code == 302
    client.login(username="alice", password=PASSWORD)
    new = "another-long-passphrase"
    response = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    assert User.objects.get(username="alice").check_password(new)


def test_password_reset_by_email(client: Client, alice: object, eager_celery: None) -> None:
    response = client.post("/accounts/password_reset/", {"email": "alice@example.org"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", str(mail.outbox[0].body))
    assert link is not None
    page = client.get(link.group(1), follow=True)
    assert page.status_code == 200 and "Set a new password" in page.content.decode()
    new = "reset-long-passphrase"
    done = client.post(page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done.status_code == 302
    assert User.objects.get(username="alice").check_password(new)


def test_password_reset_does_not_reveal_unknown_addresses(
    client: Client, alice: object, eager_celery: None
) -> None:
    response = client.post("/accounts/password_reset/", {"email": "nobody@example.org"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_state_changes_need_the_csrf_token(alice: object) -> None:
    client = Client(enforce_csrf_checks=True)
    assert (
        client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code
        == 403
    )
    assert client.post("/accounts/signup/", {"username": "x"}).status_code == 403
