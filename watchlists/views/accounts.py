"""Sign-up and the profile page; log in/out and passwords are django.contrib.auth's views."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from packages_app.http import AuthenticatedHttpRequest, login_required
from watchlists import selectors
from watchlists.forms import EmailChangeForm, SignupForm


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


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return HttpResponseRedirect(_safe_next(request))
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
