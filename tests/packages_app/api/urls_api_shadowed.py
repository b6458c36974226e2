"""A root URLconf where another view takes /api/packages/… before the API's own route."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path, re_path


def other(request: HttpRequest, rest: str) -> HttpResponse:
    return HttpResponse(b"not the API", content_type="text/plain")


urlpatterns = [
    re_path(r"^api/packages/(?P<rest>.*)\Z", other),
    path("api/", include("packages_app.api.urls")),
]
