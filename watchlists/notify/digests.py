"""The weekly digest: one email per subscriber and watchlist, over the last complete ISO week.

Per package (overall, without mirrors): the week's downloads, the change against the
week before and against the mean of the four weeks before, an 8-week trend, a new
all-time weekly high (over every complete week held), the biggest movers first, a
line for stale data, and the data-quality markers that fall in the week.

Reads: the subscriptions (1 query), then per watchlist its entries (1) and every
point of its packages up to the week's end (1): all-time highs need all weeks held.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from packages_app import series
from packages_app.models import Metric, Package
from packages_app.store import points as stored_points
from packages_app.sync import quality
from watchlists import stats
from watchlists.models import Watchlist, WatchlistEntry
from watchlists.notify import breakdowns
from watchlists.notify import services as notify_services
from watchlists.notify.models import DigestSubscription, Notification

UNSUBSCRIBE_SALT = "watchlists.digest-unsubscribe"
WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
SPARK_WEEKS = 8
SPARK_CHARS = "▁▂▃▄▅▆▇█"
# Send on Monday only once most packages hold Sunday; from this hour (UTC) send anyway.
SEND_ANYWAY_HOUR = 12


class BadWeek(ValueError):
    pass


@dataclass(frozen=True)
class Week:
    start: dt.date  # Monday
    end: dt.date  # Sunday

    @property
    def label(self) -> str:
        year, week, _ = self.start.isocalendar()
        return f"{year}-W{week:02d}"


def parse_week(value: str) -> Week:
    """'2026-W47' -> that ISO week; BadWeek with a clear message otherwise."""
    match = WEEK_RE.match(value.strip())
    if not match:
        raise BadWeek(f"{value!r} is not an ISO week: use YYYY-Www, e.g. 2026-W47.")
    try:
        monday = dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError as exc:
        raise BadWeek(f"{value!r} is not a week of that year ({exc}).") from None
    return Week(monday, monday + dt.timedelta(days=6))


def last_complete_week(today: dt.date) -> Week:
    """The latest ISO week that ended before today (on a Monday: the week that just ended)."""
    weeks = stats.complete_weeks(today - dt.timedelta(days=1))
    return Week(weeks.this_start, weeks.this_end)


# --- figures ----------------------------------------------------------------------------------


@dataclass
class PackageDigest:
    name: str
    week: int | None  # None: the week is not complete in the data held
    previous: int | None
    mean_four: float | None
    change_prev_pct: float | None
    change_mean_pct: float | None
    trend: str  # unicode sparkline over up to SPARK_WEEKS complete weeks
    trend_values: list[int]
    all_time_high: bool
    stale: bool
    latest_date: dt.date | None


@dataclass
class WatchlistDigest:
    watchlist: Watchlist
    week: Week
    rows: list[PackageDigest]  # biggest movers first
    stale: list[PackageDigest]
    highs: list[PackageDigest]
    markers: list[quality.Marker]
    total_week: int | None = None
    total_previous: int | None = None
    total_change_pct: float | None = None
    # From ClickHouse (notify/breakdowns.py; empty when it is off): each package's latest
    # release and its share of the last 7 days, and installers other than pip at 10 % or more.
    releases: list[breakdowns.BreakdownFacts] = field(default_factory=list)
    installers: list[tuple[str, str, float]] = field(default_factory=list)
    breakdowns_unavailable: list[str] = field(default_factory=list)

    @property
    def breakdowns_to(self) -> dt.date | None:
        return max((f.window_end for f in self.releases), default=None)


def sparkline(values: list[int]) -> str:
    if not values:
        return ""
    top, low = max(values), min(values)
    span = top - low
    if span == 0:
        return SPARK_CHARS[3] * len(values)
    return "".join(SPARK_CHARS[round((v - low) / span * (len(SPARK_CHARS) - 1))] for v in values)


def package_digest(
    package: Package, points: dict[dt.date, int], week: Week, today: dt.date
) -> PackageDigest:
    """The figures of one package for one week (pure: the points are already fetched)."""
    stale = package.is_stale(today) or package.latest_date is None or package.latest_date < week.end
    if package.first_date is None or package.latest_date is None:
        return PackageDigest(package.name, None, None, None, None, None, "", [], False, True, None)
    end = min(package.latest_date, week.end)
    # Complete ISO weeks inside the held span only: a partial week is never compared.
    periods, sums = series.aggregate(points, package.first_date, end, "week", partial="drop")
    weekly = {p.start: v for p, v in zip(periods, sums, strict=True)}
    this = weekly.get(week.start)
    before = [weekly.get(week.start - dt.timedelta(weeks=k)) for k in range(1, 5)]
    previous = before[0]
    four = [v for v in before if v is not None]
    mean_four = sum(four) / 4 if len(four) == 4 else None
    earlier = [v for start, v in weekly.items() if start < week.start]
    trend_values = [v for start, v in weekly.items() if start <= week.start][-SPARK_WEEKS:]
    return PackageDigest(
        name=package.name,
        week=this,
        previous=previous,
        mean_four=mean_four,
        change_prev_pct=series.percent_change(previous, this)
        if this is not None and previous is not None
        else None,
        change_mean_pct=series.percent_change(mean_four, this)
        if this is not None and mean_four is not None
        else None,
        trend=sparkline(trend_values),
        trend_values=trend_values,
        all_time_high=this is not None and bool(earlier) and this > max(earlier),
        stale=stale,
        latest_date=package.latest_date,
    )


def _points_for(packages: list[Package], end: dt.date) -> dict[int, dict[dt.date, int]]:
    result: dict[int, dict[dt.date, int]] = defaultdict(dict)
    ids = [p.pk for p in packages if p.latest_date is not None]
    if not ids:
        return result
    result.update(
        stored_points.by_package(
            package_ids=ids, metric=Metric.OVERALL, category="without_mirrors", end=end
        )
    )
    return result


def watchlist_digest(watchlist: Watchlist, week: Week, *, today: dt.date) -> WatchlistDigest:
    packages = [
        e.package
        for e in WatchlistEntry.objects.filter(watchlist=watchlist).select_related("package")
    ]
    points = _points_for(packages, week.end)
    rows = [package_digest(p, points.get(p.pk, {}), week, today) for p in packages]
    rows.sort(key=lambda r: (r.change_prev_pct is None, -abs(r.change_prev_pct or 0.0), r.name))
    both = [r for r in rows if r.week is not None and r.previous is not None]
    digest = WatchlistDigest(
        watchlist=watchlist,
        week=week,
        rows=rows,
        stale=[r for r in rows if r.stale],
        highs=[r for r in rows if r.all_time_high],
        markers=quality.marker_objects_between(week.start, week.end),
    )
    found = breakdowns.facts(p.name for p in packages)
    digest.releases = [
        f for f in sorted(found.facts.values(), key=lambda f: f.name) if f.latest_version
    ]
    digest.installers = [
        (f.name, installer, share)
        for f in digest.releases
        for installer, share in f.installers_at_least(breakdowns.DIGEST_INSTALLER_PCT)
    ]
    digest.breakdowns_unavailable = found.unavailable
    if both:
        digest.total_week = sum(r.week or 0 for r in both)
        digest.total_previous = sum(r.previous or 0 for r in both)
        digest.total_change_pct = series.percent_change(digest.total_previous, digest.total_week)
    return digest


# --- links and rendering -----------------------------------------------------------------------


def unsubscribe_token(subscription: DigestSubscription) -> str:
    """A signed, salted token naming the subscription AND its user: not forgeable for another."""
    return signing.dumps({"s": subscription.pk, "u": subscription.user_id}, salt=UNSUBSCRIBE_SALT)


def read_unsubscribe_token(token: str) -> tuple[int, int]:
    """(subscription id, user id); signing.BadSignature for anything tampered or malformed."""
    data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("s"), int)
        or not isinstance(data.get("u"), int)
    ):
        raise signing.BadSignature("malformed token")
    return data["s"], data["u"]


def _absolute(path: str) -> str:
    return str(getattr(settings, "SITE_URL", "http://127.0.0.1:8000")).rstrip("/") + path


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    unsubscribe_url: str


def render_digest(digest: WatchlistDigest, subscription: DigestSubscription) -> RenderedEmail:
    unsubscribe_url = _absolute(
        reverse("digest_unsubscribe", args=[unsubscribe_token(subscription)])
    )
    context = {
        "digest": digest,
        "watchlist_url": _absolute(reverse("watchlist_detail", args=[digest.watchlist.uid])),
        "unsubscribe_url": unsubscribe_url,
        "site_name": getattr(settings, "SITE_NAME", "pypistats-site"),
    }
    subject = f"{digest.watchlist.name}: downloads in week {digest.week.label}"
    return RenderedEmail(
        subject=subject,
        text=render_to_string("watchlists/email/digest.txt", context),
        html=render_to_string("watchlists/email/digest.html", context),
        unsubscribe_url=unsubscribe_url,
    )


# --- the weekly run ------------------------------------------------------------------------------


def digest_event(watchlist: Watchlist, week: Week) -> str:
    return f"digest:{watchlist.pk}:{week.label}"


@dataclass
class DigestPlan:
    """What one run would do / did: lines for the command's output."""

    lines: list[str] = field(default_factory=list)
    claimed: list[int] = field(default_factory=list)
    skipped_not_ready: bool = False


