"""Teams, their members and invitations, and the watchlists users and teams keep.

Every object reachable from a URL carries a random identifier (`uid`, `token`): ids
are sequential and would let anyone enumerate them. Random ids are defence in depth
only; access is always checked by the helpers in watchlists/access.py.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from packages_app.models import Package

# The digest, alert and webhook models (watchlists/notify/) belong to this app: importing
# them here is what registers them with it.
from watchlists.notify.models import (  # noqa: F401
    AlertRule,
    DeliveryAttempt,
    DigestSubscription,
    Notification,
    Webhook,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

INVITATION_LIFETIME = dt.timedelta(days=7)


def new_token() -> str:
    """An unguessable URL-safe token (256 bits)."""
    return secrets.token_urlsafe(32)


def _invitation_expiry() -> dt.datetime:
    return timezone.now() + INVITATION_LIFETIME


class Team(models.Model):
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MEMBER = "member", "Member"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team", "-role", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="membership_user_team_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def is_owner(self) -> bool:
        return self.role == self.Role.OWNER


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def usable(self, now: dt.datetime | None = None) -> InvitationQuerySet:
        now = now or timezone.now()
        return self.filter(revoked_at=None, accepted_at=None, expires_at__gt=now)


class Invitation(models.Model):
    """A link that lets one signed-in user join a team, once, before it expires."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=_invitation_expiry)
    revoked_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation to {self.team} ({self.state})"

    def state_at(self, now: dt.datetime) -> Invitation.State:
        if self.accepted_at is not None:
            return self.State.ACCEPTED
        if self.revoked_at is not None:
            return self.State.REVOKED
        if self.expires_at <= now:
            return self.State.EXPIRED
        return self.State.PENDING

    @property
    def state(self) -> Invitation.State:
        return self.state_at(timezone.now())


class Visibility(models.TextChoices):
    # For a personal list "private" and "team" mean the same: only its owner sees it.
    # For a team list both mean every member of the team (docs/decisions.md).
    PRIVATE = "private", "Private"
    TEAM = "team", "Team"
    PUBLIC = "public", "Public by link"


class WatchlistQuerySet(models.QuerySet["Watchlist"]):
    def visible_to(self, user: User | AnonymousUser) -> WatchlistQuerySet:
        """Lists a signed-in user may open by uid: their own and their teams'.

        Public lists are not in here: they are reached only through their token URL.
        """
        if not user.is_authenticated:
            return self.none()
        return self.filter(
            Q(owner_user=user) | Q(owner_team__in=Team.objects.filter(memberships__user=user))
        )

    def managed_by(self, user: User | AnonymousUser) -> WatchlistQuerySet:
        """Lists a user may rename, delete and share: their own, and their teams' if they own the team."""
        if not user.is_authenticated:
            return self.none()
        owned_teams = Team.objects.filter(
            memberships__user=user, memberships__role=Membership.Role.OWNER
        )
        return self.filter(Q(owner_user=user) | Q(owner_team__in=owned_teams))


class ListColumn(models.TextChoices):
    """The extra column a list's owner may choose (issue #16 item 4): a ClickHouse breakdown
    category's share of each package's downloads over the last 7 days (watchlists/columns.py)."""

    NONE = "", "None"
    LATEST = "version:latest", "On latest release"
    UV = "installer:uv", "uv share"
    PIP = "installer:pip", "pip share"
    POETRY = "installer:poetry", "Poetry share"
    PDM = "installer:pdm", "PDM share"
    PIPENV = "installer:pipenv", "Pipenv share"
    CONDA = "installer:conda", "conda share"


class Watchlist(models.Model):
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100)
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="watchlists",
    )
    owner_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="watchlists"
    )
    visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    # Set only while the list is public by link; clearing or replacing it kills old links.
    public_token = models.CharField(max_length=64, null=True, blank=True, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Shown only while ClickHouse is on; kept when it is off.
    column = models.CharField(max_length=24, choices=ListColumn.choices, default="", blank=True)

    objects = WatchlistQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(owner_user__isnull=False) & Q(owner_team__isnull=True))
                | (Q(owner_user__isnull=True) & Q(owner_team__isnull=False)),
                name="watchlist_exactly_one_owner",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_team_list(self) -> bool:
        return self.owner_team_id is not None

    @property
    def public_link_active(self) -> bool:
        return self.visibility == Visibility.PUBLIC and bool(self.public_token)


class WatchlistEntry(models.Model):
    watchlist = models.ForeignKey(Watchlist, on_delete=models.CASCADE, related_name="entries")
    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="watchlist_entries")
    note = models.CharField(max_length=500, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["watchlist", "package__name"]
        verbose_name_plural = "watchlist entries"
        constraints = [
            models.UniqueConstraint(
                fields=["watchlist", "package"], name="watchlistentry_watchlist_package_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.package_id} in {self.watchlist_id}"
