"""The ClickHouse source in the admin: each package's history state, read-only.

Registered from packages_app/admin.py (Django's autodiscovery imports that module only).
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.text import Truncator

from packages_app.history.models import PackageHistory


@admin.register(PackageHistory)
class PackageHistoryAdmin(admin.ModelAdmin[PackageHistory]):
    list_display = [
        "package",
        "state",
        "first_date",
        "latest_date",
        "source_latest_date",
        "backfilled_at",
        "consecutive_failures",
        "short_error",
    ]
    list_filter = ["state"]
    search_fields = ["package__name"]
    list_select_related = ["package"]
    readonly_fields = [f.name for f in PackageHistory._meta.fields]

    @admin.display(description="error")
    def short_error(self, obj: PackageHistory) -> str:
        return Truncator(obj.last_error).chars(80)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: PackageHistory | None = None
    ) -> bool:
        return False
