"""Writes for digests and alerts: subscriptions, rules, webhooks, and exactly-once delivery.

The delivery state machine is documented in notify_models.py. In short:
notification_claim() creates the row (the unique natural key is the claim) before
anything is sent; notification_deliver() takes a lease with a conditional UPDATE,
sends, and records the attempt; a failure schedules a retry with backoff, and the
row is marked dead after NOTIFY_MAX_ATTEMPTS, never dropped.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Required, TypedDict, Unpack

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from packages_app.models import Package
from watchlists.models import Watchlist
from watchlists.notify import webhooks
from watchlists.notify.models import (
    AlertRule,
    DeliveryAttempt,
    DigestSubscription,
    Notification,
    Webhook,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

# How long one worker may hold a row it is sending before another may take it over
# (a worker killed mid-send). Far longer than a send (timeouts are 10 s).
LEASE = dt.timedelta(minutes=5)
# Retry delays in seconds after attempt 1, 2, 3, ...; a countdown longer than the broker's
# visibility timeout can be delivered twice, and the lease keeps it to one send.
BACKOFF = (30, 120, 300, 600, 900)


class DigestEmailPayload(TypedDict):
    headers: dict[str, str]  # extra email headers (List-Unsubscribe)


class AlertEmailPayload(TypedDict):
    message: webhooks.AlertMessage


# Notification.payload, fixed at claim time: what a digest email, an alert email or a
# webhook post needs besides the subject and bodies.
type NotificationPayload = DigestEmailPayload | AlertEmailPayload | webhooks.WebhookBody


class ClaimFields(TypedDict, total=False):
    """The Notification columns a claim sets; (event, destination) is the natural key."""

    kind: Required[str]  # Notification.Kind
    channel: Required[str]  # Notification.Channel
    event: Required[str]
    destination: Required[str]
    watchlist: Required[Watchlist]
    subscription: DigestSubscription
    rule: AlertRule
    webhook: Webhook
    package: Package
    recipient: str
    subject: str
    body_text: str
    body_html: str
    payload: NotificationPayload
    state: str  # Notification.State; PENDING when not given
    note: str


def max_attempts() -> int:
    return int(getattr(settings, "NOTIFY_MAX_ATTEMPTS", 5))


def backoff_seconds(attempt: int) -> int:
    return BACKOFF[min(max(attempt, 1), len(BACKOFF)) - 1]


# --- subscriptions, rules, webhooks ---------------------------------------------------------


def subscription_set(*, watchlist: Watchlist, user: User, subscribed: bool) -> bool:
    """Subscribe or unsubscribe a user to a list's weekly digest; True when something changed."""
    if subscribed:
        _, created = DigestSubscription.objects.get_or_create(watchlist=watchlist, user=user)
        return created
    deleted, _ = DigestSubscription.objects.filter(watchlist=watchlist, user=user).delete()
    return deleted > 0


def subscription_delete(*, subscription_id: int, user_id: int) -> bool:
    """The one-click unsubscribe: only the subscription of that very user goes."""
    deleted, _ = DigestSubscription.objects.filter(pk=subscription_id, user_id=user_id).delete()
    return deleted > 0


def alert_rule_create(
    *, watchlist: Watchlist, kind: str, threshold: int, email: bool, user: User
) -> AlertRule:
    return AlertRule.objects.create(
        watchlist=watchlist, kind=kind, threshold=threshold, email=email, created_by=user
    )


def alert_rule_delete(*, rule: AlertRule) -> None:
    rule.delete()


def webhook_create(*, watchlist: Watchlist, url: str, fmt: str, user: User) -> Webhook:
    # The form checked the address; the send checks it again (DNS may change).
    return Webhook.objects.create(watchlist=watchlist, url=url, format=fmt, created_by=user)


def webhook_delete(*, webhook: Webhook) -> None:
    webhook.delete()


# --- claim and deliver -----------------------------------------------------------------------


def notification_claim(**fields: Unpack[ClaimFields]) -> tuple[Notification, bool]:
    """Create the row for (event, destination) unless it exists: (row, claimed_now).

    The INSERT runs in its own savepoint, so a duplicate (another worker, a second beat,
    a re-run) rolls back only itself and returns the existing row untouched.
    """
    try:
        with transaction.atomic():
            return Notification.objects.create(**fields), True
    except IntegrityError:
        existing = Notification.objects.get(
            event=fields["event"], destination=fields["destination"]
        )
        return existing, False


