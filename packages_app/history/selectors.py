"""Reads of the ClickHouse source, for the pages, the tasks and the cross-check.

What the pages side calls (stable signatures):
- `backfill_pending(package) -> bool`: tracked, its history not stored yet (read it live);
- `sources(package) -> Sources`: where each source's days are, the boundary between them
  (for the chart's marker and the "history since" line) and ClickHouse's state;
- `agreement(package_id) -> Agreement`: "N of M days agree within 1 %" over the days both
  sources hold, with the days that do not (both numbers);
- `disagreement_markers(package_id, start, end) -> list[quality.Marker]`: those days as
  data-quality markers (kind "sources"), to draw beside sync.quality's;
- `all_time_total(package_id) -> Total`: every mirror-free download held, merged, with the
  day it runs through and whether ClickHouse contributed.
The merged series themselves come from packages_app.store.points (read, by_package,
package_series): the rule "upstream's days are upstream's, ClickHouse fills the days
before" lives there, once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q, QuerySet
from django.db.models.functions import Mod

from packages_app.history.client import enabled
from packages_app.history.models import HistoryState, PackageHistory
from packages_app.models import Metric, Package, Source
from packages_app.names import ALL_PACKAGES
from packages_app.store import points
from packages_app.sync.quality import Marker

MARKER_KIND = "sources"
ONE_DAY = dt.timedelta(days=1)


# --- what the tasks read ---------------------------------------------------------------------


def packages_due_backfill(now: dt.datetime) -> QuerySet[Package]:
    """Active packages with no history yet, or whose backfill failed and may be tried again."""
    never = Q(history__isnull=True) | Q(
        history__state=HistoryState.NEW, history__next_attempt_at__isnull=True
    )
    retry = Q(history__next_attempt_at__lte=now)
    return Package.objects.active().exclude(name=ALL_PACKAGES).filter(never | retry)


def packages_with_history() -> QuerySet[Package]:
    """Active packages ClickHouse has answered for (the weekly re-read)."""
    return (
        Package.objects.active().exclude(name=ALL_PACKAGES).filter(history__state=HistoryState.OK)
    )


# The weekly re-read runs every hour and takes the packages of that hour of the week.
REREAD_SLOTS = 7 * 24


def reread_slot(moment: dt.datetime) -> int:
    """The hour of the week in UTC, 0 (Monday 00:00-00:59) to 167."""
    utc = moment.astimezone(dt.UTC)
    return utc.weekday() * 24 + utc.hour


def packages_due_reread(moment: dt.datetime) -> QuerySet[Package]:
    """The packages with history whose weekly re-read falls in `moment`'s hour: those whose
    id modulo 168 is that hour of the week. Ids are sequential, so every hour takes 1/168 of
    them: 1,000 packages are ~6 re-reads an hour, never 1,000 at once (docs/decisions.md)."""
    return (
        packages_with_history()
        .alias(reread_slot=Mod("pk", REREAD_SLOTS))
        .filter(reread_slot=reread_slot(moment))
    )


# --- what the pages read ---------------------------------------------------------------------


@dataclass(frozen=True)
class Sources:
    """Where a package's days come from."""

    # ClickHouse's days shown: [clickhouse_first, clickhouse_last] (None: none shown).
    clickhouse_first: dt.date | None
    clickhouse_last: dt.date | None
    # Upstream's days: from `boundary` (its first day held) to upstream_latest.
    boundary: dt.date | None
    upstream_latest: dt.date | None
    # ClickHouse's own latest day when last asked, and its state (None: never backfilled).
    clickhouse_latest: dt.date | None
    state: str | None
    last_error: str

    @property
    def first(self) -> dt.date | None:
        """The first day the site shows for the package, whichever source holds it."""
        return self.clickhouse_first or self.boundary


def sources(package: Package) -> Sources:
    """The package's sources (its history row: no query when it came with the package,
    `select_related("history")`, one otherwise)."""
    history = _history_of(package)
    if history is None or history.first_date is None:
        shown_first = shown_last = None
    else:
        shown_first = history.first_date
        shown_last = history.latest_date
        if package.first_date is not None and shown_last is not None:
            shown_last = min(shown_last, package.first_date - ONE_DAY)
        if shown_last is not None and shown_last < shown_first:
            shown_first = shown_last = None
    return Sources(
        clickhouse_first=shown_first,
        clickhouse_last=shown_last,
        boundary=package.first_date,
        upstream_latest=package.latest_date,
        clickhouse_latest=history.source_latest_date if history else None,
        state=history.state if history else None,
        last_error=history.last_error if history else "",
    )


