"""The ClickHouse alert kinds and the digest's releases and installers (issue #16 item 4):
"adoption of your latest release" and "a new installer passed 10 %", evaluated by the alert
machinery (alerts_send) on the ClickHouse stand-in. Expected numbers from the stand-in's
model, never from the code under test."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from packaging.version import Version
from pytest_django import Settings

from packages_app.demo.clickhouse_data import model
from packages_app.models import Package
from tests.packages_app.demo.clickhouse_support import LATEST
from tests.packages_app.history.conftest import ch, ch_settings, clickhouse  # noqa: F401
from tests.packages_app.history.test_breakdown_compare import installs
from tests.packages_app.history.test_breakdowns import expected
from tests.world import World
from watchlists.models import WatchlistEntry
from watchlists.notify import alerts, digests
from watchlists.notify.forms import AlertRuleForm
from watchlists.notify.models import AlertRule, DigestSubscription, Notification

pytestmark = pytest.mark.django_db
ONE_DAY = dt.timedelta(days=1)
NAMES = ("httpx", "sqlalchemy")


def installer_shares(name: str) -> dict[str, float]:
    days = [installs(d) for d in expected(name, LATEST - 6 * ONE_DAY, LATEST).installers]
    whole = sum(sum(d.values()) for d in days)
    keys = {k for d in days for k in d}
    return {k: round(100.0 * sum(d[k] for d in days) / whole, 2) for k in keys}


def latest_release(name: str) -> tuple[str, float]:
    """The newest final release with downloads in the last 7 days, and its share of them."""
    week = expected(name, LATEST - 6 * ONE_DAY, LATEST).versions
    whole = sum(sum(d.values()) for d in week)
    finals = [
        r.version
        for r in model.releases_through(name, LATEST)
        if not Version(r.version).is_prerelease and r.day <= LATEST
    ]
    newest = next(v for v in reversed(finals) if any(d[v] for d in week))
    return newest, round(100.0 * sum(d[newest] for d in week) / whole, 2)


def _list_of_both(world: World) -> None:
    WatchlistEntry.objects.filter(watchlist=world.team_list).delete()
    for name in NAMES:
        package, _ = Package.objects.get_or_create(name=name)
        WatchlistEntry.objects.create(watchlist=world.team_list, package=package)


def rule(world: World, kind: str, threshold: int) -> AlertRule:
    return AlertRule.objects.create(
        watchlist=world.team_list, kind=kind, threshold=threshold, created_by=world.alice
    )


def test_a_new_installer_passing_10_percent_fires_once_per_installer(
    world: World,
    ch_settings: Settings,  # noqa: F811
) -> None:
    _list_of_both(world)
    rule(world, AlertRule.Kind.INSTALLER, 10)
    alerts.alerts_send()
    fired = set(
        Notification.objects.filter(channel=Notification.Channel.EMAIL).values_list(
            "package__name", "subject"
        )
    )
    wanted = {
        (name, f"{name}: {installer} passed 10% of installs")
        for name in NAMES
        for installer, share in installer_shares(name).items()
        if installer not in ("pip", "other") and share >= 10
    }
    assert wanted, "the stand-in's uv should have passed 10 % by now"
    assert fired == wanted
    assert len(mail.outbox) == len(wanted)
    uv = installer_shares("httpx")["uv"]
    body = next(m.body for m in mail.outbox if "httpx: uv passed" in m.subject)
    assert f"uv made {uv:.2f}% of httpx's installs" in body
    # For the first time only: the next run sends nothing new.
    alerts.alerts_send()
    assert len(mail.outbox) == len(wanted)


def test_adoption_of_the_latest_release_at_and_below_the_threshold(
    world: World,
    ch_settings: Settings,  # noqa: F811
) -> None:
    _list_of_both(world)
    version, share = latest_release("httpx")
    below = int(share)  # the share reaches it
    rule(world, AlertRule.Kind.ADOPTION, below)
    rule(world, AlertRule.Kind.ADOPTION, below + 1)  # out of reach unless share is whole
    alerts.alerts_send()
    httpx = Notification.objects.filter(package__name="httpx")
    subjects = {n.subject for n in httpx}
    assert f"httpx {version}: {share:.1f}% of downloads are on it" in subjects
    fired_rules = {n.rule_id for n in httpx}
    assert len(fired_rules) == (2 if share >= below + 1 else 1)
    assert httpx.first() is not None and f"adoption:{version}" in httpx.first().event  # type: ignore[union-attr]


def test_without_clickhouse_the_kinds_are_not_offered_nor_evaluated(
    world: World, settings: Settings
) -> None:
    settings.CLICKHOUSE_URL = ""
    _list_of_both(world)
    rule(world, AlertRule.Kind.INSTALLER, 10)
    alerts.alerts_send()
    assert not Notification.objects.exists()
    form = AlertRuleForm({"kind": "installer"})
    assert not form.is_valid() and "kind" in form.errors
    page = world.client_for("alice").get(reverse("alert_settings", args=[world.team_list.uid]))
    assert 'value="installer"' not in page.content.decode()


def test_the_form_asks_for_a_share(
    ch_settings: Settings,  # noqa: F811
) -> None:
    form = AlertRuleForm({"kind": "adoption"})
    assert not form.is_valid() and "share_pct" in form.errors
    form = AlertRuleForm({"kind": "adoption", "share_pct": "150"})
    assert not form.is_valid() and "share_pct" in form.errors
    form = AlertRuleForm({"kind": "installer"})
    assert form.is_valid() and form.cleaned_data["threshold"] == 10
    form = AlertRuleForm({"kind": "adoption", "share_pct": "50"})
    assert form.is_valid() and form.cleaned_data["threshold"] == 50


def test_the_digest_mentions_latest_releases_and_installers(
    world: World,
    ch_settings: Settings,  # noqa: F811
) -> None:
    _list_of_both(world)
    week = digests.last_complete_week(LATEST + ONE_DAY)
    digest = digests.watchlist_digest(world.team_list, week, today=LATEST + ONE_DAY)
    subscription = DigestSubscription.objects.create(watchlist=world.team_list, user=world.alice)
    rendered = digests.render_digest(digest, subscription)
    for name in NAMES:
        version, share = latest_release(name)
        assert f"{name} {version}: {share:.1f}%" in rendered.text
        uv = installer_shares(name)["uv"]
        if uv >= 10:
            assert f"{name}: uv {uv:.1f}%" in rendered.text
    assert "Latest releases and installers" in rendered.html
