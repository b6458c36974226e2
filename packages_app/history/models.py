"""The ClickHouse source's state per package: what it holds and how its last backfill went.

Package.first_date/latest_date stay upstream's (the compatible API's window and the
merge boundary are read from them); the days ClickHouse filled are described here.
"""

from __future__ import annotations

from django.db import models

from packages_app.models import Package


class HistoryState(models.TextChoices):
    NEW = "new", "Not backfilled yet"
    OK = "ok", "OK"
    NOT_FOUND = "not_found", "Not in ClickHouse"
    FAILING = "failing", "Failing"


class PackageHistory(models.Model):
    package = models.OneToOneField(
        Package, on_delete=models.CASCADE, primary_key=True, related_name="history"
    )
    state = models.CharField(max_length=16, choices=HistoryState.choices, default=HistoryState.NEW)
    first_date = models.DateField(null=True, blank=True, help_text="Earliest ClickHouse day held")
    latest_date = models.DateField(null=True, blank=True, help_text="Latest ClickHouse day held")
    # ClickHouse's own latest date for the package when last asked (pypi_downloads_max_min):
    # behind what we hold means its sync lags, which the page can say.
    source_latest_date = models.DateField(null=True, blank=True)
    backfilled_at = models.DateTimeField(null=True, blank=True, help_text="Last successful read")
    queries = models.PositiveIntegerField(default=0, help_text="Queries of the last backfill")
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "packages_app"
        verbose_name_plural = "package histories"
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="history_due")]

    def __str__(self) -> str:
        return f"{self.package_id}: {self.state} {self.first_date}..{self.latest_date}"
