"""Pages and actions for digests and alerts: access per role, CSRF, bad input, unsubscribe links."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core import signing
from django.test import Client
from django.urls import reverse
from pytest_django import Settings

from tests.world import World, make_user
from watchlists.notify import digests
from watchlists.notify.models import (
    AlertRule,
    DeliveryAttempt,
    DigestSubscription,
    Notification,
    Webhook,
)

pytestmark = pytest.mark.django_db


def url(name: str, world: World, which: str = "team_list") -> str:
    return reverse(name, args=[getattr(world, which).uid])


# --- the section on the watchlist page and subscribing --------------------------------------


def test_watchlist_page_shows_the_digest_section(world: World) -> None:
    page = world.client_for("bob").get(url("watchlist_detail", world))
    html = page.content.decode()
    assert "Subscribe to the weekly digest" in html
    assert reverse("alert_settings", args=[world.team_list.uid]) in html
    assert reverse("delivery_log", args=[world.team_list.uid]) not in html  # bob is not an owner
    alice_html = world.client_for("alice").get(url("watchlist_detail", world)).content.decode()
    assert reverse("delivery_log", args=[world.team_list.uid]) in alice_html
    public = Client().get(reverse("watchlist_public", args=[world.team_list.public_token]))
    assert public.status_code == 200 and "weekly digest" not in public.content.decode()


def test_any_viewer_subscribes_and_unsubscribes_themselves(world: World) -> None:
    client = world.client_for("bob")
    response = client.post(url("digest_subscription", world), {"action": "subscribe"})
    assert response.status_code == 302
    assert DigestSubscription.objects.filter(user=world.bob, watchlist=world.team_list).exists()
    page = client.get(url("watchlist_detail", world)).content.decode()
    assert "You get this list's weekly digest" in page
    client.post(url("digest_subscription", world), {"action": "unsubscribe"})
    assert not DigestSubscription.objects.exists()


@pytest.mark.parametrize(
    ("who", "status"), [("charlie", 404), ("anonymous", 302)], ids=["outsider", "anonymous"]
)
def test_outsiders_cannot_subscribe(world: World, who: str, status: int) -> None:
    response = world.client_for(who).post(
        url("digest_subscription", world), {"action": "subscribe"}
    )
    assert response.status_code == status
    assert not DigestSubscription.objects.exists()


def test_subscribe_rejects_get_bad_input_and_missing_csrf(world: World) -> None:
    client = world.client_for("alice")
    assert client.get(url("digest_subscription", world)).status_code == 405
    assert client.post(url("digest_subscription", world), {"action": "explode"}).status_code == 400
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.alice)
    assert (
        strict.post(url("digest_subscription", world), {"action": "subscribe"}).status_code == 403
    )
    assert not DigestSubscription.objects.exists()


# --- alert rules and webhooks -----------------------------------------------------------------


@pytest.mark.parametrize(("who", "status"), [("alice", 200), ("bob", 200), ("charlie", 404)])
def test_alert_settings_page_for_editors_only(world: World, who: str, status: int) -> None:
    assert world.client_for(who).get(url("alert_settings", world)).status_code == status


def test_anonymous_is_sent_to_login(world: World) -> None:
    response = Client().get(url("alert_settings", world))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_editor_adds_and_removes_rules(world: World) -> None:
    client = world.client_for("bob")
    response = client.post(
        url("alert_rule_add", world),
        {"kind": "change", "change_pct": "25", "stale_days": "9", "email": "on"},
    )
    assert response.status_code == 302
    rule = AlertRule.objects.get()
    assert (rule.kind, rule.threshold, rule.email, rule.created_by) == (
        "change",
        25,
        True,
        world.bob,
    )
    client.post(url("alert_rule_add", world), {"kind": "milestone", "change_pct": "40"})
    assert AlertRule.objects.filter(kind="milestone", threshold=0).exists()
    client.post(url("alert_rule_add", world), {"kind": "stale", "stale_days": "9"})
    assert AlertRule.objects.filter(kind="stale", threshold=9).exists()
    page = client.get(url("alert_settings", world)).content.decode()
    assert "weekly change beyond ±25%" in page and "no new data for 9 days" in page
    # One field per meaning, no overloaded "N".
    assert 'name="change_pct"' in page and 'name="stale_days"' in page
    assert 'name="threshold"' not in page and ">N<" not in page
    assert client.post(url("alert_rule_delete", world), {"id": rule.pk}).status_code == 302
    assert not AlertRule.objects.filter(pk=rule.pk).exists()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"kind": "change"}, "Give a percentage from 1 to 1000."),
        # The days field does not stand in for the percentage.
        ({"kind": "change", "stale_days": "30"}, "Give a percentage from 1 to 1000."),
        ({"kind": "change", "change_pct": "5000"}, "less than or equal to 1000."),
        ({"kind": "stale", "stale_days": "0"}, "Ensure this value is greater than or equal to 1."),
        ({"kind": "stale", "stale_days": "999"}, "less than or equal to 365."),
        ({"kind": "stale", "change_pct": "10"}, "Give a number of days from 1 to 365."),
        ({"kind": "nonsense", "change_pct": "3"}, "Select a valid choice."),
        ({"kind": "change", "change_pct": "ten"}, "Enter a whole number."),
    ],
)
def test_bad_rules_get_form_errors(world: World, data: dict[str, str], error: str) -> None:
    response = world.client_for("alice").post(url("alert_rule_add", world), data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not AlertRule.objects.exists()


def test_outsider_cannot_touch_rules_or_webhooks(world: World) -> None:
    rule = AlertRule.objects.create(watchlist=world.team_list, kind="milestone")
    hook = Webhook.objects.create(watchlist=world.team_list, url="https://1.1.1.1/x")
    charlie = world.client_for("charlie")
    assert charlie.post(url("alert_rule_add", world), {"kind": "milestone"}).status_code == 404
    assert charlie.post(url("alert_rule_delete", world), {"id": rule.pk}).status_code == 404
    assert charlie.post(url("webhook_delete", world), {"id": hook.pk}).status_code == 404
    assert (
        charlie.post(
            url("webhook_add", world), {"url": "https://1.1.1.1/", "format": "generic"}
        ).status_code
        == 404
    )
    assert AlertRule.objects.count() == 1 and Webhook.objects.count() == 1


def test_a_rule_of_another_list_cannot_be_deleted_through_mine(world: World) -> None:
    theirs = AlertRule.objects.create(watchlist=world.other_list, kind="milestone")
    response = world.client_for("alice").post(url("alert_rule_delete", world), {"id": theirs.pk})
    assert response.status_code == 404
    assert AlertRule.objects.filter(pk=theirs.pk).exists()
    assert (
        world.client_for("alice").post(url("alert_rule_delete", world), {"id": "x"}).status_code
        == 400
    )


def test_webhook_form_validates_the_address(world: World, settings: Settings) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    client = world.client_for("alice")
    for bad, message in [
        ("http://127.0.0.1:9/hook", "private, loopback or reserved"),
        ("http://169.254.169.254/", "private, loopback or reserved"),
        ("ftp://1.1.1.1/x", "Only http:// and https:// URLs are allowed."),
        ("not a url", "Enter a valid URL."),
    ]:
        response = client.post(url("webhook_add", world), {"url": bad, "format": "slack"})
        assert response.status_code == 400, bad
        assert message in response.content.decode(), bad
    assert not Webhook.objects.exists()
    response = client.post(
        url("webhook_add", world), {"url": "https://1.1.1.1/hook", "format": "slack"}
    )
    assert response.status_code == 302
    hook = Webhook.objects.get()
    assert (hook.format, len(hook.secret)) == ("slack", 64)
    assert hook.secret in client.get(url("alert_settings", world)).content.decode()


def test_every_alert_action_needs_post_and_csrf(world: World) -> None:
    rule = AlertRule.objects.create(watchlist=world.team_list, kind="milestone")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.alice)
    for name, data in [
        ("alert_rule_add", {"kind": "milestone"}),
        ("alert_rule_delete", {"id": rule.pk}),
        ("webhook_add", {"url": "https://1.1.1.1/", "format": "generic"}),
    ]:
        assert strict.post(url(name, world), data).status_code == 403
        assert world.client_for("alice").get(url(name, world)).status_code == 405
    assert AlertRule.objects.count() == 1 and not Webhook.objects.exists()


# --- the delivery log ---------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "status"), [("alice", 200), ("bob", 403), ("charlie", 404)])
def test_delivery_log_is_for_the_owner_only(world: World, who: str, status: int) -> None:
    n = Notification.objects.create(
        kind="alert",
        channel="webhook",
        event="alert:1:1:x",
        destination="webhook:1",
        watchlist=world.team_list,
        subject="requests: downloads up 80% in the last 7 days",
        state="failed",
    )
    DeliveryAttempt.objects.create(
        notification=n, attempt=1, channel="webhook", status_code=500, error="HTTP error 500"
    )
    response = world.client_for(who).get(url("delivery_log", world))
    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert "requests: downloads up 80%" in html and "HTTP 500" in html


def test_delivery_log_in_the_admin(world: World) -> None:
    admin_user = get_user_model().objects.create_superuser(
        "root", "root@example.org", "pw-root-1234"
    )
    Notification.objects.create(
        kind="digest",
        channel="email",
        event="digest:1:2026-W47",
        destination="user:1",
        watchlist=world.team_list,
        subject="Team list: downloads in week 2026-W47",
        state="sent",
    )
    client = Client()
    client.force_login(admin_user)
    page = client.get("/admin/watchlists/notification/")
    assert page.status_code == 200 and "2026-W47" in page.content.decode()
    assert client.get("/admin/watchlists/webhook/").status_code == 200
    assert client.get("/admin/watchlists/alertrule/").status_code == 200


# --- unsubscribe links ------------------------------------------------------------------------


def test_unsubscribe_link_works_signed_out_and_get_never_writes(world: World) -> None:
    sub = DigestSubscription.objects.create(watchlist=world.team_list, user=world.alice)
    link = reverse("digest_unsubscribe", args=[digests.unsubscribe_token(sub)])
    anonymous = Client(enforce_csrf_checks=True)  # a mail client's one-click POST has no cookie
    page = anonymous.get(link)
    assert (
        page.status_code == 200
        and "Stop the weekly digest of <strong>Team list</strong>" in page.content.decode()
    )
    assert DigestSubscription.objects.filter(pk=sub.pk).exists()
    done = anonymous.post(link, {"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "You are unsubscribed" in done.content.decode()
    assert not DigestSubscription.objects.filter(pk=sub.pk).exists()
    again = anonymous.post(link)
    assert again.status_code == 200 and "already unsubscribed" in again.content.decode()


def test_tampered_unsubscribe_links_are_refused(world: World) -> None:
    sub = DigestSubscription.objects.create(watchlist=world.team_list, user=world.alice)
    token = digests.unsubscribe_token(sub)
    head, sig = token.rsplit(":", 1)
    tampered = [
        head + ":" + ("A" if sig[0] != "A" else "B") + sig[1:],
        token[:-3],
        "garbage",
        signing.dumps({"s": sub.pk, "u": world.alice.pk}, salt="another-salt"),
        signing.dumps(
            {"s": sub.pk, "u": world.alice.pk},
            key="not-the-site-key",
            salt=digests.UNSUBSCRIBE_SALT,
        ),
    ]
    for bad in tampered:
        response = Client().post(reverse("digest_unsubscribe", args=[bad]))
        assert response.status_code == 400, bad
        assert "not valid" in response.content.decode()
    assert DigestSubscription.objects.filter(pk=sub.pk).exists()


def test_an_unsubscribe_link_cannot_remove_another_users_subscription(world: World) -> None:
    mine = DigestSubscription.objects.create(watchlist=world.team_list, user=world.bob)
    alices = DigestSubscription.objects.create(watchlist=world.team_list, user=world.alice)
    # Bob's valid token names bob's subscription only; a token pairing alice's
    # subscription with bob's id (even if it were signed) does not match anything.
    crossed = signing.dumps({"s": alices.pk, "u": world.bob.pk}, salt=digests.UNSUBSCRIBE_SALT)
    response = Client().post(reverse("digest_unsubscribe", args=[crossed]))
    assert response.status_code == 200 and "already unsubscribed" in response.content.decode()
    assert DigestSubscription.objects.filter(pk=alices.pk).exists()
    # Swapping the ids inside bob's own token breaks its signature.
    token = digests.unsubscribe_token(mine)
    payload, rest = token.split(":", 1)
    forged_payload = signing.b64_encode(
        f'{{"s":{alices.pk},"u":{world.alice.pk}}}'.encode()
    ).decode()
    forged = f"{forged_payload}:{rest}"
    assert Client().post(reverse("digest_unsubscribe", args=[forged])).status_code == 400
    assert DigestSubscription.objects.filter(pk=alices.pk).exists()
    assert Client().post(reverse("digest_unsubscribe", args=[token])).status_code == 200
    assert not DigestSubscription.objects.filter(pk=mine.pk).exists()


def test_a_new_user_gets_a_distinct_token(world: World) -> None:
    dave = make_user("dave")
    a = DigestSubscription.objects.create(watchlist=world.private_list, user=world.alice)
    b = DigestSubscription.objects.create(watchlist=world.team_list, user=dave)
    assert digests.unsubscribe_token(a) != digests.unsubscribe_token(b)
    assert digests.read_unsubscribe_token(digests.unsubscribe_token(b)) == (b.pk, dave.pk)
