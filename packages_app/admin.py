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
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Model, OuterRef, QuerySet, Subquery, Sum
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.urls import URLPattern, path, reverse
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


def _count(value: int | None) -> str:
    return "—" if value is None else intcomma(value)


class RecentDownloadsInline(admin.TabularInline[RecentDownloads, Package]):
    """Upstream's `recent` figures, as numbers with separators (one row per package)."""

    model = RecentDownloads
    can_delete = False
    readonly_fields = ("day", "week", "month", "updated_at")
    fields = ("day", "week", "month", "updated_at")
    extra = 0
    verbose_name = verbose_name_plural = "recent downloads (without mirrors)"

    def has_add_permission(self, request: HttpRequest, obj: Package | None = None) -> bool:
        return False

    @admin.display(description="last day")
    def day(self, obj: RecentDownloads) -> str:
        return _count(obj.last_day)

    @admin.display(description="last week")
    def week(self, obj: RecentDownloads) -> str:
        return _count(obj.last_week)

    @admin.display(description="last month")
    def month(self, obj: RecentDownloads) -> str:
        return _count(obj.last_month)


def _set_paused(queryset: QuerySet[Package], *, paused: bool) -> int:
    """Pause or resume: the list's bulk actions and the change page's button both."""
    if paused:
        return queryset.update(paused=True)
    # Resumed packages are due at once: the next sweep refreshes them.
    return queryset.update(paused=False, next_attempt_at=timezone.now())


def _enqueue_refresh(queryset: QuerySet[Package]) -> int:
    """Queue one refresh task per package, once this request's transaction commits."""
    from packages_app.sync.tasks import refresh_package

    ids = list(queryset.values_list("pk", flat=True))
    transaction.on_commit(lambda: [refresh_package.delay(pk) for pk in ids])
    return len(ids)


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
    # "Refresh now" and "Pause/Resume" buttons on the change page (object tools).
    change_form_template = "admin/packages_app/package/change_form.html"
    readonly_fields = [
        "name",
        "upstream_state",
        "first_date",
        "latest_date",
        "last_refreshed_at",
        "error_details",
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
                    "error_details",
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

    class Media:
        css = {"all": ["css/admin.css"]}

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<int:object_id>/refresh/",
                self.admin_site.admin_view(self.refresh_view),
                name="packages_app_package_refresh",
            ),
            path(
                "<int:object_id>/pause/",
                self.admin_site.admin_view(self.pause_view),
                name="packages_app_package_pause",
            ),
        ]
        return own + super().get_urls()

    def _one(self, request: HttpRequest, object_id: int) -> QuerySet[Package]:
        """The package as a queryset, for a staff user allowed to change it; else 403/404."""
        package = self.get_object(request, str(object_id))
        if package is None:
            raise Http404("No such package")
        if not self.has_change_permission(request, package):
            raise PermissionDenied
        return Package.objects.filter(pk=package.pk)

    def _back(self, object_id: int) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:packages_app_package_change", args=[object_id]))

    def refresh_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        one = self._one(request, object_id)
        _enqueue_refresh(one)
        self.message_user(request, "Enqueued a refresh of this package.", messages.SUCCESS)
        return self._back(object_id)

    def pause_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Pause, or resume with `resume=1`: the button says which the package needs."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        one = self._one(request, object_id)
        resume = request.POST.get("resume") == "1"
        _set_paused(one, paused=not resume)
        text = (
            "Resumed: the package is due now." if resume else "Paused: no refreshes until resumed."
        )
        self.message_user(request, text, messages.SUCCESS)
        return self._back(object_id)

    @admin.display(description="last error")
    def error_details(self, obj: Package) -> str:
        """The whole message, wrapped to the page's width (a long URL or traceback line
        otherwise ran past the right edge at 1280 px)."""
        if not obj.last_error:
            return "—"
        return format_html('<pre class="last-error">{}</pre>', obj.last_error)

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
        count = _enqueue_refresh(queryset)
        self.message_user(request, f"Enqueued a refresh of {count} package(s).", messages.SUCCESS)

    @admin.action(description="Pause refreshing")
    def pause(self, request: HttpRequest, queryset: QuerySet[Package]) -> None:
        count = _set_paused(queryset, paused=True)
        self.message_user(request, f"Paused {count} package(s).", messages.SUCCESS)

    @admin.action(description="Resume refreshing")
    def resume(self, request: HttpRequest, queryset: QuerySet[Package]) -> None:
        count = _set_paused(queryset, paused=False)
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
