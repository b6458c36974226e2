"""Reads for teams and watchlists. Views read through here; nothing here writes."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Count, QuerySet

from packages_app.models import Metric, Package, UpstreamState
from packages_app.names import ALL_PACKAGES
from packages_app.store import points as stored_points
from watchlists import stats
from watchlists.models import Invitation, Membership, Team, Watchlist, WatchlistEntry

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Sort keys the watchlist table accepts (`?sort=week`, `?sort=-week`), and the default.
SORT_KEYS = ("name", "day", "week", "month", "change", "added")
DEFAULT_SORT = "-week"


# --- teams -----------------------------------------------------------------------------


def teams_for_user(user: User) -> list[Membership]:
    """The user's memberships with their teams and member counts, by team name."""
    return list(
        Membership.objects.filter(user=user)
        .select_related("team")
        .annotate(member_count=Count("team__memberships"))
        .order_by("team__name", "team_id")
    )


def team_members(team: Team) -> list[Membership]:
    return list(team.memberships.select_related("user").order_by("-role", "user__username"))


def team_pending_invitations(team: Team) -> QuerySet[Invitation]:
    return team.invitations.usable().select_related("created_by").order_by("-created_at")


# --- limits --------------------------------------------------------------------------------


# --- suggestions ---------------------------------------------------------------------------


def suggest_packages(query: str, *, limit: int = 8) -> list[str]:
    """Tracked package names matching what was typed, prefix matches first (canonical form)."""
    needle = re.sub(r"[-_.]+", "-", query.strip().lower())
    if not needle or len(needle) > 128:
        return []
    base = Package.objects.tracked().exclude(name=ALL_PACKAGES)
    names = list(
        base.filter(name__startswith=needle).order_by("name").values_list("name", flat=True)[:limit]
    )
    if len(names) < limit:
        more = (
            base.filter(name__contains=needle)
            .exclude(name__startswith=needle)
            .order_by("name")
            .values_list("name", flat=True)[: limit - len(names)]
        )
        names += list(more)
    return names


# --- the watchlist table ---------------------------------------------------------------------


@dataclass
class Row:
    entry: WatchlistEntry
    package: Package
    figures: stats.RowFigures

    @property
    def has_data(self) -> bool:
        return self.package.latest_date is not None

    @property
    def waiting(self) -> bool:
        """Still expecting a first answer from the upstream (the table polls for it)."""
        return package_waiting(self.package)


def package_waiting(package: Package) -> bool:
    """Tracked, no data yet, and no answer from the upstream that would end the wait."""
    return (
        package.latest_date is None
        and package.tracked
        and package.upstream_state in (UpstreamState.NEW, UpstreamState.OK)
    )


def waiting_names(watchlist: Watchlist) -> set[str]:
    """The list's packages still waiting for their first data: one query, no figures."""
    packages = Package.objects.filter(watchlist_entries__watchlist=watchlist, latest_date=None)
    fields = ("name", "latest_date", "tracked", "upstream_state")
    return {p.name for p in packages.only(*fields) if package_waiting(p)}


@dataclass
class Totals:
    day: int | None = None
    week: int | None = None
    month: int | None = None
    this_week: int | None = None
    prev_week: int | None = None
    change: float | None = None


@dataclass
class WatchlistTable:
    rows: list[Row]
    totals: Totals
    as_of: dt.date | None
    weeks: stats.Weeks | None
    sort: str
    movers: list[Row] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [row.package.name for row in self.rows]

    @property
    def waiting(self) -> list[str]:
        """Names still waiting for data, sorted: what the table's poll says it shows."""
        return sorted(row.package.name for row in self.rows if row.waiting)


def parse_sort(value: str | None) -> str:
    """A valid sort key from the query string, or the default (bad values are ignored, not errors)."""
    if value and value.lstrip("-") in SORT_KEYS and value.count("-") <= 1:
        return value
    return DEFAULT_SORT


def watchlist_table(watchlist: Watchlist, *, sort: str = DEFAULT_SORT) -> WatchlistTable:
    """Every figure of one list in three queries, whatever its size."""
    return watchlist_tables([watchlist], sort=sort)[watchlist.pk]


