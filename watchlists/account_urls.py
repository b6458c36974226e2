from __future__ import annotations

from django.urls import include, path

from . import account_views

urlpatterns = [
    path("signup/", account_views.signup, name="signup"),
    # login, logout, password_change(_done), password_reset(_done|_confirm|_complete)
    path("", include("django.contrib.auth.urls")),
]
