"""What alerts and digests say about versions and installers (issue #16 item 4), from
ClickHouse through the breakdown layer (history/breakdown_selectors.py, cached):

- the latest release's share of the last 7 days ClickHouse holds ("adoption of your latest
  release": Adoption.latest_recorded, the newest final release with downloads);
- each named installer's share of the last 7 days' installs, without mirrors ("a new
  installer passed 10 %": every installer but pip, and not the unnamed rest).

One place for both: alerts.py evaluates its ADOPTION and INSTALLER rules on these facts and
digests.py lists them. Nothing when ClickHouse is off; a package ClickHouse fails for is left
out this time (logged), the next run asks again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from packages_app.history import breakdown_selectors as selectors
from packages_app.history.breakdown_selectors import INSTALLER_CATEGORIES, OTHER, Kind
from packages_app.history.client import ClickHouseDisabled, ClickHouseError, enabled

logger = logging.getLogger(__name__)

WINDOW_DAYS = 7
# The installers a "new installer" alert watches: every named one but pip.
WATCHED_INSTALLERS: tuple[str, ...] = tuple(
    k for k in INSTALLER_CATEGORIES if k not in ("pip", OTHER)
)
# The digest names installers at or above this share.
DIGEST_INSTALLER_PCT = 10.0


@dataclass(frozen=True)
class BreakdownFacts:
    name: str
    window_end: dt.date  # ClickHouse's latest day for the package
    latest_version: str | None  # the newest final release with downloads
    latest_share: float | None  # its percent of the last 7 days
    installer_shares: dict[str, float] = field(default_factory=dict)  # percent of installs

    def installers_at_least(self, pct: float) -> list[tuple[str, float]]:
        """Watched installers at or above `pct`, biggest first."""
        found = [(k, v) for k, v in self.installer_shares.items() if k in WATCHED_INSTALLERS]
        return sorted(((k, v) for k, v in found if v >= pct), key=lambda kv: (-kv[1], kv[0]))


@dataclass
class FactsResult:
    facts: dict[str, BreakdownFacts] = field(default_factory=dict)
    unavailable: list[str] = field(default_factory=list)  # ClickHouse failed for these


def offered() -> bool:
    return enabled()


def facts_for(name: str) -> BreakdownFacts | None:
    """One package's facts (None: ClickHouse never saw it). Raises ClickHouseError."""
    held = selectors.held(name)
    if held is None:
        return None
    adoption = selectors.adoption(name, held)
    latest = adoption.latest_recorded
    start = max(held.first, held.latest - dt.timedelta(days=WINDOW_DAYS - 1))
    installers = selectors.series(name, held, Kind.INSTALLERS, start, held.latest)
    whole = sum(sum(days.values()) for days in installers.values())
    shares = (
        {k: round(100.0 * sum(days.values()) / whole, 2) for k, days in installers.items()}
        if whole
        else {}
    )
    return BreakdownFacts(
        name=name,
        window_end=held.latest,
        latest_version=latest.version if latest else None,
        latest_share=latest.last_week_share if latest else None,
        installer_shares=shares,
    )


def facts(names: Iterable[str]) -> FactsResult:
    """The facts of every name ClickHouse holds; empty when ClickHouse is off."""
    result = FactsResult()
    if not offered():
        return result
    for name in names:
        try:
            found = facts_for(name)
        except ClickHouseDisabled:
            return FactsResult()
        except ClickHouseError as exc:
            logger.warning("breakdown facts of %s: ClickHouse failed: %s", name, exc)
            result.unavailable.append(name)
            continue
        if found is not None:
            result.facts[name] = found
    return result
