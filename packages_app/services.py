"""Writes to packages and their data. Every function is keyword-only and atomic."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from .models import Package, UpstreamState
from .names import canonicalize


@transaction.atomic
def package_track(*, name: str, user: Any = None) -> tuple[Package, bool]:
    """Start tracking a package (validated and canonicalised); return (package, created).

    Tracking an untracked or paused package resumes it. The package is due at once:
    the frequent sweep picks it up, so no request ever calls the upstream itself.
    Raises names.InvalidPackageName for an invalid name.
    """
    canonical = canonicalize(name)
    now = timezone.now()
    package, created = Package.objects.select_for_update().get_or_create(
        name=canonical,
        defaults={
            "tracked": True,
            "next_attempt_at": now,
            "added_by": user if _is_user(user) else None,
        },
    )
    if not created and (not package.tracked or package.paused):
        package.tracked = True
        package.paused = False
        package.next_attempt_at = now
        if package.upstream_state == UpstreamState.FAILING:
            package.consecutive_failures = 0
        package.save(update_fields=["tracked", "paused", "next_attempt_at", "consecutive_failures"])
    return package, created


@transaction.atomic
def package_untrack(*, name: str) -> Package | None:
    """Stop refreshing a package. Its stored history is kept (nothing is ever purged)."""
    canonical = canonicalize(name)
    package = Package.objects.select_for_update().filter(name=canonical).first()
    if package is not None and package.tracked:
        package.tracked = False
        package.save(update_fields=["tracked"])
    return package


def _is_user(user: Any) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)