def _acquire(notification_id: int, now: dt.datetime) -> bool:
    """Take the send lease with one conditional UPDATE; False if someone else has it or it is done."""
    due = (
        Q(state=Notification.State.PENDING)
        | Q(state=Notification.State.FAILED, retry_at__lte=now)
        | Q(state=Notification.State.SENDING, lease_until__lt=now)
    )
    return (
        Notification.objects.filter(due, pk=notification_id).update(
            state=Notification.State.SENDING,
            lease_until=now + LEASE,
            attempts=F("attempts") + 1,
        )
        == 1
    )


def _send_email(n: Notification) -> webhooks.PostResult:
    message = EmailMultiAlternatives(
        subject=n.subject,
        body=n.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[n.recipient],
        headers=n.payload.get("headers") or {},
    )
    if n.body_html:
        message.attach_alternative(n.body_html, "text/html")
    try:
        message.send()
    except Exception as exc:  # SMTP and socket errors alike are a failed attempt
        return webhooks.PostResult(False, None, f"{type(exc).__name__}: {exc}"[:500])
    return webhooks.PostResult(True, None, "")


def _send_webhook(n: Notification) -> webhooks.PostResult:
    hook = n.webhook
    if hook is None or not hook.enabled:
        return webhooks.PostResult(False, None, "webhook deleted or disabled", permanent=True)
    return webhooks.post(
        url=hook.url, secret=hook.secret, body=webhooks.body_bytes(n.payload), event=n.kind
    )


@dataclass(frozen=True)
class Outcome:
    state: str  # the row's state after this call ("busy" when another worker holds it)
    retry_in: int | None = None  # seconds, when a retry is scheduled


def notification_deliver(notification_id: int) -> Outcome:
    """Send one claimed notification if it is due; record the attempt and the new state."""
    now = timezone.now()
    if not _acquire(notification_id, now):
        state = (
            Notification.objects.filter(pk=notification_id).values_list("state", flat=True).first()
        )
        return Outcome(
            state
            if state
            in (Notification.State.SENT, Notification.State.DEAD, Notification.State.SUPPRESSED)
            else "busy"
        )
    n = Notification.objects.select_related("webhook").get(pk=notification_id)
    result = _send_webhook(n) if n.channel == Notification.Channel.WEBHOOK else _send_email(n)
    done = timezone.now()
    DeliveryAttempt.objects.create(
        notification=n,
        attempt=n.attempts,
        channel=n.channel,
        at=done,
        ok=result.ok,
        status_code=result.status_code,
        error=result.error,
    )
    mine = Notification.objects.filter(pk=n.pk, state=Notification.State.SENDING)
    if result.ok:
        mine.update(state=Notification.State.SENT, sent_at=done, lease_until=None, last_error="")
        return Outcome(Notification.State.SENT)
    if n.attempts >= max_attempts() or result.permanent:
        mine.update(state=Notification.State.DEAD, lease_until=None, last_error=result.error)
        logger.error("notification %s dead after %s attempts: %s", n.pk, n.attempts, result.error)
        return Outcome(Notification.State.DEAD)
    delay = backoff_seconds(n.attempts)
    mine.update(
        state=Notification.State.FAILED,
        retry_at=done + dt.timedelta(seconds=delay),
        lease_until=None,
        last_error=result.error,
    )
    logger.warning("notification %s attempt %s failed: %s", n.pk, n.attempts, result.error)
    return Outcome(Notification.State.FAILED, retry_in=delay)


def due_notification_ids(now: dt.datetime | None = None) -> list[int]:
    """Rows a sweep should (re)try: claimed but never sent, failed and due, or a lapsed lease."""
    now = now or timezone.now()
    return list(
        Notification.objects.filter(
            Q(state=Notification.State.PENDING)
            | Q(state=Notification.State.FAILED, retry_at__lte=now)
            | Q(state=Notification.State.SENDING, lease_until__lt=now)
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
