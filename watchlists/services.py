"""Writes for teams, invitations and watchlists. Keyword-only, atomic, and they keep the rules:

- a team always keeps at least one owner (checked under a lock on the team's owners);
- an invitation is used once: it is claimed with a conditional UPDATE before the
  membership is created, so two accepts of one link cannot both succeed;
- limits (packages per list, lists per owner, packages a user starts tracking per day)
  are checked inside the transaction that would break them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from packages_app.models import Package
from packages_app.names import InvalidPackageName, canonicalize
from packages_app.sync.selectors import packages_started_by_user_today
from packages_app.sync.services import package_track_within_limit
from watchlists.models import (
    INVITATION_LIFETIME,
    Invitation,
    ListColumn,
    Membership,
    Team,
    Visibility,
    Watchlist,
    WatchlistEntry,
    new_token,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class RuleError(Exception):
    """A request that would break a rule; the message is shown to the user as it is."""


class LimitReached(RuleError):
    pass


class LastOwnerError(RuleError):
    pass


class InvitationUnusable(RuleError):
    def __init__(self, state: Invitation.State) -> None:
        messages = {
            Invitation.State.ACCEPTED: "This invitation has already been used.",
            Invitation.State.REVOKED: "This invitation was revoked by the team's owner.",
            Invitation.State.EXPIRED: "This invitation has expired. Ask the team's owner for a new link.",
        }
        super().__init__(messages.get(state, "This invitation cannot be used."))
        self.state = state


def max_packages() -> int:
    return int(getattr(settings, "WATCHLIST_MAX_PACKAGES", 200))


def max_lists_per_owner() -> int:
    return int(getattr(settings, "WATCHLIST_MAX_PER_OWNER", 50))


# --- teams ---------------------------------------------------------------------------------


@transaction.atomic
def team_create(*, name: str, user: User) -> Team:
    team = Team.objects.create(name=name.strip(), created_by=user)
    Membership.objects.create(team=team, user=user, role=Membership.Role.OWNER)
    return team


@transaction.atomic
def team_rename(*, team: Team, name: str) -> Team:
    team.name = name.strip()
    team.save(update_fields=["name"])
    return team


def _lock_owners(team: Team) -> list[Membership]:
    """Lock the team's owner rows so two concurrent demotions cannot both pass the check."""
    return list(
        Membership.objects.select_for_update()
        .filter(team=team, role=Membership.Role.OWNER)
        .order_by("pk")
    )


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    """Remove someone from a team (an owner's action, or leaving); never the last owner."""
    owners = _lock_owners(membership.team)
    if membership.is_owner and len(owners) <= 1:
        raise LastOwnerError(
            "A team must keep an owner: hand over ownership to another member first."
        )
    membership.delete()


@transaction.atomic
def membership_set_role(*, membership: Membership, role: str) -> Membership:
    if role not in Membership.Role.values:
        raise RuleError("Unknown role.")
    owners = _lock_owners(membership.team)
    if membership.is_owner and role != Membership.Role.OWNER and len(owners) <= 1:
        raise LastOwnerError("A team must keep an owner: make another member an owner first.")
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def team_hand_over(*, current: Membership, successor: Membership) -> None:
    """Make `successor` an owner and `current` a plain member, in one step."""
    if successor.team_id != current.team_id or successor.pk == current.pk:
        raise RuleError("Pick another member of this team.")
    _lock_owners(current.team)
    Membership.objects.filter(pk=successor.pk).update(role=Membership.Role.OWNER)
    Membership.objects.filter(pk=current.pk).update(role=Membership.Role.MEMBER)


# --- invitations ---------------------------------------------------------------------------


@transaction.atomic
def invitation_create(*, team: Team, user: User) -> Invitation:
    now = timezone.now()
    return Invitation.objects.create(
        team=team, created_by=user, created_at=now, expires_at=now + INVITATION_LIFETIME
    )


@transaction.atomic
def invitation_revoke(*, invitation: Invitation) -> bool:
    """Revoke a pending invitation; False when it was already used, revoked or expired."""
    now = timezone.now()
    return bool(Invitation.objects.filter(pk=invitation.pk).usable(now).update(revoked_at=now))


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> tuple[Team, bool]:
    """Join the invitation's team; (team, joined). Someone already in the team keeps the
    link unused, so it can still be handed to the person it was meant for."""
    team = invitation.team
    if Membership.objects.filter(team=team, user=user).exists():
        return team, False
    now = timezone.now()
    # Claim before the side effect: only one accept can move the row out of "usable".
    claimed = (
        Invitation.objects.filter(pk=invitation.pk)
        .usable(now)
        .update(accepted_at=now, accepted_by=user)
    )
    if claimed != 1:
        invitation.refresh_from_db()
        raise InvitationUnusable(invitation.state_at(now))
    Membership.objects.create(team=team, user=user, role=Membership.Role.MEMBER)
    return team, True


# --- watchlists ----------------------------------------------------------------------------


def _check_visibility(*, visibility: str, team_owned: bool) -> str:
    if visibility not in Visibility.values:
        raise RuleError("Unknown visibility.")
    # "team" on a personal list means private (docs/decisions.md); store what it means.
    if visibility == Visibility.TEAM and not team_owned:
        return Visibility.PRIVATE
    if visibility == Visibility.PRIVATE and team_owned:
        return Visibility.TEAM
    return visibility


