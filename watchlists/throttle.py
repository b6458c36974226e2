"""Per-IP limits on the account forms that tell whether a name or an address exists (signup,
password reset): a fixed one-hour window per client IP and form, counted in the store the API's
rate limit uses (Redis when configured, shared by every web process). Only submissions count.
A store that cannot count never refuses anyone (as the API's limit: it fails open)."""

from __future__ import annotations

import time

from django.conf import settings
from django.http import HttpRequest

from packages_app.api import shared_store
from packages_app.api.ratelimit import client_ip

WINDOW_SECONDS = 3600

# Form -> the setting holding its limit per client IP per hour (0 turns it off).
LIMITS = {
    "signup": "SIGNUP_LIMIT_PER_IP_PER_HOUR",
    "password-reset": "PASSWORD_RESET_LIMIT_PER_IP_PER_HOUR",
}


def retry_after(request: HttpRequest, form: str) -> int | None:
    """Count this submission; None when it may go on, else the seconds until it may."""
    limit = int(getattr(settings, LIMITS[form]))
    if limit <= 0:
        return None
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    key = f"acct-rl:{form}:{client_ip(request)}:{window}"
    count = shared_store.count(key, WINDOW_SECONDS + 5)
    if count is None or count <= limit:
        return None
    return max(1, int((window + 1) * WINDOW_SECONDS - now + 0.999))


def message(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return (
        "Too many attempts from your network address. "
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )
