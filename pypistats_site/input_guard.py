"""One answer for text no view can use: a NUL character or a lone surrogate anywhere in the
path, the query string or a submitted form (field names, values, file names) is a 400 here,
before any view runs (issue #13).

Why here and not per view: PostgreSQL text cannot hold NUL, so every view that filters,
stores or looks up a value would otherwise need its own check (nine endpoints answered 500
before this existed); and no field of this site has a use for either character. Invalid
UTF-8 never reaches a view as such: Django decodes the query string and form bodies with
replacement characters and re-percent-encodes a path that is not UTF-8, so those arrive as
ordinary (if odd) text that the views' own validation answers.

Everything else about a value (length, format) stays the business of the view's form or
parser, which answers a form error or its usual 4xx. The compatible JSON API (/api/) does
its own validation and answers upstream's bytes, NUL included (tests/packages_app/api).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import reverse

MESSAGE = (
    "Bad Request: the {where} holds a NUL character or invalid Unicode text, "
    "which this site does not accept.\n"
)


def unusable(text: str) -> bool:
    """A NUL character or a lone surrogate (text that cannot be encoded as UTF-8)."""
    if "\x00" in text:
        return True
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _any_unusable(texts: Iterable[str]) -> bool:
    return any(unusable(text) for text in texts)


@functools.cache
def _api_root() -> str:
    return reverse("api:docs")


def where_unusable(request: HttpRequest) -> str | None:
    """Which part of the request holds unusable text ("path", "query string", "form"), or
    None. Reads the form only of a POST (it is parsed once, and CSRF reads it anyway).

    The compatible JSON API is left to itself: it validates every name and parameter before
    use and answers as upstream does (its text 404 or 400), which clients rely on."""
    if request.path_info.startswith(_api_root()):
        return None
    if unusable(request.path):
        return "path"
    if _any_unusable(request.GET.keys()) or _any_unusable(
        value for _, values in request.GET.lists() for value in values
    ):
        return "query string"
    if request.method == "POST":
        fields = request.POST
        if _any_unusable(fields.keys()) or _any_unusable(
            value for _, values in fields.lists() for value in values
        ):
            return "form"
        files = request.FILES
        if _any_unusable(files.keys()) or _any_unusable(
            str(upload.name or "") for _, uploads in files.lists() for upload in uploads
        ):
            return "form"
    return None


class InputGuardMiddleware:
    """Answers 400 (plain text) to a request holding unusable text; see the module's doc."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = where_unusable(request)
        if where is not None:
            return HttpResponseBadRequest(
                MESSAGE.format(where=where), content_type="text/plain; charset=utf-8"
            )
        return self.get_response(request)
