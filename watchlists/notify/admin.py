"""Admin for digests, alerts, webhooks and the delivery log (imported from watchlists/admin.py)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from watchlists.notify.models import (
    AlertRule,
    DeliveryAttempt,
    DigestSubscription,
    Notification,
    Webhook,
)


@admin.register(DigestSubscription)
class DigestSubscriptionAdmin(admin.ModelAdmin[DigestSubscription]):
    list_display = ["watchlist", "user", "created_at"]
    search_fields = ["watchlist__name", "user__username", "user__email"]
    list_select_related = ["watchlist", "user"]
    raw_id_fields = ["watchlist", "user"]


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin[AlertRule]):
    list_display = [
        "watchlist",
        "kind",
        "threshold",
        "email",
        "enabled",
        "created_by",
        "created_at",
    ]
    list_filter = ["kind", "enabled", "email"]
    search_fields = ["watchlist__name", "created_by__username"]
    list_select_related = ["watchlist", "created_by"]
    raw_id_fields = ["watchlist", "created_by"]


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin[Webhook]):
    list_display = ["watchlist", "url", "format", "enabled", "created_at"]
    list_filter = ["format", "enabled"]
    search_fields = ["watchlist__name", "url"]
    list_select_related = ["watchlist"]
    raw_id_fields = ["watchlist", "created_by"]
    # The signing secret is a credential: never shown here.
    exclude = ["secret"]


class DeliveryAttemptInline(admin.TabularInline[DeliveryAttempt, Notification]):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["attempt", "channel", "at", "ok", "status_code", "error"]

    def has_add_permission(self, request: HttpRequest, obj: Notification | None = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin[Notification]):
    """The delivery log: read-only (a claim is history; editing it would break exactly-once)."""

    list_display = [
        "created_at",
        "kind",
        "channel",
        "subject",
        "destination",
        "state",
        "attempts",
        "sent_at",
    ]
    list_filter = ["kind", "channel", "state", "created_at"]
    search_fields = ["event", "subject", "recipient", "watchlist__name"]
    list_select_related = ["watchlist"]
    date_hierarchy = "created_at"
    inlines = [DeliveryAttemptInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Notification | None = None) -> bool:
        return False
