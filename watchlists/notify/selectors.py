"""Reads for the alert settings page, the delivery log and the watchlist page's digest section."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Prefetch, QuerySet

from watchlists.models import Watchlist
from watchlists.notify.models import (
    AlertRule,
    DeliveryAttempt,
    DigestSubscription,
    Notification,
    Webhook,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

LOG_LIMIT = 200


def is_subscribed(watchlist: Watchlist, user: User | AnonymousUser) -> bool:
    if not user.is_authenticated:
        return False
    return DigestSubscription.objects.filter(watchlist=watchlist, user=user).exists()


def alert_rules(watchlist: Watchlist) -> QuerySet[AlertRule]:
    return watchlist.alert_rules.select_related("created_by").order_by("kind", "threshold", "id")


def webhooks_of(watchlist: Watchlist) -> QuerySet[Webhook]:
    return watchlist.webhooks.order_by("id")


def recent_alerts(watchlist: Watchlist, limit: int = 20) -> QuerySet[Notification]:
    return (
        watchlist.notifications.filter(kind=Notification.Kind.ALERT)
        .select_related("package")
        .order_by("-created_at", "-id")[:limit]
    )


def delivery_log(watchlist: Watchlist) -> list[Notification]:
    """The newest notifications with all their attempts: two queries."""
    return list(
        watchlist.notifications.select_related("package", "webhook")
        .prefetch_related(
            Prefetch(
                "delivery_attempts", queryset=DeliveryAttempt.objects.order_by("attempt", "id")
            )
        )
        .order_by("-created_at", "-id")[:LOG_LIMIT]
    )
