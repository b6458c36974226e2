"""Webhooks: a real receiver on loopback checks the HMAC signatures and payload formats;
a failing receiver gets retries with backoff, then a recorded failure; the SSRF guard."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TypedDict, cast

import pytest
import time_machine
from django.core import mail
from pytest_django import Settings

from tests.watchlists.notify.helpers import make_package, weekday_pattern
from tests.world import World
from watchlists.models import WatchlistEntry
from watchlists.notify import alerts, webhooks
from watchlists.notify import services as notify_services
from watchlists.notify import tasks as notify_tasks
from watchlists.notify.models import AlertRule, DeliveryAttempt, Notification, Webhook

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
END = dt.date(2026, 11, 23)


class Post(TypedDict):
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    status: int = 200
    posts: list[Post] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.posts.append({"path": self.path, "headers": dict(self.headers), "body": body})
            self.send_response(state.status)
            if 300 <= state.status < 400:
                self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # shutdown() waits for the next poll of its flag: 0.5 s by default, at every teardown.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def firing_world(world: World, settings: Settings) -> World:
    """The team list holds one package whose last 7 days doubled; one change rule (no email)."""
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # the receiver is on loopback
    pattern = weekday_pattern(1000)
    pkg = make_package(
        "jumper",
        dt.date(2026, 9, 1),
        END,
        lambda d: pattern(d) * 2 if d > END - dt.timedelta(days=7) else pattern(d),
    )
    WatchlistEntry.objects.filter(watchlist=world.team_list).delete()
    WatchlistEntry.objects.create(watchlist=world.team_list, package=pkg)
    AlertRule.objects.create(
        watchlist=world.team_list, kind="change", threshold=50, email=False, created_by=world.alice
    )
    return world


@pytest.mark.django_db
def test_signed_posts_in_three_formats_reach_the_receiver(
    firing_world: World, receiver: Receiver
) -> None:
    hooks = {
        fmt: Webhook.objects.create(
            watchlist=firing_world.team_list, url=f"{receiver.url}/{fmt}", format=fmt
        )
        for fmt in ("generic", "slack", "discord")
    }
    with time_machine.travel(NOW, tick=False):
        alerts.alerts_send()
        alerts.alerts_send()  # once only
    assert mail.outbox == []
    assert sorted(p["path"] for p in receiver.posts) == [
        "/hook/discord",
        "/hook/generic",
        "/hook/slack",
    ]
    for post in receiver.posts:
        fmt = post["path"].rsplit("/", 1)[1]
        headers = post["headers"]
        secret = hooks[fmt].secret
        # The receiver's check: HMAC-SHA256 over the timestamp and the exact raw body bytes,
        # as our verify() and the snippet in docs/webhooks.md both do it.
        stamp, signed = headers["X-Pypistats-Timestamp"], headers["X-Pypistats-Signature"]
        assert stamp.isdigit()
        sent_at = int(stamp)
        for check in (webhooks.verify, documented_verify()):
            with time_machine.travel(sent_at + 60, tick=False):
                assert check(secret, post["body"], stamp, signed)
                assert not check("another secret", post["body"], stamp, signed)
                assert not check(secret, post["body"] + b" ", stamp, signed)
                # A replay with a fresh timestamp: the signature no longer matches.
                assert not check(secret, post["body"], str(sent_at + 59), signed)
            # The same post replayed later than the tolerance: refused.
            with time_machine.travel(sent_at + 301, tick=False):
                assert not check(secret, post["body"], stamp, signed)
        assert headers["Content-Type"] == "application/json"
        body = json.loads(post["body"])
        if fmt == "slack":
            assert set(body) == {"text"} and "jumper: downloads up 100%" in body["text"]
        elif fmt == "discord":
            assert set(body) == {"content"} and "jumper" in body["content"]
        else:
            assert body["event"] == "alert" and body["kind"] == "change"
            assert body["data"]["package"] == "jumper" and body["data"]["change_pct"] == 100.0
            assert body["url"].endswith("/packages/jumper/")
    assert Notification.objects.filter(state="sent", channel="webhook").count() == 3
    assert DeliveryAttempt.objects.filter(ok=True, status_code=200).count() == 3


@pytest.mark.django_db
def test_a_failing_receiver_makes_the_task_ask_for_growing_countdowns_then_gives_up(
    firing_world: World, receiver: Receiver, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.NOTIFY_MAX_ATTEMPTS = 5
    receiver.status = 500
    Webhook.objects.create(watchlist=firing_world.team_list, url=receiver.url)
    countdowns: list[int] = []

    class Retry(Exception):
        pass

    def fake_retry(*, countdown: int, **kwargs: object) -> Retry:
        # Celery's retry re-publishes with this countdown; record it instead of waiting.
        countdowns.append(countdown)
        return Retry()

    monkeypatch.setattr(notify_tasks.deliver_notification, "retry", fake_retry)
    with time_machine.travel(NOW, tick=False) as traveller:
        plan = alerts.alerts_claim()
        (nid,) = plan.claimed
        for _ in range(4):
            with pytest.raises(Retry):
                notify_tasks.deliver_notification.run(nid)
            traveller.shift(dt.timedelta(seconds=countdowns[-1] + 1))
        assert notify_tasks.deliver_notification.run(nid) == "dead"
        # The sweep does not pick a dead row up again.
        assert nid not in notify_services.due_notification_ids()
    assert countdowns == [30, 120, 300, 600]
    assert max(countdowns) < 3600  # below the broker's visibility timeout
    n = Notification.objects.get(pk=nid)
    assert (n.state, n.attempts, n.last_error) == ("dead", 5, "HTTP error 500")
    attempts = DeliveryAttempt.objects.filter(notification=n).order_by("attempt")
    assert [(a.attempt, a.status_code, a.ok) for a in attempts] == [
        (i, 500, False) for i in range(1, 6)
    ]
    assert len(receiver.posts) == 5


@pytest.mark.django_db
def test_a_receiver_that_recovers_gets_the_post_once(
    firing_world: World, receiver: Receiver
) -> None:
    receiver.status = 503
    Webhook.objects.create(watchlist=firing_world.team_list, url=receiver.url)
    with time_machine.travel(NOW, tick=False) as traveller:
        (nid,) = alerts.alerts_claim().claimed
        assert notify_services.notification_deliver(nid).state == "failed"
        receiver.status = 200
        traveller.shift(dt.timedelta(seconds=31))
        assert notify_services.due_notification_ids() == [nid]
        assert notify_services.notification_deliver(nid).state == "sent"
        assert notify_services.notification_deliver(nid).state == "sent"
    assert len(receiver.posts) == 2
    first, retry = receiver.posts
    assert retry["body"] == first["body"]  # the retry sends the very same bytes...
    # ...signed with the time it was sent, so that a receiver's replay window still holds it.
    assert int(retry["headers"]["X-Pypistats-Timestamp"]) == (
        int(first["headers"]["X-Pypistats-Timestamp"]) + 31
    )
    secret = Webhook.objects.get().secret
    with time_machine.travel(NOW + dt.timedelta(seconds=31), tick=False):
        for post in receiver.posts:
            headers = post["headers"]
            assert webhooks.verify(
                secret,
                post["body"],
                headers["X-Pypistats-Timestamp"],
                headers["X-Pypistats-Signature"],
            )


@pytest.mark.django_db
def test_redirects_are_not_followed(firing_world: World, receiver: Receiver) -> None:
    receiver.status = 302
    Webhook.objects.create(watchlist=firing_world.team_list, url=receiver.url)
    with time_machine.travel(NOW, tick=False):
        (nid,) = alerts.alerts_claim().claimed
        notify_services.notification_deliver(nid)
    attempt = DeliveryAttempt.objects.get()
    assert (attempt.ok, attempt.status_code, attempt.error) == (
        False,
        302,
        "redirect not followed 302",
    )
    assert len(receiver.posts) == 1


# --- SSRF guard ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",
        # IPv6 addresses that wrap a non-global IPv4 (a relay or gateway would reach it):
        "http://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
        "http://[2002:a9fe:a9fe::1]/hook",  # 6to4 of 169.254.169.254
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook",  # Teredo, client 127.0.0.1
        "http://[64:ff9b::7f00:1]/hook",  # NAT64 of 127.0.0.1
        "http://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
        "http://[64:ff9b:1::808:808]/hook",  # NAT64 local-use prefix: never global
        "http://[::ffff:a9fe:a9fe]/hook",  # IPv4-mapped 169.254.169.254
        "http://[::127.0.0.1]/hook",  # IPv4-compatible 127.0.0.1
        "http://[::a00:1]/hook",  # IPv4-compatible 10.0.0.1
    ],
)
def test_private_and_loopback_addresses_are_refused(url: str, settings: Settings) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    with pytest.raises(webhooks.UnsafeURL):
        webhooks.resolve_checked(url)


@pytest.mark.parametrize(
    "url",
    ["ftp://example.org/x", "file:///etc/passwd", "javascript:alert(1)", "http://user:pw@1.1.1.1/"],
)
def test_other_schemes_and_credentials_are_refused(url: str, settings: Settings) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    with pytest.raises(webhooks.UnsafeURL):
        webhooks.resolve_checked(url)


@pytest.mark.parametrize(
    "address",
    [
        "1.1.1.1",
        "2606:4700:4700::1111",
        "2002:808:808::1",  # 6to4 of a public address
        "64:ff9b::808:808",  # NAT64 of a public address (what DNS64 answers on IPv6-only hosts)
        "::ffff:8.8.8.8",
    ],
)
def test_public_addresses_pass(address: str, settings: Settings) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    host = f"[{address}]" if ":" in address else address
    assert webhooks.resolve_checked(f"https://{host}/hook")[2] == [address]


def documented_verify() -> Callable[[str, bytes, str, str], bool]:
    """The receiver's check exactly as docs/webhooks.md shows it, run from the document."""
    text = (Path(__file__).resolve().parents[3] / "docs" / "webhooks.md").read_text()
    block = re.search(r"<!-- verify-snippet:[^>]*-->\n```python\n(.*?)```", text, re.S)
    assert block is not None, "docs/webhooks.md lost its verification snippet"
    namespace: dict[str, object] = {}
    exec(compile(block[1], "docs/webhooks.md", "exec"), namespace)
    check = namespace["verify_pypistats_webhook"]
    assert callable(check)
    return cast(Callable[[str, bytes, str, str], bool], check)