def watchlist_tables(
    watchlists: Sequence[Watchlist], *, sort: str = DEFAULT_SORT
) -> dict[int, WatchlistTable]:
    """Tables for several lists at once (the dashboard): still three queries in all."""
    entries = list(
        WatchlistEntry.objects.filter(watchlist__in=[w.pk for w in watchlists])
        .select_related("package", "added_by")
        .order_by("watchlist_id", "package__name")
    )
    series = _series_for([e.package for e in entries])
    by_list: dict[int, list[WatchlistEntry]] = defaultdict(list)
    for entry in entries:
        by_list[entry.watchlist_id].append(entry)
    return {w.pk: _table(by_list.get(w.pk, []), series, parse_sort(sort)) for w in watchlists}


def _series_for(packages: Iterable[Package]) -> dict[int, stats.Series]:
    """overall/without_mirrors for all packages, over the window the figures need, in one query."""
    packages = [p for p in packages if p.latest_date is not None]
    if not packages:
        return {}
    newest = max(p.latest_date for p in packages if p.latest_date is not None)
    start = newest - dt.timedelta(days=stats.WINDOW_DAYS)
    series: dict[int, stats.Series] = defaultdict(dict)
    series.update(
        stored_points.by_package(
            package_ids={p.pk for p in packages},
            metric=Metric.OVERALL,
            category="without_mirrors",
            start=start,
            end=newest,
        )
    )
    return series


def _table(
    entries: list[WatchlistEntry], series: dict[int, stats.Series], sort: str
) -> WatchlistTable:
    latest = [e.package.latest_date for e in entries if e.package.latest_date is not None]
    as_of = max(latest) if latest else None
    rows = [
        Row(
            entry=e,
            package=e.package,
            figures=stats.row_figures(series.get(e.package_id, {}), e.package.latest_date, as_of),
        )
        for e in entries
    ]
    totals = Totals(
        day=_sum(r.figures.day for r in rows),
        week=_sum(r.figures.week for r in rows),
        month=_sum(r.figures.month for r in rows),
    )
    # The list's week-over-week counts only packages whose both weeks are complete,
    # so a package added mid-way does not read as growth.
    both = [r for r in rows if r.figures.this_week is not None and r.figures.prev_week is not None]
    if both:
        totals.this_week = sum(r.figures.this_week or 0 for r in both)
        totals.prev_week = sum(r.figures.prev_week or 0 for r in both)
        totals.change = stats.change_ratio(totals.this_week, totals.prev_week)
    movers = sorted(
        (r for r in rows if r.figures.change is not None),
        key=lambda r: abs(r.figures.change or 0.0),
        reverse=True,
    )[:3]
    return WatchlistTable(
        rows=sort_rows(rows, sort),
        totals=totals,
        as_of=as_of,
        weeks=stats.complete_weeks(as_of) if as_of else None,
        sort=sort,
        movers=movers,
    )


def sort_rows(rows: list[Row], sort: str) -> list[Row]:
    key = sort.lstrip("-")
    descending = sort.startswith("-")
    if key == "name":
        return sorted(rows, key=lambda r: r.package.name, reverse=descending)
    if key == "added":
        return sorted(rows, key=lambda r: (r.entry.added_at, r.package.name), reverse=descending)

    def value(row: Row) -> float | None:
        figure: float | None = getattr(row.figures, key)
        return figure

    present = [r for r in rows if value(r) is not None]
    missing = [r for r in rows if value(r) is None]
    present.sort(key=lambda r: r.package.name)
    present.sort(key=lambda r: value(r) or 0, reverse=descending)
    # Rows without a figure always go last, whichever the direction.
    return present + sorted(missing, key=lambda r: r.package.name)


def _sum(values: Iterable[int | None]) -> int | None:
    held = [v for v in values if v is not None]
    return sum(held) if held else None


# --- dashboard -----------------------------------------------------------------------------


def dashboard_lists(user: User) -> tuple[list[Watchlist], list[Watchlist]]:
    """(my own lists, my teams' lists), each with its owner team loaded."""
    lists = list(
        Watchlist.objects.visible_to(user)
        .select_related("owner_team")
        .annotate(package_count=Count("entries"))
        .order_by("name", "id")
    )
    # Each also carries `package_count`, which the templates show.
    mine: list[Watchlist] = [w for w in lists if w.owner_user_id == user.pk]
    teams: list[Watchlist] = [w for w in lists if w.owner_team_id is not None]
    return mine, teams
