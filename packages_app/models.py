"""Tracked packages and their daily download series.

Storage is the point of this app: every day ever fetched is kept (upstream drops
days after 180), so the series table is designed to stay small per point:
  - the category string is stored once, in Category, and referenced by a smallint;
  - one row holds a calendar month of one package's category: PostgreSQL's fixed
    costs per row (a 24-byte tuple header, line pointers, an index tuple) are paid
    once per ~30 days instead of once per day; the days are packed 8 bytes each
    (see points.py, the only code that reads or writes them);
  - the natural key (package, category, month) is the primary key itself, so there
    is no surrogate id column and no second unique index;
  - on PostgreSQL that primary key INCLUDEs the packed days (migration 0003), so the
    reads pages and the API make ("one package, one metric, a date range") are
    index-only scans.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from packages_app.categories import CATEGORIES


class Metric(models.IntegerChoices):
    """The four upstream time-series endpoints."""

    OVERALL = 1, "overall"
    PYTHON_MAJOR = 2, "python_major"
    PYTHON_MINOR = 3, "python_minor"
    SYSTEM = 4, "system"

    @classmethod
    def from_slug(cls, slug: str) -> Metric:
        for member in cls:
            if member.label == slug:
                return member
        raise ValueError(slug)

    @property
    def categories(self) -> tuple[str, ...]:
        """The categories upstream reports for this metric, in page order (categories.py)."""
        return CATEGORIES[self.label]


class Source(models.IntegerChoices):
    """Where a stored point came from (docs/decisions.md, "Two sources in one store").

    Kept on the category (a point's category says its source), so it costs no byte per
    point and an upstream refresh and a ClickHouse backfill write disjoint rows: neither
    can erase the other's days.
    """

    UPSTREAM = 1, "upstream"
    CLICKHOUSE = 2, "clickhouse"


class UpstreamState(models.TextChoices):
    NEW = "new", "Waiting for first refresh"
    OK = "ok", "OK"
    NOT_FOUND = "not_found", "Not on PyPI Stats"
    FAILING = "failing", "Failing"


class PackageQuerySet(models.QuerySet["Package"]):
    def tracked(self) -> PackageQuerySet:
        return self.filter(tracked=True)

    def active(self) -> PackageQuerySet:
        """Tracked and not paused: the packages the sweeps refresh."""
        return self.filter(tracked=True, paused=False)


class Package(models.Model):
    # A 4-byte key: it is repeated in every stored point.
    id = models.AutoField(primary_key=True)
    name = models.CharField(max_length=128, unique=True, help_text="PEP 503 canonical name")
    tracked = models.BooleanField(default=True)
    paused = models.BooleanField(default=False, help_text="Tracked, but not refreshed for now")
    upstream_state = models.CharField(
        max_length=16, choices=UpstreamState.choices, default=UpstreamState.NEW
    )
    first_date = models.DateField(null=True, blank=True, help_text="Earliest date held")
    latest_date = models.DateField(null=True, blank=True, help_text="Latest date held")
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every refresh that commits a change; cached API answers and
    # pages are keyed by it, so a reader never mixes before and after.
    data_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = PackageQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["tracked", "paused", "next_attempt_at"], name="pkg_due"),
            # The API's default window ends at the latest date held for any package
            # (upstream's ETL date): max(latest_date) on every API request, one index probe.
            models.Index(fields=["latest_date"], name="pkg_latest_date"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def upstream_unreachable(self) -> bool:
        """The last refresh failed because upstream could not be reached at all."""
        from packages_app.sync.upstream import is_unreachable

        return bool(self.last_error) and is_unreachable(self.last_error)

    @property
    def has_data(self) -> bool:
        return self.latest_date is not None

    def is_stale(self, today: dt.date | None = None) -> bool:
        """True when the newest day held is more than two days behind 'yesterday'."""
        today = today or timezone.now().date()
        return self.latest_date is None or (today - self.latest_date).days > 3


class Category(models.Model):
    """A (metric, category, source) as upstream spells it: `with_mirrors`, `3.10`, `Linux`, `null`…

    ClickHouse's points are stored under categories of their own (same names, mapped to
    upstream's spelling, `source` = clickhouse), so every stored point knows its source.
    """

    id = models.SmallAutoField(primary_key=True)
    metric = models.PositiveSmallIntegerField(choices=Metric.choices)
    name = models.CharField(max_length=16)
    source = models.PositiveSmallIntegerField(choices=Source.choices, default=Source.UPSTREAM)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["metric", "name", "source"], name="category_metric_name_source_uniq"
            )
        ]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        suffix = "" if self.source == Source.UPSTREAM else f" ({Source(self.source).label})"
        return f"{Metric(self.metric).label}:{self.name}{suffix}"


class DownloadMonth(models.Model):
    """One calendar month of daily downloads of one package in one category.

    `days` packs one big-endian signed 64-bit value per day of the month (28 to 31
    of them); -1 marks a day we do not hold. Read and write it only through
    `packages_app.store.points`, which also keeps `held` (the days held) in step.
    """

    pk = models.CompositePrimaryKey("package", "category", "month")
    # No separate FK indexes: the primary key (package, category, month) already
    # leads with package, and categories are never deleted while months use them.
    package = models.ForeignKey(
        Package, on_delete=models.CASCADE, related_name="months", db_index=False
    )
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    held = models.PositiveSmallIntegerField(help_text="Days of the month held")
    month = models.DateField(help_text="The first day of the month")
    days = models.BinaryField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(month__day=1), name="downloadmonth_month_first_day"
            ),
            models.CheckConstraint(
                condition=models.Q(held__gte=1, held__lte=31), name="downloadmonth_held_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.package_id}/{self.category_id}/{self.month:%Y-%m} ({self.held} days)"


class RecentDownloads(models.Model):
    """Upstream's `recent` rows. A missing period is NULL, which the API answers as upstream does."""

    package = models.OneToOneField(
        Package, on_delete=models.CASCADE, primary_key=True, related_name="recent"
    )
    last_day = models.BigIntegerField(null=True, blank=True)
    last_week = models.BigIntegerField(null=True, blank=True)
    last_month = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "recent downloads"

    def __str__(self) -> str:
        # Shown as is by the admin's inline: figures, not ids.
        def count(value: int | None) -> str:
            return "—" if value is None else f"{value:,}"

        return (
            f"{count(self.last_day)} last day, {count(self.last_week)} last week, "
            f"{count(self.last_month)} last month"
        )


class RefreshRun(models.Model):
    """One refresh of one package: what it cost and what it changed."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        OK = "ok", "OK"
        NOT_FOUND = "not_found", "Not on PyPI Stats"
        FAILED = "failed", "Failed"

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="refresh_runs")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    calls = models.PositiveIntegerField(default=0)
    inserted = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["package", "-started_at"], name="refreshrun_pkg_started")]

    def __str__(self) -> str:
        return f"{self.package_id} @ {self.started_at:%Y-%m-%d %H:%M} {self.status}"


class DatabaseIdentity(models.Model):
    """One row, written once per database by its migration: the id that every cache key and
    API ETag built from this database carries (packages_app/database_identity.py), so that a
    cache shared by two databases (a demo beside `make run`, a test database, a restored
    backup's successor) never serves one's answers for the other's."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    uid = models.UUIDField(default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name_plural = "database identity"

    def __str__(self) -> str:
        return str(self.uid)


# The ClickHouse source's per-package state lives beside its code (packages_app/history/);
# imported here so Django registers it with this app.
from packages_app.history.models import PackageHistory  # noqa: E402, F401
