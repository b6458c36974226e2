"""Alert rules over known data: weekly change (weekday-aware), milestones, stale data,
suppression by data-quality markers, exactly once, and the check_alerts command."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from packages_app.models import Package
from tests.watchlists.notify.helpers import alternatives, make_package, weekday_pattern
from tests.world import World
from watchlists.models import WatchlistEntry
from watchlists.notify import alerts
from watchlists.notify.models import AlertRule, Notification

D = dt.date
NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)  # data held up to 2026-11-23


def jump_in_last_week(base: int, factor: float, end: dt.date) -> Callable[[dt.date], int]:
    pattern = weekday_pattern(base)
    return lambda d: int(pattern(d) * factor) if d > end - dt.timedelta(days=7) else pattern(d)


def only(world: World, *packages: Package) -> None:
    WatchlistEntry.objects.filter(watchlist=world.team_list).delete()
    for p in packages:
        WatchlistEntry.objects.create(watchlist=world.team_list, package=p)


def rule(world: World, kind: str, threshold: int = 0, who: str = "alice") -> AlertRule:
    return AlertRule.objects.create(
        watchlist=world.team_list, kind=kind, threshold=threshold, created_by=getattr(world, who)
    )


def test_window_change_compares_the_same_weekdays() -> None:
    end = D(2026, 11, 23)
    steady = weekday_pattern(1000)
    points = {end - dt.timedelta(days=i): steady(end - dt.timedelta(days=i)) for i in range(35)}
    current, mean, pct = alerts.window_change(points, end) or (0, 0.0, 1.0)
    assert current == mean and pct == 0.0  # weekends compare with weekends: no change
    assert alerts.window_change({}, end) is None  # no baseline, no verdict


@pytest.mark.django_db
def test_change_alert_fires_once_per_package_and_week(world: World) -> None:
    end = D(2026, 11, 23)
    jumper = make_package("jumper", D(2026, 9, 1), end, jump_in_last_week(1000, 1.6, end))
    calm = make_package("calm", D(2026, 9, 1), end, weekday_pattern(3000))
    only(world, jumper, calm)
    rule(world, AlertRule.Kind.CHANGE, 50)
    with time_machine.travel(NOW, tick=False):
        alerts.alerts_send()
        alerts.alerts_send()  # a second beat
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["alice@example.org"]
    assert email.subject == "jumper: downloads up 60% in the last 7 days"
    assert "+60.0%; alert at ±50%" in email.body and alternatives(email)
    n = Notification.objects.get()
    assert (n.event, n.state) == (f"alert:{n.rule_id}:{jumper.pk}:change:2026-W48", "sent")
    # Next day, same ISO week, still +60 %: not sent again.
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        alerts.alerts_send()
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_drop_below_the_threshold_does_not_fire(world: World) -> None:
    end = D(2026, 11, 23)
    only(world, make_package("dip", D(2026, 9, 1), end, jump_in_last_week(1000, 0.7, end)))
    rule(world, AlertRule.Kind.CHANGE, 40)
    with time_machine.travel(NOW, tick=False):
        assert alerts.alerts_send().lines == []
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_change_over_a_marked_upstream_event_is_suppressed_and_logged(world: World) -> None:
    # The 2026-08-24 counting change steps every package down: not news.
    end = D(2026, 8, 27)
    step = make_package(
        "stepdown", D(2026, 6, 1), end, lambda d: 400 if d >= D(2026, 8, 24) else 1000
    )
    only(world, step)
    rule(world, AlertRule.Kind.CHANGE, 20)
    with time_machine.travel(dt.datetime(2026, 8, 28, 9, 0, tzinfo=dt.UTC), tick=False):
        out = StringIO()
        call_command("check_alerts", "--dry-run", stdout=out)
        assert "suppressed: stepdown: downloads down" in out.getvalue()
        plan = alerts.alerts_send()
        alerts.alerts_send()
    assert mail.outbox == []
    assert plan.suppressed == 1
    n = Notification.objects.get()
    assert (n.state, n.channel) == ("suppressed", "none")
    assert "2026-08-24" in n.note and "real artifacts" in n.note


@pytest.mark.django_db
def test_a_detected_suspect_day_suppresses_too(world: World) -> None:
    end = D(2026, 11, 23)
    outage = D(2026, 11, 20)
    make_package("__all__", D(2026, 9, 1), end, lambda d: 0 if d == outage else 10**9)
    dip = make_package("outaged", D(2026, 9, 1), end, lambda d: 0 if d >= outage else 1000)
    only(world, dip)
    rule(world, AlertRule.Kind.CHANGE, 30)
    with time_machine.travel(NOW, tick=False):
        alerts.alerts_send()
    assert mail.outbox == []
    assert Notification.objects.get().state == "suppressed"


@pytest.mark.django_db
def test_milestone_fires_once_when_the_total_passes_it(world: World) -> None:
    end = D(2026, 11, 23)
    # 60 days of 17,000 = 1,020,000 held; a week ago the total was 901,000.
    pkg = make_package("milestoned", end - dt.timedelta(days=59), end, 17000)
    only(world, pkg)
    rule(world, AlertRule.Kind.MILESTONE)
    with time_machine.travel(NOW, tick=False):
        alerts.alerts_send()
        alerts.alerts_send()
    with time_machine.travel(NOW + dt.timedelta(days=3), tick=False):
        alerts.alerts_send()
    assert [m.subject for m in mail.outbox] == ["milestoned passed 1,000,000 downloads"]
    assert Notification.objects.get().event.endswith(":milestone:1000000")


@pytest.mark.django_db
def test_no_new_data_for_n_days_fires_once_per_gap(world: World) -> None:
    pkg = make_package("quiet", D(2026, 9, 1), D(2026, 11, 14), 500)
    only(world, pkg)
    rule(world, AlertRule.Kind.STALE, 5)
    with time_machine.travel(dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.UTC), tick=False):
        assert alerts.alerts_send().lines == []  # 4 days: not yet
    with time_machine.travel(NOW, tick=False):
        alerts.alerts_send()
        alerts.alerts_send()
    assert [m.subject for m in mail.outbox] == ["quiet: no new data for 10 days"]


@pytest.mark.django_db
def test_check_alerts_dry_run_claims_nothing(world: World) -> None:
    end = D(2026, 11, 23)
    only(world, make_package("jumper", D(2026, 9, 1), end, jump_in_last_week(1000, 2, end)))
    rule(world, AlertRule.Kind.CHANGE, 50)
    with time_machine.travel(NOW, tick=False):
        out = StringIO()
        call_command("check_alerts", "--dry-run", stdout=out)
        assert "would send: jumper: downloads up 100%" in out.getvalue()
        assert mail.outbox == [] and not Notification.objects.exists()
        out = StringIO()
        call_command("check_alerts", stdout=out)
        assert "claimed: email jumper" in out.getvalue() and "sent" in out.getvalue()
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_no_email_to_a_rule_author_who_lost_access(world: World) -> None:
    end = D(2026, 11, 23)
    only(world, make_package("jumper", D(2026, 9, 1), end, jump_in_last_week(1000, 2, end)))
    rule(world, AlertRule.Kind.CHANGE, 50, who="bob")
    world.bob_membership.delete()
    with time_machine.travel(NOW, tick=False):
        alerts.alerts_send()
    assert mail.outbox == []
