"""Admin for tracked packages and their refresh history.

The stored months (DownloadMonth) are not registered: their primary key is composite,
which the admin cannot address, and their days are packed; the package list shows
how many points each package holds.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import InlineModelAdmin
from django.db import transaction
from django.db.models import Model, OuterRef, QuerySet, Subquery, Sum
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from packages_app.models import Category, DownloadMonth, Package, RecentDownloads, RefreshRun
from packages_app.names import InvalidPackageName, canonicalize
from packages_app.sync import services

if TYPE_CHECKING:
    # django-stubs' names for what the admin's get_* hooks return.
    from django.contrib.admin.options import _FieldsetSpec
    from django.utils.datastructures import _ListOrTuple


class PackageAddForm(forms.ModelForm[Package]):
    """Adding a package: the name is validated and stored canonical (PEP 503)."""

    class Meta:
        model = Package
        fields = ["name"]
        help_texts = {"name": "A PyPI project name; stored in canonical form (Django -> django)."}

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        try:
            canonical = canonicalize(name)
        except InvalidPackageName:
            raise forms.ValidationError(
                "%(name)s is not a valid PyPI project name (letters, digits, '.', '_', '-'; "
                "starting and ending with a letter or digit; at most 128 characters).",
                code="invalid",
                params={"name": repr(name)},
            ) from None
        if Package.objects.filter(name=canonical).exists():
            raise forms.ValidationError(
                "%(name)s is already tracked.", code="duplicate", params={"name": canonical}
            )
        return canonical


class RecentDownloadsInline(admin.StackedInline[RecentDownloads, Package]):
    model = RecentDownloads
    can_delete = False
    readonly_fields = ("last_day", "last_week", "last_month", "updated_at")
    fields = ("last_day", "last_week", "last_month", "updated_at")
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Package | None = None) -> bool:
        return False


@admin.register(Package)
class PackageAdmin(admin.ModelAdmin[Package]):
    list_display = [
        "name",
        "upstream_state",
        "tracked",
        "paused",
        "latest_held",
        "history_since",
        "points_held",
        "last_refreshed_at",
        "short_error",
    ]
    list_filter = ["upstream_state", "tracked", "paused"]
    search_fields = ["name"]
    ordering = ["name"]
    actions = ["refresh_now", "pause", "resume"]
    inlines = [RecentDownloadsInline]
    readonly_fields = [
        "name",
        "upstream_state",
        "first_date",
        "latest_date",
        "last_refreshed_at",
        "last_error",
        "last_error_at",
        "consecutive_failures",
        "next_attempt_at",
        "data_version",
        "created_at",
        "added_by",
        "points_held",
        "refresh_history",
    ]
    fieldsets = [
        (None, {"fields": ["name", "tracked", "paused", "upstream_state"]}),
        ("Data held", {"fields": ["first_date", "latest_date", "points_held", "data_version"]}),
        (
            "Refresh",
            {
                "fields": [
                    "last_refreshed_at",
                    "next_attempt_at",
                    "consecutive_failures",
                    "last_error",
                    "last_error_at",
                    "refresh_history",
                ]
            },
        ),
        ("Origin", {"fields": ["created_at", "added_by"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Package]:
        # One correlated count per listed row, in the same query: no N+1.
        points = (
            DownloadMonth.objects.filter(package=OuterRef("pk"))
            .order_by()
            .values("package")
            .annotate(n=Sum("held"))
            .values("n")
        )
        queryset: QuerySet[Package] = super().get_queryset(request)
        return queryset.annotate(points_count=Subquery(points))

    def get_form(
        self,
        request: HttpRequest,
        obj: Package | None = None,
        change: bool = False,
        # ModelAdmin.get_form's options (fields, exclude, formfield_callback...), passed on.
        **kwargs: Any,
    ) -> type[forms.ModelForm[Package]]:
        if obj is None:
            kwargs["form"] = PackageAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Package | None = None) -> _FieldsetSpec:
        if obj is None:
            return [(None, {"fields": ["name"]})]
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(
        self, request: HttpRequest, obj: Package | None = None
    ) -> _ListOrTuple[str]:
        return self.readonly_fields if obj is not None else []

    def get_inlines(
        self, request: HttpRequest, obj: Package | None
    ) -> _ListOrTuple[type[InlineModelAdmin[Model, Package]]]:
        return self.inlines if obj is not None else []

    def save_model(
        self, request: HttpRequest, obj: Package, form: forms.ModelForm[Package], change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        package, _ = services.package_track(name=obj.name, user=request.user)
        obj.pk = package.pk
        obj.refresh_from_db()

    @admin.display(description="latest date held", ordering="latest_date")
    def latest_held(self, obj: Package) -> dt.date | None:
        return obj.latest_date

    @admin.display(description="history since", ordering="first_date")
    def history_since(self, obj: Package) -> dt.date | None:
        return obj.first_date

    @admin.display(description="points held", ordering="points_count")
    def points_held(self, obj: Package) -> int:
        return getattr(obj, "points_count", None) or 0

    @admin.display(description="last error")
    def short_error(self, obj: Package) -> str:
        return Truncator(obj.last_error).chars(80)

    @admin.display(description="refresh history")
    def refresh_history(self, obj: Package) -> str:
        runs = RefreshRun.objects.filter(package=obj).order_by("-started_at")[:10]
        url = reverse("admin:packages_app_refreshrun_changelist") + f"?package__id__exact={obj.pk}"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    timezone.localtime(r.started_at).strftime("%Y-%m-%d %H:%M:%S"),
                    r.status,
                    r.calls,
                    r.inserted,
                    r.updated,
                    Truncator(r.error).chars(60),
                )
                for r in runs
            ),
        )
        return format_html(
            "<table><tr><th>started</th><th>status</th><th>calls</th><th>inserted</th>"
            "<th>updated</th><th>error</th></tr>{}</table><p><a href='{}'>All refreshes</a></p>",
            rows,
            url,
        )

    @admin.action(description="Refresh now (enqueue)")
    def refresh_now(self, request: HttpRequest, queryset: QuerySet[Package]) -> None:
        from packages_app.sync.tasks import refresh_package

        ids = list(queryset.values_list("pk", flat=True))
        transaction.on_commit(lambda: [refresh_package.delay(pk) for pk in ids])
        self.message_user(
            request, f"Enqueued a refresh of {len(ids)} package(s).", messages.SUCCESS
        )

    @admin.action(description="Pause refreshing")
    def pause(self, request: HttpRequest, queryset: QuerySet[Package]) -> None:
        count = queryset.update(paused=True)
        self.message_user(request, f"Paused {count} package(s).", messages.SUCCESS)

    @admin.action(description="Resume refreshing")
    def resume(self, request: HttpRequest, queryset: QuerySet[Package]) -> None:
        count = queryset.update(paused=False, next_attempt_at=timezone.now())
        self.message_user(
            request, f"Resumed {count} package(s); they are due now.", messages.SUCCESS
        )


@admin.register(RefreshRun)
class RefreshRunAdmin(admin.ModelAdmin[RefreshRun]):
    """The refresh history: read only."""

    list_display = [
        "package",
        "started_at",
        "finished_at",
        "status",
        "calls",
        "inserted",
        "updated",
        "unchanged",
        "short_error",
    ]
    list_filter = ["status"]
    search_fields = ["package__name"]
    list_select_related = ["package"]
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in RefreshRun._meta.fields]

    @admin.display(description="error")
    def short_error(self, obj: RefreshRun) -> str:
        return Truncator(obj.error).chars(80)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: RefreshRun | None = None) -> bool:
        return False


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin[Category]):
    list_display = ["id", "metric", "name", "source"]
    list_filter = ["metric", "source"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Category | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Category | None = None) -> bool:
        return False


# The ClickHouse source's per-package state (packages_app/history/admin.py).
from packages_app.history import admin as history_admin  # noqa: E402, F401
