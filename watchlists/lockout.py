"""The name django-axes records a failed login under (settings.AXES_USERNAME_CALLABLE)."""

from __future__ import annotations

from collections.abc import Mapping

from axes.models import AccessAttempt
from django.conf import settings
from django.http import HttpRequest

# AccessAttempt.username (and AccessFailureLog's) is a varchar(255): a longer name made the
# failure record overflow and the login answer 500 (issue #13).
USERNAME_MAX = AccessAttempt._meta.get_field("username").max_length or 255


def lockout_username(request: HttpRequest, credentials: Mapping[str, object] | None) -> str | None:
    """What axes does by default (the credentials' username, else the POSTed one), cut to what
    its tables hold. No account has a name that long (User.username is at most 150), so two
    names that differ only past that point lock out the same nobody."""
    field = str(getattr(settings, "AXES_USERNAME_FORM_FIELD", "username"))
    value = credentials.get(field) if credentials else request.POST.get(field)
    if value is None:
        return None
    return str(value)[:USERNAME_MAX]
