"""One access helper per object: every team and watchlist view starts with one of these.

Each scopes the queryset to the user BEFORE the lookup, so an object the user may not
see is indistinguishable from one that does not exist: 404, never 403 (no existence
leak). A 403 is only answered to someone who can already see the object (a team member
asking for an owner's action).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from watchlists.models import Invitation, Membership, Team, Visibility, Watchlist

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# A uid as a view gets it: a UUID from the URL's <uuid:…> converter, or the text of a form
# field or query parameter (checked here: anything that is not a UUID is a 404).
type Uid = uuid.UUID | str


def _user(request: HttpRequest) -> User:
    user = request.user
    if not user.is_authenticated:
        # Views are wrapped in login_required; this is the belt to its braces.
        raise Http404
    return user


def _uuid(value: Uid) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Http404 from None


# --- teams ---------------------------------------------------------------------------------


def get_team_for_member(request: HttpRequest, uid: Uid) -> tuple[Team, Membership]:
    """The team and the user's membership in it; 404 for anyone not in the team."""
    membership = (
        Membership.objects.select_related("team")
        .filter(user=_user(request), team__uid=_uuid(uid))
        .first()
    )
    if membership is None:
        raise Http404("No such team")
    return membership.team, membership


def get_team_for_owner(request: HttpRequest, uid: Uid) -> tuple[Team, Membership]:
    """As get_team_for_member, and 403 for a member who is not an owner."""
    team, membership = get_team_for_member(request, uid)
    if not membership.is_owner:
        raise PermissionDenied("Only the team's owners can do this.")
    return team, membership


def get_invitation_for_owner(request: HttpRequest, team: Team, invitation_id: int) -> Invitation:
    """An invitation of a team the caller owns (by id within that team only)."""
    try:
        pk = int(invitation_id)
    except (TypeError, ValueError):
        raise Http404 from None
    invitation = Invitation.objects.filter(team=team, pk=pk).first()
    if invitation is None:
        raise Http404("No such invitation")
    return invitation


def get_invitation_by_token(token: str) -> Invitation:
    """Any invitation by its token (its state is checked by the accept service)."""
    if not token or len(token) > 64:
        raise Http404
    invitation = Invitation.objects.select_related("team").filter(token=token).first()
    if invitation is None:
        raise Http404("No such invitation")
    return invitation


# --- watchlists ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WatchlistAccess:
    watchlist: Watchlist
    can_edit: bool  # add, remove and annotate packages
    can_manage: bool  # rename, delete, change visibility, share


def get_watchlist_for_viewer(request: HttpRequest, uid: Uid) -> WatchlistAccess:
    """A list the signed-in user may see: their own, or their team's. 404 otherwise.

    Everyone who can see a list by its uid may also edit its packages: for a team
    list that is every member (docs/decisions.md). Managing it is for its owner, or
    the owners of its team.
    """
    user = _user(request)
    watchlist = (
        Watchlist.objects.visible_to(user)
        .select_related("owner_team", "owner_user")
        .filter(uid=_uuid(uid))
        .first()
    )
    if watchlist is None:
        raise Http404("No such watchlist")
    if watchlist.owner_user_id == user.pk or watchlist.owner_team_id is None:
        can_manage = watchlist.owner_user_id == user.pk
    else:
        can_manage = Membership.objects.filter(
            user=user, team_id=watchlist.owner_team_id, role=Membership.Role.OWNER
        ).exists()
    return WatchlistAccess(watchlist, can_edit=True, can_manage=can_manage)


def get_watchlist_for_editor(request: HttpRequest, uid: Uid) -> WatchlistAccess:
    access = get_watchlist_for_viewer(request, uid)
    if not access.can_edit:
        raise PermissionDenied("You cannot change this watchlist.")
    return access


def get_watchlist_for_manager(request: HttpRequest, uid: Uid) -> WatchlistAccess:
    """404 for outsiders, 403 for a team member who does not own the team."""
    access = get_watchlist_for_viewer(request, uid)
    if not access.can_manage:
        raise PermissionDenied("Only the watchlist's owner can do this.")
    return access


def get_watchlist_by_public_token(token: str) -> WatchlistAccess:
    """A list shared by link, read-only for anyone; 404 once the link is revoked or replaced."""
    if not token or len(token) > 64:
        raise Http404
    watchlist = (
        Watchlist.objects.select_related("owner_team", "owner_user")
        .filter(public_token=token, visibility=Visibility.PUBLIC)
        .first()
    )
    if watchlist is None:
        raise Http404("No such watchlist")
    return WatchlistAccess(watchlist, can_edit=False, can_manage=False)
