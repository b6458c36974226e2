"""Sign-up and the profile page; log in/out and passwords are django.contrib.auth's views."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from kombu.exceptions import OperationalError

from packages_app.http import AuthenticatedHttpRequest, login_required
from watchlists import selectors, throttle
from watchlists.forms import EmailChangeForm, QueuedPasswordResetForm, SignupForm

logger = logging.getLogger(__name__)


def _safe_next(request: HttpRequest) -> str:
    """The `next` target if it is a path on this site, else the dashboard.

    Only a local path ("/..."): no other host (no open redirect), and never a bare word,
    which redirect() would take for a URL name (`?next=foo` answered 500)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    # url_has_allowed_host_and_scheme refuses "//host" and "/\\host" (browsers read both as
    # another host); with no allowed host, any URL naming a host is refused too.
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts=set()):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _throttled(request: HttpRequest, template: str, form: BaseForm, seconds: int) -> HttpResponse:
    """429 with the page's form, unchecked (checking it would tell what exists) and empty."""
    response = render(
        request,
        template,
        {
            "form": form,
            "refusal": throttle.message(seconds),
            "next": request.POST.get("next") or request.GET.get("next", ""),
        },
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return HttpResponseRedirect(_safe_next(request))
    if request.method == "POST" and (wait := throttle.retry_after(request, "signup")):
        return _throttled(request, "registration/signup.html", SignupForm(), wait)
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        # Several auth backends are configured (axes first), so name the one to use.
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return HttpResponseRedirect(_safe_next(request))
    return render(
        request,
        "registration/signup.html",
        {"form": form, "next": request.POST.get("next") or request.GET.get("next", "")},
    )


class PasswordResetView(auth_views.PasswordResetView):
    """Django's, limited per IP, with the mail sent from a task (QueuedPasswordResetForm)."""

    form_class = QueuedPasswordResetForm

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if wait := throttle.retry_after(request, "password-reset"):
            template = self.template_name or "registration/password_reset_form.html"
            return _throttled(request, template, QueuedPasswordResetForm(), wait)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        try:
            return super().form_valid(form)
        except OperationalError:
            # The broker is down: the same answer for every address, and an honest one.
            logger.exception("password reset not queued")
            template = self.template_name or "registration/password_reset_form.html"
            return render(
                self.request,
                template,
                {
                    "form": form,
                    "refusal": "We cannot send email right now. Try again in a few minutes.",
                },
                status=503,
            )


@login_required
@require_GET
def profile(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _profile(request, EmailChangeForm(request.user))


def _profile(
    request: AuthenticatedHttpRequest, form: EmailChangeForm, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "registration/profile.html",
        {"email_form": form, "memberships": selectors.teams_for_user(request.user)},
        status=status,
    )


@login_required
@require_POST
def email_change(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Change the email address; the current password is asked again (ASVS 7.5.1)."""
    form = EmailChangeForm(request.user, request.POST)
    if not form.is_valid():
        return _profile(request, form, status=400)
    user = request.user
    user.email = form.cleaned_data["email"]
    user.save(update_fields=["email"])
    messages.success(request, "Your email address was changed.")
    return redirect("profile")
