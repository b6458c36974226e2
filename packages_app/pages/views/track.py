"""Starting to track a package from a page (the package page's and the compare page's
"Start tracking" buttons): the daily-limited service and the message it ends with."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest

from packages_app.sync.services import TrackOutcome, package_track_within_limit


def track_from_page(request: HttpRequest, name: str) -> TrackOutcome:
    """Track `name` (canonical) for the signed-in user and say how it went."""
    outcome = package_track_within_limit(name=name, user=request.user)
    if outcome.refused:
        messages.error(
            request,
            f"You have started tracking {outcome.limit} packages today, the daily limit. "
            "Try again tomorrow (UTC) or ask an operator.",
        )
    elif outcome.started or outcome.resumed:
        messages.success(request, f"Tracking {name}: its data arrives within a few minutes.")
    return outcome
