"""Team pages and actions: create, invite by link, accept, roles, remove, leave.

Every view: sign-in gate -> access helper (404 for outsiders) -> form/service -> redirect.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from packages_app.http import AuthenticatedHttpRequest, login_required
from watchlists import access, selectors, services
from watchlists.forms import TeamForm
from watchlists.models import Membership


@login_required
@require_GET
def team_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(
        request,
        "watchlists/team_list.html",
        {"memberships": selectors.teams_for_user(request.user), "form": TeamForm()},
    )


@login_required
@require_POST
def team_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = TeamForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "watchlists/team_list.html",
            {"memberships": selectors.teams_for_user(request.user), "form": form},
            status=400,
        )
    team = services.team_create(name=form.cleaned_data["name"], user=request.user)
    messages.success(request, f"Team {team.name} created. Invite people with a link below.")
    return redirect("team_detail", uid=team.uid)


@login_required
@require_GET
def team_detail(request: AuthenticatedHttpRequest, uid: uuid.UUID) -> HttpResponse:
    team, membership = access.get_team_for_member(request, uid)
    invitations = list(selectors.team_pending_invitations(team)) if membership.is_owner else []
    members = selectors.team_members(team)
    return render(
        request,
        "watchlists/team_detail.html",
        {
            "team": team,
            "membership": membership,
            "members": members,
            "sole_owner": membership.is_owner and sum(1 for m in members if m.is_owner) == 1,
            "invitations": invitations,
            "watchlists": team.watchlists.order_by("name"),
            "rename_form": TeamForm(initial={"name": team.name}),
        },
    )


@login_required
@require_POST
def team_rename(request: AuthenticatedHttpRequest, uid: uuid.UUID) -> HttpResponse:
    team, _ = access.get_team_for_owner(request, uid)
    form = TeamForm(request.POST)
    if form.is_valid():
        services.team_rename(team=team, name=form.cleaned_data["name"])
        messages.success(request, "Team renamed.")
    else:
        messages.error(request, "Give the team a name (100 characters at most).")
    return redirect("team_detail", uid=team.uid)


@login_required
@require_POST
def invitation_create(request: AuthenticatedHttpRequest, uid: uuid.UUID) -> HttpResponse:
    team, _ = access.get_team_for_owner(request, uid)
    invitation = services.invitation_create(team=team, user=request.user)
    link = request.build_absolute_uri(reverse("invitation", args=[invitation.token]))
    messages.success(
        request,
        f"New invitation link (valid 7 days, for one person): {link}",
    )
    return redirect("team_detail", uid=team.uid)


@login_required
@require_POST
def invitation_revoke(
    request: AuthenticatedHttpRequest, uid: uuid.UUID, invitation_id: int
) -> HttpResponse:
    team, _ = access.get_team_for_owner(request, uid)
    invitation = access.get_invitation_for_owner(request, team, invitation_id)
    if services.invitation_revoke(invitation=invitation):
        messages.success(request, "Invitation revoked: its link no longer works.")
    else:
        messages.error(request, "That invitation was already used, revoked or expired.")
    return redirect("team_detail", uid=team.uid)


@login_required
@require_http_methods(["GET", "POST"])
def invitation(request: AuthenticatedHttpRequest, token: str) -> HttpResponse:
    """GET shows what the link is for; POST accepts it. Nothing changes on GET."""
    invitation = access.get_invitation_by_token(token)
    state = invitation.state
    already_member = Membership.objects.filter(team=invitation.team, user=request.user).exists()
    if request.method == "POST":
        try:
            team, joined = services.invitation_accept(invitation=invitation, user=request.user)
        except services.InvitationUnusable as exc:
            return render(
                request,
                "watchlists/invitation.html",
                {"invitation": invitation, "state": exc.state, "error": str(exc)},
                status=410,
            )
        if joined:
            messages.success(request, f"You joined the team {team.name}.")
        else:
            messages.info(request, f"You are already a member of {team.name}.")
        return redirect("team_detail", uid=team.uid)
    error = ""
    if state != invitation.State.PENDING and not already_member:
        error = str(services.InvitationUnusable(state))
    # Outsiders holding a dead link learn nothing about the team but that it is dead.
    return render(
        request,
        "watchlists/invitation.html",
        {
            "invitation": invitation,
            "state": state,
            "error": error,
            "already_member": already_member,
        },
        status=410 if error else 200,
    )


def _member_of(team_id: int, membership_id: int) -> Membership:
    membership = (
        Membership.objects.select_related("user", "team")
        .filter(team_id=team_id, pk=membership_id)
        .first()
    )
    if membership is None:
        raise Http404("No such member")
    return membership


@login_required
@require_POST
def member_remove(
    request: AuthenticatedHttpRequest, uid: uuid.UUID, membership_id: int
) -> HttpResponse:
    team, _ = access.get_team_for_owner(request, uid)
    target = _member_of(team.pk, membership_id)
    try:
        services.membership_remove(membership=target)
    except services.RuleError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{target.user.get_username()} was removed from the team.")
    return redirect("team_detail", uid=team.uid)


@login_required
@require_POST
def member_role(
    request: AuthenticatedHttpRequest, uid: uuid.UUID, membership_id: int
) -> HttpResponse:
    team, _ = access.get_team_for_owner(request, uid)
    target = _member_of(team.pk, membership_id)
    role = request.POST.get("role", "")
    if role not in Membership.Role.values:
        messages.error(request, "Pick a role: owner or member.")
        return redirect("team_detail", uid=team.uid)
    try:
        services.membership_set_role(membership=target, role=role)
    except services.RuleError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"{target.user.get_username()} is now {Membership.Role(role).label.lower()}."
        )
    return redirect("team_detail", uid=team.uid)


@login_required
@require_POST
def team_hand_over(request: AuthenticatedHttpRequest, uid: uuid.UUID) -> HttpResponse:
    team, membership = access.get_team_for_owner(request, uid)
    try:
        successor = _member_of(team.pk, int(request.POST.get("successor", "")))
    except ValueError:
        messages.error(request, "Pick the member who takes over.")
        return redirect("team_detail", uid=team.uid)
    try:
        services.team_hand_over(current=membership, successor=successor)
    except services.RuleError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"{successor.user.get_username()} now owns the team; you are a member."
        )
    return redirect("team_detail", uid=team.uid)


@login_required
@require_POST
def team_leave(request: AuthenticatedHttpRequest, uid: uuid.UUID) -> HttpResponse:
    team, membership = access.get_team_for_member(request, uid)
    try:
        services.membership_remove(membership=membership)
    except services.RuleError as exc:
        messages.error(request, str(exc))
        return redirect("team_detail", uid=team.uid)
    messages.success(request, f"You left the team {team.name}.")
    return redirect("team_list")
