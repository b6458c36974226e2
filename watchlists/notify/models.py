"""Digest subscriptions, alert rules, webhooks, and the notifications sent for them.

Exactly once: every message is a Notification row whose natural key (event,
destination) is unique. Creating that row IS the claim, and it happens before
anything is sent; a second beat, a retried task or another worker that reaches the
same event gets an IntegrityError and stops. Sending then takes a short lease with a
conditional UPDATE (state and lease checked in the WHERE clause), so only one worker
sends a claimed row, and a worker that dies mid-send leaves a lease that expires
instead of a row stuck forever. States:

    pending -> sending -> sent
                       -> failed (retry_at) -> sending -> ... -> dead (after MAX_ATTEMPTS)
    suppressed  (an alert withheld because its window holds a data-quality marker)

Every send attempt is a DeliveryAttempt row (time, channel, status code or error).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from packages_app.models import Package


def new_webhook_secret() -> str:
    return secrets.token_hex(32)


class DigestSubscription(models.Model):
    watchlist = models.ForeignKey(
        "watchlists.Watchlist", on_delete=models.CASCADE, related_name="digest_subscriptions"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_subscriptions"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["watchlist", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["watchlist", "user"], name="digestsub_watchlist_user_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} <- {self.watchlist}"


class AlertRule(models.Model):
    class Kind(models.TextChoices):
        CHANGE = "change", "Weekly change beyond a percentage, up or down"
        MILESTONE = "milestone", "Total downloads milestone crossed"
        STALE = "stale", "No new data for a number of days"
        # From ClickHouse (issue #16 item 4): offered only while it is on.
        ADOPTION = "adoption", "The latest release passes a share of the last 7 days"
        INSTALLER = "installer", "A new installer (not pip) passes a share of installs"

    watchlist = models.ForeignKey(
        "watchlists.Watchlist", on_delete=models.CASCADE, related_name="alert_rules"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # CHANGE: the percentage (either direction); STALE: the number of days; ADOPTION and
    # INSTALLER: the share in percent of the last 7 days. Unused for MILESTONE.
    threshold = models.PositiveIntegerField(default=0)
    email = models.BooleanField(default=True, help_text="Email the person who set the alert up")
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["watchlist", "kind", "threshold", "id"]

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        if self.kind == self.Kind.CHANGE:
            return f"weekly change beyond ±{self.threshold}%"
        if self.kind == self.Kind.STALE:
            return f"no new data for {self.threshold} days"
        if self.kind == self.Kind.ADOPTION:
            return f"latest release passes {self.threshold}% of the last 7 days"
        if self.kind == self.Kind.INSTALLER:
            return f"an installer other than pip passes {self.threshold}% of installs"
        return "total downloads milestone crossed"


class Webhook(models.Model):
    class Format(models.TextChoices):
        GENERIC = "generic", "Generic JSON"
        SLACK = "slack", "Slack-compatible"
        DISCORD = "discord", "Discord-compatible"

    watchlist = models.ForeignKey(
        "watchlists.Watchlist", on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(max_length=500)
    format = models.CharField(max_length=16, choices=Format.choices, default=Format.GENERIC)
    # Signs every body (HMAC-SHA256); shown to the watchlist's editors to verify posts.
    secret = models.CharField(max_length=64, default=new_webhook_secret, editable=False)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["watchlist", "id"]

    def __str__(self) -> str:
        return f"{self.get_format_display()} webhook {self.url}"


class Notification(models.Model):
    class Kind(models.TextChoices):
        DIGEST = "digest", "Digest"
        ALERT = "alert", "Alert"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"
        NONE = "none", "Not sent"

    class State(models.TextChoices):
        PENDING = "pending", "Claimed, not sent yet"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed, will retry"
        DEAD = "dead", "Failed, gave up"
        SUPPRESSED = "suppressed", "Suppressed (data-quality marker)"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    # The natural key. event: "digest:<watchlist>:<ISO week>" or
    # "alert:<rule>:<package>:<period or milestone>"; destination: "user:<id>",
    # "webhook:<id>" or "none" (a suppressed alert).
    event = models.CharField(max_length=200)
    destination = models.CharField(max_length=64)
    watchlist = models.ForeignKey(
        "watchlists.Watchlist", on_delete=models.CASCADE, related_name="notifications"
    )
    subscription = models.ForeignKey(
        DigestSubscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule = models.ForeignKey(
        AlertRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    webhook = models.ForeignKey(
        Webhook, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    package = models.ForeignKey(
        Package, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipient = models.EmailField(blank=True)
    # The content is fixed at claim time, so a retry sends exactly what was claimed.
    subject = models.CharField(max_length=300)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "destination"], name="notification_event_destination_uniq"
            )
        ]
        indexes = [models.Index(fields=["state", "retry_at"], name="notification_due")]

    def __str__(self) -> str:
        return f"{self.event} -> {self.destination} ({self.state})"


class DeliveryAttempt(models.Model):
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="delivery_attempts"
    )
    attempt = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=16, choices=Notification.Channel.choices)
    at = models.DateTimeField(default=timezone.now)
    ok = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"#{self.notification_id} attempt {self.attempt}: {'ok' if self.ok else 'failed'}"
