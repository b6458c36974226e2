"""Teams, watchlists and the dashboard. Objects are addressed by random uids and tokens."""

from __future__ import annotations

from django.urls import include, path

from . import team_views, watchlist_views

urlpatterns = [
    path("dashboard/", watchlist_views.dashboard, name="dashboard"),
    # Teams
    path("teams/", team_views.team_list, name="team_list"),
    path("teams/new/", team_views.team_create, name="team_create"),
    path("teams/<uuid:uid>/", team_views.team_detail, name="team_detail"),
    path("teams/<uuid:uid>/rename/", team_views.team_rename, name="team_rename"),
    path("teams/<uuid:uid>/leave/", team_views.team_leave, name="team_leave"),
    path("teams/<uuid:uid>/hand-over/", team_views.team_hand_over, name="team_hand_over"),
    path("teams/<uuid:uid>/invitations/", team_views.invitation_create, name="invitation_create"),
    path(
        "teams/<uuid:uid>/invitations/<int:invitation_id>/revoke/",
        team_views.invitation_revoke,
        name="invitation_revoke",
    ),
    path(
        "teams/<uuid:uid>/members/<int:membership_id>/remove/",
        team_views.member_remove,
        name="member_remove",
    ),
    path(
        "teams/<uuid:uid>/members/<int:membership_id>/role/",
        team_views.member_role,
        name="member_role",
    ),
    path("invitations/<str:token>/", team_views.invitation, name="invitation"),
    # Watchlists
    path("watchlists/", watchlist_views.watchlist_list, name="watchlist_list"),
    path("watchlists/new/", watchlist_views.watchlist_create, name="watchlist_create"),
    path("watchlists/suggest/", watchlist_views.suggest, name="watchlist_suggest"),
    path(
        "watchlists/add-package/",
        watchlist_views.watchlist_add_from_page,
        name="watchlist_add_from_page",
    ),
    path(
        "watchlists/shared/<str:token>/", watchlist_views.watchlist_public, name="watchlist_public"
    ),
    path("watchlists/<uuid:uid>/", watchlist_views.watchlist_detail, name="watchlist_detail"),
    path(
        "watchlists/<uuid:uid>/rows/<pkg:name>/",
        watchlist_views.watchlist_row,
        name="watchlist_row",
    ),
    path("watchlists/<uuid:uid>/add/", watchlist_views.watchlist_add, name="watchlist_add"),
    path("watchlists/<uuid:uid>/bulk/", watchlist_views.watchlist_bulk_add, name="watchlist_bulk"),
    path(
        "watchlists/<uuid:uid>/remove/", watchlist_views.watchlist_remove, name="watchlist_remove"
    ),
    path("watchlists/<uuid:uid>/note/", watchlist_views.watchlist_note, name="watchlist_note"),
    path(
        "watchlists/<uuid:uid>/settings/",
        watchlist_views.watchlist_settings,
        name="watchlist_settings",
    ),
    path(
        "watchlists/<uuid:uid>/settings/save/",
        watchlist_views.watchlist_update,
        name="watchlist_update",
    ),
    path("watchlists/<uuid:uid>/share/", watchlist_views.watchlist_share, name="watchlist_share"),
    path(
        "watchlists/<uuid:uid>/unshare/",
        watchlist_views.watchlist_unshare,
        name="watchlist_unshare",
    ),
    path(
        "watchlists/<uuid:uid>/delete/", watchlist_views.watchlist_delete, name="watchlist_delete"
    ),
    path("", include("watchlists.notify_urls")),  # digests, alerts, webhooks
]