def _subscriptions() -> list[DigestSubscription]:
    return list(
        DigestSubscription.objects.select_related("watchlist", "user").order_by(
            "watchlist_id", "id"
        )
    )


def _can_view(subscription: DigestSubscription) -> bool:
    user = subscription.user
    return bool(
        user.is_active
        and user.email
        and Watchlist.objects.visible_to(user).filter(pk=subscription.watchlist_id).exists()
    )


def digests_claim(*, week: Week, dry_run: bool = False, force: bool = False) -> DigestPlan:
    """Claim (or, dry-run, describe) every digest of the week. Sends nothing itself.

    Unless forced (a --week given by hand), it waits while most packages do not yet hold
    the week's Sunday and it is before SEND_ANYWAY_HOUR UTC (the next beat retries).
    """
    now = timezone.now()
    today = now.date()
    plan = DigestPlan()
    subs = _subscriptions()
    digests: dict[int, WatchlistDigest] = {}
    for sub in subs:
        if sub.watchlist_id not in digests:
            digests[sub.watchlist_id] = watchlist_digest(sub.watchlist, week, today=today)
    if not force and digests:
        packages = [r for d in digests.values() for r in d.rows]
        held = sum(1 for r in packages if r.latest_date and r.latest_date >= week.end)
        if packages and held / len(packages) <= 0.5 and now.hour < SEND_ANYWAY_HOUR:
            plan.skipped_not_ready = True
            plan.lines.append(
                f"Not ready: {held} of {len(packages)} packages hold {week.end}; retrying later."
            )
            return plan
    for sub in subs:
        if not _can_view(sub):
            plan.lines.append(f"skip {sub.user} for {sub.watchlist}: no email or no access")
            continue
        digest = digests[sub.watchlist_id]
        event = digest_event(sub.watchlist, week)
        destination = f"user:{sub.user_id}"
        if dry_run:
            exists = Notification.objects.filter(event=event, destination=destination).exists()
            state = "already claimed" if exists else "would send"
            plan.lines.append(
                f"{state}: digest {week.label} of {sub.watchlist.name} to {sub.user.email} "
                f"({len(digest.rows)} packages, {len(digest.markers)} data notes)"
            )
            continue
        rendered = render_digest(digest, sub)
        n, created = notify_services.notification_claim(
            kind=Notification.Kind.DIGEST,
            channel=Notification.Channel.EMAIL,
            event=event,
            destination=destination,
            watchlist=sub.watchlist,
            subscription=sub,
            recipient=sub.user.email,
            subject=rendered.subject,
            body_text=rendered.text,
            body_html=rendered.html,
            payload={
                "headers": {
                    "List-Unsubscribe": f"<{rendered.unsubscribe_url}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                }
            },
        )
        plan.claimed.append(n.pk)
        plan.lines.append(
            f"{'claimed' if created else 'already claimed'}: digest {week.label} of "
            f"{sub.watchlist.name} to {sub.user.email}"
        )
    return plan


def digests_send(*, week: Week, dry_run: bool = False, force: bool = False) -> DigestPlan:
    """Claim, then deliver in this process (the command and the tests)."""
    plan = digests_claim(week=week, dry_run=dry_run, force=force)
    for notification_id in plan.claimed:
        outcome = notify_services.notification_deliver(notification_id)
        plan.lines.append(f"  #{notification_id}: {outcome.state}")
    return plan
