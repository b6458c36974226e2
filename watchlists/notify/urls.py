"""Digest, alert and webhook URLs (included from watchlists/urls.py)."""

from __future__ import annotations

from django.urls import path

from watchlists.notify import views as notify_views

urlpatterns = [
    path(
        "watchlists/<uuid:uid>/digest/",
        notify_views.digest_subscription,
        name="digest_subscription",
    ),
    path("watchlists/<uuid:uid>/alerts/", notify_views.alert_settings, name="alert_settings"),
    path("watchlists/<uuid:uid>/alerts/add/", notify_views.alert_rule_add, name="alert_rule_add"),
    path(
        "watchlists/<uuid:uid>/alerts/delete/",
        notify_views.alert_rule_delete,
        name="alert_rule_delete",
    ),
    path("watchlists/<uuid:uid>/webhooks/add/", notify_views.webhook_add, name="webhook_add"),
    path(
        "watchlists/<uuid:uid>/webhooks/delete/",
        notify_views.webhook_delete,
        name="webhook_delete",
    ),
    path("watchlists/<uuid:uid>/deliveries/", notify_views.delivery_log, name="delivery_log"),
    path(
        "digests/unsubscribe/<str:token>/",
        notify_views.digest_unsubscribe,
        name="digest_unsubscribe",
    ),
]
