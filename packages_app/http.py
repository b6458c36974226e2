"""Typed requests, what an htmx request asks for, the answer to a polling element, and
the sign-in gate: shared by the pages, the teams and the watchlists views."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps
from typing import TYPE_CHECKING, Concatenate, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect, HttpResponseStopPolling
from django_htmx.middleware import HtmxDetails

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class AuthenticatedHttpRequest(HtmxHttpRequest):
    """What a view behind login_required gets: its user is signed in, never anonymous.

    Only a type (django-stubs' recipe): no such object is ever built; login_required
    checks the user and hands the same request on under this name.
    """

    user: User


def login_required[**P](
    view: Callable[Concatenate[AuthenticatedHttpRequest, P], HttpResponse],
) -> Callable[Concatenate[HtmxHttpRequest, P], HttpResponse]:
    """Django's login_required, but an HTMX request gets a client-side redirect to the
    login page instead of a login form swapped into the middle of the page."""

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if request.user.is_authenticated:
            # Checked just above: the user is signed in.
            return view(cast(AuthenticatedHttpRequest, request), *args, **kwargs)
        login_url = resolve_url(settings.LOGIN_URL)
        if request.htmx:
            current = request.htmx.current_url_abs_path or "/"
            return HttpResponseClientRedirect(f"{login_url}?{urlencode({'next': current})}")
        return redirect_to_login(request.get_full_path(), login_url)

    return wrapper


def is_partial(request: HttpRequest) -> bool:
    """An htmx request for a fragment (a history-restore miss wants the whole page)."""
    htmx: HtmxDetails | None = getattr(request, "htmx", None)
    if not htmx:
        return False
    return not htmx.history_restore_request


def poll_answer(fragment: HttpResponse, status: Mapping[str, object]) -> HttpResponse:
    """The answer to an element polling a package's data status (`every 2s`).

    While the status is not `done`, the fragment as it is (htmx keeps polling). Once it
    is, the same fragment as 286, which stops the polling; when the data has arrived
    (`ready`) also HX-Refresh, so the page reloads and shows its charts.
    """
    if not status["done"]:
        return fragment
    stop = HttpResponseStopPolling(fragment.content)
    if status["state"] == "ready":
        stop["HX-Refresh"] = "true"
    return stop
