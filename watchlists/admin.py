from __future__ import annotations

from django.contrib import admin

from watchlists.models import Invitation, Membership, Team, Watchlist, WatchlistEntry

# Registers the digest, alert and delivery-log admin of watchlists/notify/.
from watchlists.notify import admin as notify_admin  # noqa: F401


class MembershipInline(admin.TabularInline[Membership, Team]):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin[Team]):
    list_display = ["name", "uid", "created_by", "created_at"]
    search_fields = ["name", "uid", "memberships__user__username"]
    list_filter = ["created_at"]
    readonly_fields = ["uid"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ["team", "user", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["team__name", "user__username", "user__email"]
    list_select_related = ["team", "user"]
    autocomplete_fields = ["team", "user"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin[Invitation]):
    list_display = ["team", "state", "created_by", "created_at", "expires_at", "accepted_by"]
    list_filter = ["created_at", "expires_at", "revoked_at", "accepted_at"]
    search_fields = ["team__name", "created_by__username", "accepted_by__username"]
    list_select_related = ["team", "created_by", "accepted_by"]
    # The token is a credential: never shown, never editable here.
    exclude = ["token"]
    readonly_fields = ["created_at", "accepted_by", "accepted_at"]

    @admin.display(description="State")
    def state(self, obj: Invitation) -> str:
        return obj.state.label


class WatchlistEntryInline(admin.TabularInline[WatchlistEntry, Watchlist]):
    model = WatchlistEntry
    extra = 0
    raw_id_fields = ["package"]
    readonly_fields = ["added_by", "added_at"]


@admin.register(Watchlist)
class WatchlistAdmin(admin.ModelAdmin[Watchlist]):
    list_display = ["name", "owner_user", "owner_team", "visibility", "updated_at"]
    list_filter = ["visibility", "created_at"]
    search_fields = ["name", "uid", "owner_user__username", "owner_team__name"]
    list_select_related = ["owner_user", "owner_team"]
    autocomplete_fields = ["owner_user", "owner_team"]
    readonly_fields = ["uid", "public_token", "created_at", "updated_at"]
    inlines = [WatchlistEntryInline]
