"""A watchlist's chosen breakdown column (issue #16 item 4): "uv share", "on latest release"…

The owner picks it in the list's settings (Watchlist.column, ListColumn); the table shows,
for every package ClickHouse holds, the category's percent of its downloads over the last 7
days. Read for the whole list at once (history/breakdown_keys.list_shares: three ClickHouse
queries at most, cached, no database query), and only while ClickHouse is on: with
CLICKHOUSE_URL empty the column is neither offered nor shown. ClickHouse failing leaves the
column's cells empty with a note, never the page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from packages_app.history import breakdown_keys
from packages_app.history.breakdown_keys import ListCell
from packages_app.history.breakdown_selectors import Kind
from packages_app.history.client import ClickHouseError, enabled
from watchlists.models import ListColumn

logger = logging.getLogger(__name__)

COLUMN_HELP = {
    ListColumn.LATEST: "Share of the last 7 days' downloads on each package's newest final "
    "release (every download, from ClickHouse).",
}
INSTALLER_HELP = (
    "{installer}'s share of each package's installs over the last 7 days (without mirrors, "
    "from ClickHouse)."
)


def offered() -> bool:
    return enabled()


def column_spec(column: str) -> tuple[Kind, str] | None:
    """(kind, category) of a stored column; None for none or an unknown value."""
    if column not in ListColumn.values or not column:
        return None
    kind, _, key = column.partition(":")
    return (Kind.INSTALLERS if kind == "installer" else Kind.VERSIONS, key)


@dataclass
class ColumnValues:
    """The table's extra column: its label, help, and each package's cell."""

    key: str
    label: str
    help: str
    cells: dict[str, ListCell] = field(default_factory=dict)
    unavailable: bool = False

    @property
    def shows_version(self) -> bool:
        return self.key == ListColumn.LATEST


def column_values(column: str, names: Iterable[str]) -> ColumnValues | None:
    """The list's column for these package names; None when it has none or ClickHouse is off."""
    spec = column_spec(column)
    if spec is None or not offered():
        return None
    kind, key = spec
    choice = ListColumn(column)
    help_text = COLUMN_HELP.get(choice) or INSTALLER_HELP.format(installer=key)
    values = ColumnValues(str(choice.value), str(choice.label), help_text)
    try:
        values.cells = breakdown_keys.list_shares(list(names), kind, key)
    except ClickHouseError as exc:
        logger.warning("watchlist column %s: ClickHouse failed: %s", column, exc)
        values.unavailable = True
    return values
