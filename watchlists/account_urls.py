from __future__ import annotations

from django.urls import include, path

from . import account_views

urlpatterns = [
    path("signup/", account_views.signup, name="signup"),
    path("profile/", account_views.profile, name="profile"),
    path("profile/email/", account_views.email_change, name="email_change"),
    # login, logout (POST only), password_change(_done), password_reset(_done|_confirm|_complete)
    path("", include("django.contrib.auth.urls")),
]
