"""Finding packages by name: suggestions as you type and the header search box.

Matching is on canonical names (PEP 503), so `Django`, `zope_interface` and
`zope.interface` all find `zope-interface`. Ranking: the exact name, then tracked
packages before untracked ones (history kept, no longer refreshed), then prefix
matches before substring matches, then shorter names. Below the stored packages come the
projects ClickHouse knows by that prefix that are not stored here, biggest first
(history/live.py's prefix query, cached briefly; none when the source is off or fails).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db.models import Case, IntegerField, Value, When
from django.db.models.functions import Length

from packages_app.history import live
from packages_app.models import Package
from packages_app.names import ALL_PACKAGES, MAX_NAME_LENGTH, canonicalize_or_none

SUGGESTION_LIMIT = 10
# ClickHouse is asked from this many characters on: one letter matches tens of thousands.
LIVE_MIN_PREFIX = 2
_SEPARATORS = re.compile(r"[-_.\s]+")


def search_key(query: str) -> str:
    """The query as a canonical-name fragment: lower case, runs of separators as one `-`."""
    query = query.strip()[:MAX_NAME_LENGTH]
    if query == ALL_PACKAGES:
        return query
    return _SEPARATORS.sub("-", query).lower()


@dataclass(frozen=True)
class LiveMatch:
    """A project ClickHouse knows that is not stored here, with its every download."""

    name: str
    total: int


@dataclass(frozen=True)
class Suggestions:
    query: str
    key: str
    matches: list[Package] = field(default_factory=list)
    # The canonical name of a valid query that no tracked package has: offer to track it.
    offer: str | None = None
    exact: Package | None = None
    # Projects not stored here that ClickHouse knows, starting with the query.
    untracked: list[LiveMatch] = field(default_factory=list)


def suggest(query: str, *, limit: int = SUGGESTION_LIMIT) -> Suggestions:
    """Packages whose canonical name contains the query, best first, in one query."""
    key = search_key(query)
    if not key.strip("-"):
        return Suggestions(query=query, key=key)
    matches: list[Package] = list(
        Package.objects.filter(name__contains=key)
        .annotate(
            exact=Case(
                When(name=key, then=Value(1)), default=Value(0), output_field=IntegerField()
            ),
            prefix=Case(
                When(name__startswith=key, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            ),
        )
        .select_related("recent")
        .order_by("-exact", "-tracked", "-prefix", Length("name"), "name")[:limit]
    )
    exact = next((p for p in matches if p.name == key), None)
    canonical = canonicalize_or_none(query.strip())
    offer = canonical if canonical and (exact is None or not exact.tracked) else None
    return Suggestions(
        query=query,
        key=key,
        matches=matches,
        offer=offer,
        exact=exact,
        untracked=_live_matches(key, {p.name for p in matches}, limit),
    )


def _live_matches(key: str, stored: set[str], limit: int) -> list[LiveMatch]:
    if len(key) < LIVE_MIN_PREFIX or key == ALL_PACKAGES:
        return []
    # Ask for `limit` beyond the stored ones shown: some of ClickHouse's may be those.
    found = live.prefix_matches(key, limit + len(stored))
    names = ((canonicalize_or_none(name), total) for name, total in found)
    return [LiveMatch(name, total) for name, total in names if name and name not in stored][:limit]