def test_a_name_resolving_to_a_private_address_is_refused(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False

    def fake_getaddrinfo(
        host: str, port: int, *args: object, **kwargs: object
    ) -> list[tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[str, int]]]:
        # One public and one internal answer: every address must pass.
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(webhooks.UnsafeURL, match="10.0.0.5"):
        webhooks.resolve_checked("https://hooks.example.com/x")


@pytest.mark.django_db
def test_send_time_recheck_refuses_an_address_that_became_private(
    firing_world: World, receiver: Receiver, settings: Settings
) -> None:
    Webhook.objects.create(watchlist=firing_world.team_list, url=receiver.url)
    with time_machine.travel(NOW, tick=False):
        (nid,) = alerts.alerts_claim().claimed
        settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False  # as if DNS now answered 127.0.0.1
        notify_services.notification_deliver(nid)
    assert receiver.posts == []
    attempt = DeliveryAttempt.objects.get()
    assert not attempt.ok and attempt.error.startswith("refused:")
    assert Notification.objects.get().state == "failed"


@pytest.mark.django_db
def test_a_receiver_that_hangs_is_a_recorded_timeout(
    firing_world: World, settings: Settings
) -> None:
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection, never answers
    try:
        port = listener.getsockname()[1]
        Webhook.objects.create(watchlist=firing_world.team_list, url=f"http://127.0.0.1:{port}/")
        with time_machine.travel(NOW, tick=False):
            (nid,) = alerts.alerts_claim().claimed
            outcome = notify_services.notification_deliver(nid)
    finally:
        listener.close()
    assert (outcome.state, outcome.retry_in) == ("failed", 30)
    attempt = DeliveryAttempt.objects.get()
    assert not attempt.ok and attempt.status_code is None and "Timeout" in attempt.error


@pytest.mark.django_db
def test_a_deleted_webhook_is_recorded_dead_without_retries(
    firing_world: World, receiver: Receiver
) -> None:
    hook = Webhook.objects.create(watchlist=firing_world.team_list, url=receiver.url)
    with time_machine.travel(NOW, tick=False):
        (nid,) = alerts.alerts_claim().claimed
        hook.delete()
        assert notify_services.notification_deliver(nid).state == "dead"
    n = Notification.objects.get(pk=nid)
    assert (n.state, n.last_error) == ("dead", "webhook deleted or disabled")
    assert receiver.posts == []