def backfill_pending(package: Package) -> bool:
    """Whether the package is tracked and ClickHouse's backfill of it has not run yet (the
    source on): its pages read ClickHouse live until the history is stored. No query when
    the history row came with the package (`select_related("history")`)."""
    if not enabled() or package.name == ALL_PACKAGES or not package.tracked or package.paused:
        return False
    history = _history_of(package)
    return history is None or history.state == HistoryState.NEW


def _history_of(package: Package) -> PackageHistory | None:
    if Package.history.is_cached(package):
        return getattr(package, "history", None)
    return PackageHistory.objects.filter(package_id=package.pk).first()


@dataclass(frozen=True)
class Disagreement:
    date: dt.date
    upstream: int
    clickhouse: int

    @property
    def apart(self) -> float:
        """How far apart, as a share of upstream's number."""
        return _apart(self.upstream, self.clickhouse)

    def as_marker(self) -> Marker:
        return Marker(
            self.date,
            self.date,
            MARKER_KIND,
            f"Sources disagree: PyPI Stats {self.upstream:,}, ClickHouse {self.clickhouse:,} "
            f"({self.apart:.1%} apart)",
        )


@dataclass(frozen=True)
class Agreement:
    compared: int  # days both sources hold (overall, without mirrors)
    agreeing: int  # of those, within the tolerance
    tolerance: float
    disagreements: list[Disagreement] = field(default_factory=list)

    @property
    def text(self) -> str:
        """What the page states, e.g. "178 of 180 days agree within 1 %"."""
        percent = f"{self.tolerance * 100:g}"
        return f"{self.agreeing} of {self.compared} days agree within {percent} %"


def _apart(upstream: int, clickhouse: int) -> float:
    if upstream == clickhouse:
        return 0.0
    return abs(clickhouse - upstream) / max(upstream, 1)


def agreement(
    package_id: int,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    tolerance: float | None = None,
) -> Agreement:
    """Compare without_mirrors on every day both sources hold (in [start, end]); one query."""
    limit = settings.CLICKHOUSE_AGREEMENT_TOLERANCE if tolerance is None else tolerance
    held: dict[Source, dict[dt.date, int]] = {Source.UPSTREAM: {}, Source.CLICKHOUSE: {}}
    for source in held:
        held[source] = points.by_package(
            package_ids=[package_id],
            metric=Metric.OVERALL,
            category="without_mirrors",
            start=start,
            end=end,
            source=source,
        )[package_id]
    upstream, clickhouse = held[Source.UPSTREAM], held[Source.CLICKHOUSE]
    both = sorted(upstream.keys() & clickhouse.keys())
    disagreements = [
        Disagreement(day, upstream[day], clickhouse[day])
        for day in both
        if _apart(upstream[day], clickhouse[day]) > limit
    ]
    return Agreement(len(both), len(both) - len(disagreements), limit, disagreements)


def disagreement_markers(package_id: int, start: dt.date, end: dt.date) -> list[Marker]:
    """The days in [start, end] where the sources differ by more than the tolerance."""
    found = agreement(package_id, start=start, end=end)
    return [d.as_marker() for d in found.disagreements]


@dataclass(frozen=True)
class Total:
    downloads: int  # every mirror-free download held, merged
    through: dt.date | None  # the last day counted
    since: dt.date | None  # the first day counted
    with_clickhouse: bool  # whether ClickHouse's days are part of it


def all_time_total(package_id: int, *, package: Package | None = None) -> Total:
    """The all-time total without mirrors (the `total` badge, the headline number).

    `package`: the package row when the caller holds it already (saves reading its
    first_date again)."""
    held = points.by_package(
        package_ids=[package_id], metric=Metric.OVERALL, category="without_mirrors"
    )[package_id]
    if not held:
        return Total(0, None, None, False)
    if package is None or package.pk != package_id:
        package = Package.objects.only("first_date").get(pk=package_id)
    first = min(held)
    return Total(
        downloads=sum(held.values()),
        through=max(held),
        since=first,
        with_clickhouse=package.first_date is None or first < package.first_date,
    )


def as_of(package: Package) -> dt.date | None:
    """The newest day the package's merged series holds (upstream's, else ClickHouse's)."""
    if package.latest_date is not None:
        return package.latest_date
    history = PackageHistory.objects.filter(package_id=package.pk).first()
    return history.latest_date if history else None
