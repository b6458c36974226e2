"""Weekly digests: content for known data, readiness, exactly-once, crash recovery, commands."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from io import StringIO
from typing import NoReturn

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.core.management import CommandError, call_command
from pytest_django import Settings

from tests.watchlists.notify.helpers import alternatives, make_package
from tests.world import World
from watchlists.models import WatchlistEntry
from watchlists.notify import digests
from watchlists.notify import services as notify_services
from watchlists.notify.models import DeliveryAttempt, DigestSubscription, Notification

D = dt.date
MONDAY_MORNING = dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)
W47 = digests.parse_week("2026-W47")  # 2026-11-16 .. 2026-11-22


def weekly(values: dict[dt.date, int]) -> Callable[[dt.date], int]:
    """A series whose every day of the ISO week starting at a Monday holds value/7."""

    def value(day: dt.date) -> int:
        monday = day - dt.timedelta(days=day.weekday())
        return values.get(monday, 700) // 7

    return value


@pytest.fixture
def digest_world(world: World) -> World:
    return with_digest_packages(world)


@pytest.fixture
def fresh_digest_world(fresh_world: World) -> World:
    """digest_world for a transactional test, which builds its own world."""
    return with_digest_packages(fresh_world)


def with_digest_packages(world: World) -> World:
    """The team list holds three packages with known weekly figures (per week: value/7 a day)."""
    WatchlistEntry.objects.filter(watchlist=world.team_list).delete()
    start = D(2026, 9, 7)  # a Monday: 11 complete weeks up to W47
    grower = make_package(
        "grower",
        start,
        W47.end,
        weekly({W47.start: 14000, W47.start - dt.timedelta(weeks=1): 7000}),
    )
    steady = make_package("steady", start, W47.end, weekly({}))  # 700 every week
    faller = make_package(
        "faller", start, W47.end, weekly({W47.start: 350, W47.start - dt.timedelta(weeks=1): 700})
    )
    stale = make_package("stalepkg", start, D(2026, 11, 12), weekly({}))
    for p in (grower, steady, faller, stale):
        WatchlistEntry.objects.create(watchlist=world.team_list, package=p)
    return world


def subscribe(world: World, who: str = "alice") -> DigestSubscription:
    return DigestSubscription.objects.create(watchlist=world.team_list, user=getattr(world, who))


@pytest.mark.django_db
def test_parse_week_and_last_complete_week() -> None:
    assert (W47.start, W47.end, W47.label) == (D(2026, 11, 16), D(2026, 11, 22), "2026-W47")
    assert digests.last_complete_week(D(2026, 11, 23)) == W47  # Monday: the week just ended
    assert digests.last_complete_week(D(2026, 11, 29)) == W47  # Sunday: its week is not over
    for bad in ["2026-47", "2026-W60", "2026-W00", "W47", "", "2026-W4x"]:
        with pytest.raises(digests.BadWeek):
            digests.parse_week(bad)


@pytest.mark.django_db
@time_machine.travel(MONDAY_MORNING, tick=False)
def test_digest_content_for_known_data(digest_world: World) -> None:
    sub = subscribe(digest_world)
    plan = digests.digests_send(week=W47)
    assert len(mail.outbox) == 1, plan.lines
    email = mail.outbox[0]
    assert email.to == ["alice@example.org"]
    assert email.subject == "Team list: downloads in week 2026-W47"
    text = email.body
    # Biggest movers first: grower +100 %, faller -50 %, steady 0 %.
    lines = [line.strip() for line in text.splitlines()]
    order = [
        n for n in ("grower", "faller", "steady") if any(line.startswith(n + ":") for line in lines)
    ]
    assert order == ["grower", "faller", "steady"]
    assert text.index("grower:") < text.index("faller:") < text.index("steady:")
    grower = next(line for line in lines if line.startswith("grower:"))
    # 14,000 against 7,000 the week before and against (7000 + 700*3)/4 = 2,275.
    assert "14,000" in grower and "+100.0%" in grower and "+515.4%" in grower
    assert "NEW HIGH" in grower
    faller = next(line for line in lines if line.startswith("faller:"))
    assert "350" in faller and "-50.0%" in faller and "NEW HIGH" not in faller
    assert "New all-time weekly highs: grower" in text
    assert "stalepkg: latest day 2026-11-12" in text  # the stale line
    assert "▁" in grower or "█" in grower  # the 8-week trend
    assert "Data-quality notes" not in text  # nothing marked in W47
    # The HTML part, no remote images, and the one-click unsubscribe link.
    html, mime = alternatives(email)[0]
    assert mime == "text/html" and "grower" in html and "<img" not in html
    token = digests.unsubscribe_token(sub)
    assert f"/digests/unsubscribe/{token}/" in text
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    n = Notification.objects.get()
    assert (n.state, n.attempts, n.event) == (
        "sent",
        1,
        f"digest:{digest_world.team_list.pk}:2026-W47",
    )
    assert DeliveryAttempt.objects.filter(notification=n, ok=True).count() == 1


@pytest.mark.django_db
def test_digest_of_a_week_with_a_marked_upstream_event_mentions_it(world: World) -> None:
    WatchlistEntry.objects.filter(watchlist=world.team_list).delete()
    package = make_package("metapkg", D(2026, 7, 6), D(2026, 9, 6), 1000)
    WatchlistEntry.objects.create(watchlist=world.team_list, package=package)
    subscribe(world)
    with time_machine.travel(dt.datetime(2026, 9, 7, 7, 0, tzinfo=dt.UTC), tick=False):
        digests.digests_send(week=digests.parse_week("2026-W35"))  # 2026-08-24 .. 08-30
    assert len(mail.outbox) == 1
    assert "Data-quality notes this week" in mail.outbox[0].body
    assert "2026-08-24: PyPI counts only real artifacts" in mail.outbox[0].body
    assert "PyPI counts only real artifacts" in alternatives(mail.outbox[0])[0][0]


@pytest.mark.django_db
def test_waits_for_sundays_data_until_noon(digest_world: World) -> None:
    subscribe(digest_world)
    from packages_app.models import Package

    Package.objects.exclude(name="steady").update(latest_date=D(2026, 11, 21))
    with time_machine.travel(MONDAY_MORNING, tick=False):
        plan = digests.digests_send(week=W47)
    assert plan.skipped_not_ready and mail.outbox == [] and not Notification.objects.exists()
    with time_machine.travel(MONDAY_MORNING.replace(hour=12), tick=False):
        plan = digests.digests_send(week=W47)
    assert not plan.skipped_not_ready and len(mail.outbox) == 1


@pytest.mark.django_db
@time_machine.travel(MONDAY_MORNING, tick=False)
def test_sequential_double_run_sends_once(digest_world: World) -> None:
    subscribe(digest_world)
    subscribe(digest_world, "bob")
    digests.digests_send(week=W47)
    digests.digests_send(week=W47)
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.org", "bob@example.org"]
    assert Notification.objects.count() == 2


@pytest.mark.django_db
@time_machine.travel(MONDAY_MORNING, tick=False)
def test_lost_access_or_no_email_gets_no_digest(digest_world: World) -> None:
    subscribe(digest_world, "bob")
    digest_world.bob_membership.delete()  # bob left the team
    plan = digests.digests_send(week=W47)
    assert mail.outbox == [] and any("no access" in line for line in plan.lines)


@pytest.mark.django_db
def test_crash_between_claim_and_send_then_rerun_delivers_once(
    digest_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscribe(digest_world)

    def crash(notification_id: int) -> NoReturn:
        raise RuntimeError("worker killed after the claim")

    with time_machine.travel(MONDAY_MORNING, tick=False):
        with monkeypatch.context() as m:
            m.setattr(notify_services, "notification_deliver", crash)
            with pytest.raises(RuntimeError):
                digests.digests_send(week=W47)
        assert mail.outbox == []
        assert Notification.objects.get().state == "pending"  # claimed, not lost
        digests.digests_send(week=W47)  # the next beat
        digests.digests_send(week=W47)
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_crash_mid_send_waits_for_the_lease_then_delivers_once(digest_world: World) -> None:
    subscribe(digest_world)
    with time_machine.travel(MONDAY_MORNING, tick=False):
        plan = digests.digests_claim(week=W47)
        (nid,) = plan.claimed
        # A worker took the lease and died before sending.
        assert notify_services._acquire(nid, MONDAY_MORNING)
        assert notify_services.notification_deliver(nid).state == "busy"
        assert notify_services.due_notification_ids() == []
    assert mail.outbox == []
    with time_machine.travel(
        MONDAY_MORNING + notify_services.LEASE + dt.timedelta(seconds=1), tick=False
    ):
        assert notify_services.due_notification_ids() == [nid]
        assert notify_services.notification_deliver(nid).state == "sent"
        assert notify_services.notification_deliver(nid).state == "sent"
    assert len(mail.outbox) == 1
    assert Notification.objects.get().attempts == 2  # the dead worker's and this one


@pytest.mark.django_db
def test_failed_email_is_retried_with_backoff_then_dead(
    digest_world: World, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    settings.NOTIFY_MAX_ATTEMPTS = 3
    subscribe(digest_world)

    def refuse(self: EmailMultiAlternatives, *args: object, **kwargs: object) -> NoReturn:
        raise ConnectionRefusedError("SMTP server down")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    now = MONDAY_MORNING
    with time_machine.travel(now, tick=False):
        digests.digests_send(week=W47)
    n = Notification.objects.get()
    assert n.state == "failed" and n.retry_at == now + dt.timedelta(seconds=30)
    assert "SMTP server down" in n.last_error
    with time_machine.travel(now + dt.timedelta(seconds=10), tick=False):
        assert notify_services.notification_deliver(n.pk).state == "busy"  # not due yet
    with time_machine.travel(now + dt.timedelta(seconds=31), tick=False):
        out = notify_services.notification_deliver(n.pk)
        assert (out.state, out.retry_in) == ("failed", 120)
    with time_machine.travel(now + dt.timedelta(seconds=200), tick=False):
        assert notify_services.notification_deliver(n.pk).state == "dead"
    n.refresh_from_db()
    assert n.attempts == 3
    attempts = list(DeliveryAttempt.objects.filter(notification=n).order_by("attempt"))
    assert [(a.attempt, a.ok, a.channel) for a in attempts] == [
        (1, False, "email"),
        (2, False, "email"),
        (3, False, "email"),
    ]
    assert all("SMTP server down" in a.error for a in attempts)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sends_of_the_same_digest_deliver_one(fresh_digest_world: World) -> None:
    import threading

    from django.db import connection

    subscribe(fresh_digest_world)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            digests.digests_send(week=W47)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    with time_machine.travel(MONDAY_MORNING, tick=False):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert len(mail.outbox) == 1
    assert Notification.objects.get().state == "sent"


# --- commands -------------------------------------------------------------------------------


@pytest.mark.django_db
@time_machine.travel(MONDAY_MORNING, tick=False)
def test_send_digests_dry_run_prints_and_claims_nothing(digest_world: World) -> None:
    subscribe(digest_world)
    out = StringIO()
    call_command("send_digests", "--dry-run", stdout=out)
    assert "would send: digest 2026-W47 of Team list to alice@example.org" in out.getvalue()
    assert mail.outbox == [] and not Notification.objects.exists()
    out = StringIO()
    call_command("send_digests", "--week", "2026-W47", stdout=out)
    assert "claimed: digest 2026-W47" in out.getvalue() and len(mail.outbox) == 1
    out = StringIO()
    call_command("send_digests", "--week", "2026-W47", "--dry-run", stdout=out)
    assert "already claimed" in out.getvalue() and len(mail.outbox) == 1


@pytest.mark.django_db
@time_machine.travel(MONDAY_MORNING, tick=False)
@pytest.mark.parametrize(
    ("week", "message"),
    [
        ("2026-47", "is not an ISO week: use YYYY-Www"),
        ("2026-W54", "is not a week of that year"),
        ("2026-W48", "has not ended yet"),
    ],
)
def test_send_digests_rejects_bad_weeks(week: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("send_digests", "--week", week, stdout=StringIO())
