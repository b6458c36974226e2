"""Accounts, teams, watchlists, the dashboard, digests and alerts.

Objects are addressed by random uids and tokens, never by sequential ids.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from watchlists.views import accounts, compare, teams, watchlists

account_patterns: list[URLPattern | URLResolver] = [
    path("signup/", accounts.signup, name="signup"),
    path("profile/", accounts.profile, name="profile"),
    path("profile/email/", accounts.email_change, name="email_change"),
    # Django's, limited per IP and mailing from a task (before the include, which has its own).
    path("password_reset/", accounts.PasswordResetView.as_view(), name="password_reset"),
    # login, logout (POST only), password_change(_done), password_reset(_done|_confirm|_complete)
    path("", include("django.contrib.auth.urls")),
]

urlpatterns = [
    path("accounts/", include(account_patterns)),
    path("dashboard/", watchlists.dashboard, name="dashboard"),
    # Teams
    path("teams/", teams.team_list, name="team_list"),
    path("teams/new/", teams.team_create, name="team_create"),
    path("teams/<uuid:uid>/", teams.team_detail, name="team_detail"),
    path("teams/<uuid:uid>/rename/", teams.team_rename, name="team_rename"),
    path("teams/<uuid:uid>/leave/", teams.team_leave, name="team_leave"),
    path("teams/<uuid:uid>/hand-over/", teams.team_hand_over, name="team_hand_over"),
    path("teams/<uuid:uid>/invitations/", teams.invitation_create, name="invitation_create"),
    path(
        "teams/<uuid:uid>/invitations/<int:invitation_id>/revoke/",
        teams.invitation_revoke,
        name="invitation_revoke",
    ),
    path(
        "teams/<uuid:uid>/members/<int:membership_id>/remove/",
        teams.member_remove,
        name="member_remove",
    ),
    path(
        "teams/<uuid:uid>/members/<int:membership_id>/role/",
        teams.member_role,
        name="member_role",
    ),
    path("invitations/<str:token>/", teams.invitation, name="invitation"),
    # Watchlists
    path("watchlists/", watchlists.watchlist_list, name="watchlist_list"),
    path("watchlists/new/", watchlists.watchlist_create, name="watchlist_create"),
    path("watchlists/suggest/", watchlists.suggest, name="watchlist_suggest"),
    path(
        "watchlists/add-package/",
        watchlists.watchlist_add_from_page,
        name="watchlist_add_from_page",
    ),
    path("watchlists/shared/<str:token>/", watchlists.watchlist_public, name="watchlist_public"),
    path("watchlists/<uuid:uid>/", watchlists.watchlist_detail, name="watchlist_detail"),
    path("watchlists/<uuid:uid>/poll/", watchlists.watchlist_poll, name="watchlist_poll"),
    path("watchlists/<uuid:uid>/add/", watchlists.watchlist_add, name="watchlist_add"),
    path("watchlists/<uuid:uid>/bulk/", watchlists.watchlist_bulk_add, name="watchlist_bulk"),
    path("watchlists/<uuid:uid>/remove/", watchlists.watchlist_remove, name="watchlist_remove"),
    path("watchlists/<uuid:uid>/note/", watchlists.watchlist_note, name="watchlist_note"),
    path(
        "watchlists/<uuid:uid>/settings/",
        watchlists.watchlist_settings,
        name="watchlist_settings",
    ),
    path(
        "watchlists/<uuid:uid>/settings/save/",
        watchlists.watchlist_update,
        name="watchlist_update",
    ),
    path("watchlists/<uuid:uid>/share/", watchlists.watchlist_share, name="watchlist_share"),
    path(
        "watchlists/<uuid:uid>/unshare/",
        watchlists.watchlist_unshare,
        name="watchlist_unshare",
    ),
    path("watchlists/<uuid:uid>/delete/", watchlists.watchlist_delete, name="watchlist_delete"),
    # Save the compared packages as a watchlist (the compare page is packages_app's)
    path("compare/save/", compare.compare_save, name="compare_save"),
    path("", include("watchlists.notify.urls")),  # digests, alerts, webhooks (watchlists/notify/)
]
