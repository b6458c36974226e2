"""The upstream golden captures: a parser, and the seed data they were recorded with.

../shared/upstream/golden-captures.txt (beside the project root) holds real request/response pairs from the
pypistats.org server code run locally on 2026-11-24. `captures()` parses them into
Capture records; `load_seed()` writes the same data (described in the file's header
comment) into our models, with the `recent` rows as upstream's update_recent_stats()
computed them.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from django.db import transaction
from django.utils import timezone

from packages_app.demo import data as demo_data
from packages_app.models import Category, Metric, Package, RecentDownloads
from tests.stored_points import Point, store

# The team's shared folder sits beside the project root: ../shared relative to it.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
GOLDEN_PATH = Path(
    os.environ.get(
        "GOLDEN_CAPTURES", PROJECT_ROOT.parent / "shared" / "upstream" / "golden-captures.txt"
    )
)
# The checked-in copy is used when ../shared is not there (a fresh clone elsewhere).
LOCAL_COPY = Path(__file__).parent / "data" / "golden-captures.txt"

TODAY = dt.date(2026, 11, 24)
D = TODAY - dt.timedelta(days=1)  # upstream's ETL date: "yesterday"
# When our seed says the data was last refreshed (Last-Modified).
REFRESHED_AT = dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.UTC)
# The host:port the captures were recorded against (it appears in the /api redirect).
CAPTURE_ORIGIN = "http://127.0.0.1:5093"
CAPTURED_HOST = CAPTURE_ORIGIN.removeprefix("http://")
GOLDEN_TODAY = TODAY


@dataclass(frozen=True)
class Capture:
    method: str
    target: str  # path and query, as sent
    status: int
    reason: str  # upstream's status text, e.g. NOT FOUND
    content_type: str | None
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.target).query, keep_blank_values=True)


def _source() -> Path:
    return GOLDEN_PATH if GOLDEN_PATH.exists() else LOCAL_COPY


def captures(path: Path | None = None) -> list[Capture]:
    """Every `=== METHOD target` block: status line, headers, blank line, body."""
    text = (path or _source()).read_text()
    # The trailing commentary (C collation, rate limiting, misc) is not a capture.
    text = text.split("\n# ----", 1)[0]
    blocks = text.split("\n=== ")[1:]
    result = []
    for block in blocks:
        request_line, rest = block.split("\n", 1)
        method, target = request_line.split(" ", 1)
        head, _, body = rest.partition("\n\n")
        status_line, *header_lines = head.split("\n")
        _, code, reason = status_line.split(" ", 2)
        status = int(code)
        headers = {}
        for line in header_lines:
            key, _, value = line.partition(": ")
            headers[key.lower()] = value
        length = int(headers.get("content-length", "0"))
        body_bytes = body.encode()[:length]
        assert len(body_bytes) == length, f"{target}: body shorter than Content-Length"
        result.append(
            Capture(
                method, target, status, reason, headers.get("content-type"), headers, body_bytes
            )
        )
    return result


# The name the demo-upstream tests use.
load_captures = captures


# --- The seed ---------------------------------------------------------------------------
# One source for the seed: packages_app.demo.data.golden_series, which the demo upstream
# serves (tests/packages_app/test_api_vs_demo_upstream.py checks it against the captures).

METRICS = {
    "overall": Metric.OVERALL,
    "python_major": Metric.PYTHON_MAJOR,
    "python_minor": Metric.PYTHON_MINOR,
    "system": Metric.SYSTEM,
}


def _category(metric: Metric, name: str) -> Category:
    category, _ = Category.objects.get_or_create(metric=metric, name=name)
    return category


@transaction.atomic
def load_seed() -> dict[str, Package]:
    """Write the captures' data into our models; return the packages by name."""
    seed = demo_data.golden_series(TODAY)
    packages: dict[str, Package] = {}
    for name in sorted(set(seed) | set(demo_data.GOLDEN_EXTRA_RECENT)):
        packages[name] = Package.objects.create(
            name=name,
            upstream_state="ok",
            last_refreshed_at=REFRESHED_AT,
            data_version=1,
        )
    points = [
        Point(packages[name], _category(METRICS[endpoint], category), date, downloads)
        for name, by_endpoint in seed.items()
        for endpoint, rows in by_endpoint.items()
        for category, date, downloads in rows
    ]
    store(points)
    # The `recent` rows as upstream's update_recent_stats() computed them, plus the
    # hand-inserted one.
    recents = {
        name: demo_data.recent_from_overall(by_endpoint.get("overall", []), TODAY)
        for name, by_endpoint in seed.items()
    }
    recents.update(demo_data.GOLDEN_EXTRA_RECENT)
    for name, sums in recents.items():
        if sums:
            RecentDownloads.objects.create(
                package=packages[name],
                last_day=sums.get("day"),
                last_week=sums.get("week"),
                last_month=sums.get("month"),
                updated_at=REFRESHED_AT,
            )
    for package in packages.values():
        dates = [p.date for p in points if p.package.pk == package.pk]
        if dates:
            package.first_date, package.latest_date = min(dates), max(dates)
            package.save(update_fields=["first_date", "latest_date"])
    return packages


def bump(package: Package) -> None:
    """What a committed refresh does to the package row."""
    Package.objects.filter(pk=package.pk).update(
        data_version=package.data_version + 1, last_refreshed_at=timezone.now()
    )
    package.refresh_from_db()