@transaction.atomic
def watchlist_create(
    *, name: str, user: User, team: Team | None = None, visibility: str = Visibility.PRIVATE
) -> Watchlist:
    if team is not None:
        # Lock the team row so two creations cannot both slip under the limit.
        Team.objects.select_for_update().filter(pk=team.pk).first()
        count = Watchlist.objects.filter(owner_team=team).count()
    else:
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        count = Watchlist.objects.filter(owner_user=user).count()
    if count >= max_lists_per_owner():
        owner = f"The team {team.name}" if team is not None else "You"
        raise LimitReached(
            f"{owner} already {'has' if team else 'have'} {count} watchlists, the most allowed "
            f"({max_lists_per_owner()}). Delete one first."
        )
    visibility = _check_visibility(visibility=visibility, team_owned=team is not None)
    return Watchlist.objects.create(
        name=name.strip(),
        owner_user=None if team is not None else user,
        owner_team=team,
        visibility=visibility,
        public_token=new_token() if visibility == Visibility.PUBLIC else None,
        created_by=user,
    )


@transaction.atomic
def watchlist_update(
    *, watchlist: Watchlist, name: str, visibility: str, column: str | None = None
) -> Watchlist:
    """Rename, change visibility and (when given) the breakdown column (ListColumn)."""
    watchlist.name = name.strip()
    if column is not None:
        watchlist.column = ListColumn(column).value
    watchlist.visibility = _check_visibility(
        visibility=visibility, team_owned=watchlist.is_team_list
    )
    if watchlist.visibility == Visibility.PUBLIC:
        watchlist.public_token = watchlist.public_token or new_token()
    else:
        watchlist.public_token = None  # making it private kills every shared link
    watchlist.updated_at = timezone.now()
    watchlist.save(update_fields=["name", "visibility", "public_token", "column", "updated_at"])
    return watchlist


@transaction.atomic
def watchlist_share_regenerate(*, watchlist: Watchlist) -> Watchlist:
    """Make the list public by a new link; any previous link stops working."""
    watchlist.visibility = Visibility.PUBLIC
    watchlist.public_token = new_token()
    watchlist.updated_at = timezone.now()
    watchlist.save(update_fields=["visibility", "public_token", "updated_at"])
    return watchlist


@transaction.atomic
def watchlist_share_revoke(*, watchlist: Watchlist) -> Watchlist:
    watchlist.visibility = Visibility.TEAM if watchlist.is_team_list else Visibility.PRIVATE
    watchlist.public_token = None
    watchlist.updated_at = timezone.now()
    watchlist.save(update_fields=["visibility", "public_token", "updated_at"])
    return watchlist


@transaction.atomic
def watchlist_delete(*, watchlist: Watchlist) -> None:
    watchlist.delete()


@dataclass
class AddResult:
    added: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    started_tracking: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (name, why)

    @property
    def changed(self) -> bool:
        return bool(self.added)


@transaction.atomic
def watchlist_add_packages(*, watchlist: Watchlist, names: list[str], user: User) -> AddResult:
    """Add packages by name, starting to track the ones nobody tracks yet.

    Adds what fits and reports the rest with the reason (invalid name, list full,
    daily tracking limit), so a pasted file is never all-or-nothing for one bad line.
    """
    result = AddResult()
    # Lock the list: concurrent adds must not overshoot the per-list limit.
    Watchlist.objects.select_for_update().filter(pk=watchlist.pk).first()
    present = set(
        WatchlistEntry.objects.filter(watchlist=watchlist).values_list("package__name", flat=True)
    )
    room = max_packages() - len(present)
    started_today = packages_started_by_user_today(user)
    canonical: list[str] = []
    for raw in names:
        try:
            name = canonicalize(raw.strip())
        except InvalidPackageName:
            result.rejected.append((raw, "not a valid package name"))
            continue
        if name not in canonical:
            canonical.append(name)
    existing = {p.name: p for p in Package.objects.filter(name__in=canonical)}
    for name in canonical:
        if name in present:
            result.already.append(name)
            continue
        if room <= 0:
            result.rejected.append(
                (name, f"the watchlist is full ({max_packages()} packages at most)")
            )
            continue
        package = existing.get(name)
        if package is None or not package.tracked or package.paused:
            outcome = package_track_within_limit(name=name, user=user, started_today=started_today)
            if outcome.package is None:
                result.rejected.append(
                    (
                        name,
                        f"not tracked yet, and you have started tracking {outcome.limit} "
                        "packages today, the most allowed per day; try again tomorrow",
                    )
                )
                continue
            package = outcome.package
            if outcome.started:
                started_today += 1
                result.started_tracking.append(name)
        WatchlistEntry.objects.create(watchlist=watchlist, package=package, added_by=user)
        present.add(name)
        room -= 1
        result.added.append(name)
    if result.added:
        Watchlist.objects.filter(pk=watchlist.pk).update(updated_at=timezone.now())
    return result


@transaction.atomic
def watchlist_remove_package(*, watchlist: Watchlist, name: str) -> bool:
    try:
        canonical = canonicalize(name)
    except InvalidPackageName:
        return False
    deleted, _ = WatchlistEntry.objects.filter(
        watchlist=watchlist, package__name=canonical
    ).delete()
    if deleted:
        Watchlist.objects.filter(pk=watchlist.pk).update(updated_at=timezone.now())
    return bool(deleted)


@transaction.atomic
def entry_set_note(*, entry: WatchlistEntry, note: str) -> WatchlistEntry:
    entry.note = note.strip()
    entry.save(update_fields=["note"])
    return entry


def password_reset_send(*, email: str, domain: str, use_https: bool) -> None:
    """Send the reset link to every active account with this address that can log in with
    a password; nothing for an unknown address (Django's PasswordResetForm does the lookup,
    the token and the mail). Runs in a Celery task (watchlists/tasks.py)."""
    from django.contrib.auth.forms import PasswordResetForm

    form = PasswordResetForm(data={"email": email})
    if form.is_valid():
        form.save(domain_override=domain, use_https=use_https)
