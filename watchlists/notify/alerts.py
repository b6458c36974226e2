"""Alert rules evaluated over the stored data (overall, without mirrors).

- change: the last 7 days held against the same 7 weekdays of each of the 4 weeks
  before (their mean), so weekends compare with weekends. Fires at most once per
  package and ISO week (the week of the window's last day). Suppressed, and logged as
  such, when any of the 35 days read carries a data-quality marker.
- milestone: the total held passes 100k, 1M, 10M, ... within the last 7 days held;
  once per package and milestone, ever.
- stale: no new data for N days (the latest day held is more than N days old);
  once per package and latest day held (it fires again only after data came back
  and stopped again).

- adoption (ClickHouse): the newest final release's share of the last 7 days ClickHouse
  holds reaches the threshold (percent); once per package and release.
- installer (ClickHouse): an installer other than pip (uv, poetry, pdm, pipenv, conda)
  reaches the threshold (percent, 10 by default) of the last 7 days' installs, without
  mirrors; once per package and installer, ever: "passed 10 % for the first time".
  Both read notify/breakdowns.py's facts; with ClickHouse off they are never evaluated.

Reads per watchlist: its entries (1), every without_mirrors point held (1: the totals need
them all, the rules the last 35 days); with a ClickHouse rule, the entries once more and
the cached breakdown reads of each package.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TypedDict

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from packages_app.models import Metric, Package
from packages_app.store import points as stored_points
from packages_app.sync import quality
from watchlists.models import Watchlist, WatchlistEntry
from watchlists.notify import breakdowns, webhooks
from watchlists.notify import services as notify_services
from watchlists.notify.models import AlertRule, Notification, Webhook

WINDOW_DAYS = 7
BASELINE_WEEKS = 4
READ_DAYS = WINDOW_DAYS * (BASELINE_WEEKS + 1)  # 35
MILESTONES = tuple(10**k for k in range(5, 13))  # 100k .. 1T


@dataclass(frozen=True)
class Firing:
    rule: AlertRule
    package: Package
    period: str  # the part of the natural key after rule and package
    title: str
    text: str
    data: webhooks.AlertData
    suppressed_by: list[quality.Marker] = field(default_factory=list)

    @property
    def event(self) -> str:
        return f"alert:{self.rule.pk}:{self.package.pk}:{self.period}"


def window_change(points: dict[dt.date, int], end: dt.date) -> tuple[int, float, float] | None:
    """(last 7 days, baseline mean of the same weekdays over 4 weeks, change in %) or None."""

    def block(last: dt.date) -> int:
        return sum(points.get(last - dt.timedelta(days=i), 0) for i in range(WINDOW_DAYS))

    current = block(end)
    baseline = sum(block(end - dt.timedelta(weeks=k)) for k in range(1, BASELINE_WEEKS + 1))
    mean = baseline / BASELINE_WEEKS
    if mean == 0:
        return None
    return current, mean, 100.0 * (current - mean) / mean


def _iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _fmt(n: float) -> str:
    return f"{n:,.0f}"


def evaluate_rule(
    rule: AlertRule,
    package: Package,
    points: dict[dt.date, int],
    total: int,
    today: dt.date,
) -> list[Firing]:
    """What one rule says about one package now (pure: the data is already fetched)."""
    latest, first = package.latest_date, package.first_date
    if latest is None or first is None:
        return []
    if rule.kind == AlertRule.Kind.CHANGE:
        window_start = latest - dt.timedelta(days=READ_DAYS - 1)
        if first > window_start:
            return []  # not five full weeks held yet: no fair baseline
        result = window_change(points, latest)
        if result is None:
            return []
        current, mean, pct = result
        if abs(pct) < rule.threshold:
            return []
        direction = "up" if pct > 0 else "down"
        markers = quality.marker_objects_between(window_start, latest)
        return [
            Firing(
                rule=rule,
                package=package,
                period=f"change:{_iso_week(latest)}",
                title=f"{package.name}: downloads {direction} {abs(pct):.0f}% in the last 7 days",
                text=(
                    f"{_fmt(current)} downloads in the 7 days to {latest} against "
                    f"{_fmt(mean)} on the same weekdays of the 4 weeks before "
                    f"({pct:+.1f}%; alert at ±{rule.threshold}%)."
                ),
                data={
                    "package": package.name,
                    "window_end": latest.isoformat(),
                    "last_7_days": current,
                    "baseline_mean": round(mean, 1),
                    "change_pct": round(pct, 2),
                },
                suppressed_by=markers,
            )
        ]
    if rule.kind == AlertRule.Kind.MILESTONE:
        recent = sum(points.get(latest - dt.timedelta(days=i), 0) for i in range(WINDOW_DAYS))
        before = total - recent
        return [
            Firing(
                rule=rule,
                package=package,
                period=f"milestone:{m}",
                title=f"{package.name} passed {_fmt(m)} downloads",
                text=f"{_fmt(total)} downloads held in all (without mirrors), up to {latest}.",
                data={"package": package.name, "milestone": m, "total": total},
            )
            for m in MILESTONES
            if before < m <= total
        ]
    if rule.kind == AlertRule.Kind.STALE:
        age = (today - latest).days
        if age <= rule.threshold:
            return []
        return [
            Firing(
                rule=rule,
                package=package,
                period=f"stale:{latest.isoformat()}",
                title=f"{package.name}: no new data for {age} days",
                text=f"The latest day held is {latest}; alert after {rule.threshold} days.",
                data={"package": package.name, "latest_date": latest.isoformat(), "days": age},
            )
        ]
    return []


BREAKDOWN_KINDS = (AlertRule.Kind.ADOPTION, AlertRule.Kind.INSTALLER)


def evaluate_breakdown_rule(
    rule: AlertRule, package: Package, facts: breakdowns.BreakdownFacts
) -> list[Firing]:
    """What an ADOPTION or INSTALLER rule says about one package (pure: facts fetched)."""
    window = f"the 7 days to {facts.window_end}"
    if rule.kind == AlertRule.Kind.ADOPTION:
        share, version = facts.latest_share, facts.latest_version
        if share is None or version is None or share < rule.threshold:
            return []
        return [
            Firing(
                rule=rule,
                package=package,
                period=f"adoption:{version}",
                title=f"{package.name} {version}: {share:.1f}% of downloads are on it",
                text=(
                    f"The latest release, {version}, had {share:.2f}% of {package.name}'s "
                    f"downloads in {window} (every download, from ClickHouse; alert at "
                    f"{rule.threshold}%)."
                ),
                data={
                    "package": package.name,
                    "version": version,
                    "share_pct": share,
                    "window_end": facts.window_end.isoformat(),
                },
            )
        ]
    if rule.kind == AlertRule.Kind.INSTALLER:
        return [
            Firing(
                rule=rule,
                package=package,
                period=f"installer:{installer}",
                title=f"{package.name}: {installer} passed {rule.threshold}% of installs",
                text=(
                    f"{installer} made {share:.2f}% of {package.name}'s installs in {window} "
                    f"(without mirrors, from ClickHouse; alert at {rule.threshold}%)."
                ),
                data={
                    "package": package.name,
                    "installer": installer,
                    "share_pct": share,
                    "window_end": facts.window_end.isoformat(),
                },
            )
            for installer, share in facts.installers_at_least(rule.threshold)
        ]
    return []


def _watchlist_data(
    watchlist: Watchlist,
) -> tuple[list[Package], dict[int, dict[dt.date, int]], dict[int, int]]:
    packages = [
        e.package
        for e in WatchlistEntry.objects.filter(watchlist=watchlist).select_related("package")
        if e.package.latest_date is not None
    ]
    points: dict[int, dict[dt.date, int]] = defaultdict(dict)
    totals: dict[int, int] = {}
    if not packages:
        return packages, points, totals
    newest = max(p.latest_date for p in packages if p.latest_date is not None)
    ids = [p.pk for p in packages]
    # Every day held, once: the totals need them all and the rules the last READ_DAYS.
    held = stored_points.by_package(
        package_ids=ids, metric=Metric.OVERALL, category="without_mirrors"
    )
    since = newest - dt.timedelta(days=READ_DAYS - 1)
    for package_id, days in held.items():
        points[package_id] = {d: n for d, n in days.items() if since <= d <= newest}
        totals[package_id] = sum(days.values())
    return packages, points, totals


def _absolute(path: str) -> str:
    return str(getattr(settings, "SITE_URL", "http://127.0.0.1:8000")).rstrip("/") + path


def _message(firing: Firing) -> webhooks.AlertMessage:
    watchlist = firing.rule.watchlist
    return {
        "event": "alert",
        "kind": firing.rule.kind,
        "title": firing.title,
        "text": firing.text,
        "url": _absolute(reverse("package-detail", args=[firing.package.name])),
        "watchlist": watchlist.name,
        "data": firing.data,
        "key": firing.event,
    }


@dataclass
class AlertPlan:
    lines: list[str] = field(default_factory=list)
    claimed: list[int] = field(default_factory=list)
    suppressed: int = 0


class _Common(TypedDict):
    """The claim fields every notification of one firing shares."""

    kind: str
    event: str
    watchlist: Watchlist
    rule: AlertRule
    package: Package
    subject: str


def _claim(firing: Firing, plan: AlertPlan, webhooks_of: list[Webhook]) -> None:
    rule = firing.rule
    common: _Common = {
        "kind": Notification.Kind.ALERT,
        "event": firing.event,
        "watchlist": rule.watchlist,
        "rule": rule,
        "package": firing.package,
        "subject": firing.title[:300],
    }
    if firing.suppressed_by:
        notes = "; ".join(f"{m.start}..{m.end} {m.label}" for m in firing.suppressed_by)
        n, created = notify_services.notification_claim(
            **common,
            channel=Notification.Channel.NONE,
            destination="none",
            state=Notification.State.SUPPRESSED,
            body_text=firing.text,
            note=f"suppressed: window holds a data-quality marker ({notes})"[:300],
        )
        if created:
            plan.suppressed += 1
            plan.lines.append(f"suppressed: {firing.title} ({notes})")
        return
    message = _message(firing)
    user = rule.created_by
    if (
        rule.email
        and user is not None
        and user.is_active
        and user.email
        and Watchlist.objects.visible_to(user).filter(pk=rule.watchlist_id).exists()
    ):
        context = {
            "message": message,
            "watchlist_url": _absolute(reverse("watchlist_detail", args=[rule.watchlist.uid])),
        }
        n, created = notify_services.notification_claim(
            **common,
            channel=Notification.Channel.EMAIL,
            destination=f"user:{user.pk}",
            recipient=user.email,
            body_text=render_to_string("watchlists/email/alert.txt", context),
            body_html=render_to_string("watchlists/email/alert.html", context),
            payload={"message": message},
        )
        plan.claimed.append(n.pk)
        plan.lines.append(
            f"{'claimed' if created else 'already claimed'}: email {firing.title} -> {user.email}"
        )
    for hook in webhooks_of:
        n, created = notify_services.notification_claim(
            **common,
            channel=Notification.Channel.WEBHOOK,
            destination=f"webhook:{hook.pk}",
            webhook=hook,
            payload=webhooks.payload_for(hook.format, message),
        )
        plan.claimed.append(n.pk)
        plan.lines.append(
            f"{'claimed' if created else 'already claimed'}: webhook {firing.title} -> {hook.url}"
        )


def alerts_claim(*, dry_run: bool = False) -> AlertPlan:
    """Evaluate every enabled rule and claim what fires (dry run: describe, claim nothing)."""
    today = timezone.now().date()
    plan = AlertPlan()
    rules = list(
        AlertRule.objects.filter(enabled=True)
        .select_related("watchlist", "created_by")
        .order_by("watchlist_id", "id")
    )
    by_watchlist: dict[int, list[AlertRule]] = defaultdict(list)
    for rule in rules:
        by_watchlist[rule.watchlist_id].append(rule)
    hooks: dict[int, list[Webhook]] = defaultdict(list)
    for hook in Webhook.objects.filter(enabled=True, watchlist_id__in=list(by_watchlist)):
        hooks[hook.watchlist_id].append(hook)
    for watchlist_rules in by_watchlist.values():
        packages, points, totals = _watchlist_data(watchlist_rules[0].watchlist)
        found = _breakdown_facts(watchlist_rules)
        for rule in watchlist_rules:
            for _package, firing in _firings(rule, packages, points, totals, found, today):
                if dry_run:
                    seen = Notification.objects.filter(event=firing.event).exists()
                    verb = "suppressed" if firing.suppressed_by else "would send"
                    plan.lines.append(
                        f"{'already handled' if seen else verb}: {firing.title} "
                        f"[{rule.watchlist.name}: {rule.describe()}]"
                    )
                    continue
                _claim(firing, plan, hooks.get(rule.watchlist_id, []))
    return plan


def _breakdown_facts(
    rules: list[AlertRule],
) -> tuple[list[Package], dict[str, breakdowns.BreakdownFacts]]:
    """Every package of the list with its ClickHouse facts, when a rule needs them."""
    if not any(r.kind in BREAKDOWN_KINDS for r in rules) or not breakdowns.offered():
        return [], {}
    packages = [
        e.package
        for e in WatchlistEntry.objects.filter(watchlist=rules[0].watchlist).select_related(
            "package"
        )
    ]
    return packages, breakdowns.facts(p.name for p in packages).facts


def _firings(
    rule: AlertRule,
    packages: list[Package],
    points: dict[int, dict[dt.date, int]],
    totals: dict[int, int],
    found: tuple[list[Package], dict[str, breakdowns.BreakdownFacts]],
    today: dt.date,
) -> list[tuple[Package, Firing]]:
    if rule.kind in BREAKDOWN_KINDS:
        every, facts = found
        return [
            (package, firing)
            for package in every
            if package.name in facts
            for firing in evaluate_breakdown_rule(rule, package, facts[package.name])
        ]
    return [
        (package, firing)
        for package in packages
        for firing in evaluate_rule(
            rule, package, points.get(package.pk, {}), totals.get(package.pk, 0), today
        )
    ]


def alerts_send(*, dry_run: bool = False) -> AlertPlan:
    """Claim, then deliver in this process (the command); beat uses tasks instead."""
    plan = alerts_claim(dry_run=dry_run)
    for notification_id in plan.claimed:
        outcome = notify_services.notification_deliver(notification_id)
        plan.lines.append(f"  #{notification_id}: {outcome.state}")
    return plan
