"""Watchlist pages and actions, the public read-only link, and the dashboard.

Every view: sign-in gate -> access helper (404 for outsiders) -> form/selector/service
-> render. HTMX requests get the "#table" partial of the same template, so adding,
removing, annotating and sorting never reload the page; without JavaScript the same
forms post and redirect back.
"""

from __future__ import annotations

import uuid
from typing import TypedDict, Unpack

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from packages_app.http import AuthenticatedHttpRequest, HtmxHttpRequest, login_required
from packages_app.names import canonicalize_or_none
from packages_app.page_cache import Identity, cached_page, newest, row_state
from watchlists import access, columns, requirements_parser, selectors, services
from watchlists.access import Uid, WatchlistAccess
from watchlists.forms import (
    AddPackageForm,
    BulkAddForm,
    NewWatchlistForm,
    NoteForm,
    RemovePackageForm,
    WatchlistForm,
)
from watchlists.models import Watchlist, WatchlistEntry
from watchlists.requirements_parser import LineError

DETAIL = "watchlists/watchlist_detail.html"
# Compare pages take at most this many packages (design.md: "up to 10 packages").
COMPARE_MAX = 10


class Feedback(TypedDict, total=False):
    """What an action reports back: shown in the table (htmx) or as messages (redirect)."""

    result: services.AddResult
    parse_errors: list[LineError]
    message: str
    level: int  # a django.contrib.messages level


class _Extra(TypedDict, total=False):
    """Template values only some renders of the watchlist table add."""

    feedback: Feedback


class Column(TypedDict):
    """A header cell of the watchlist table."""

    key: str
    label: str
    numeric: bool
    sort: str  # the sort its link asks for
    current: bool
    aria: str  # aria-sort


# --- lists and the dashboard -------------------------------------------------------------------


def _new_form(request: AuthenticatedHttpRequest, data: QueryDict | None = None) -> NewWatchlistForm:
    teams = [m.team for m in selectors.teams_for_user(request.user)]
    return NewWatchlistForm(data, teams=teams)


@login_required
@require_GET
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    mine, teams = selectors.dashboard_lists(request.user)
    tables = selectors.watchlist_tables(mine + teams)
    return render(
        request,
        "watchlists/dashboard.html",
        {
            "mine": [(w, tables[w.pk]) for w in mine],
            "team_lists": [(w, tables[w.pk]) for w in teams],
            "memberships": selectors.teams_for_user(request.user),
        },
    )


@login_required
@require_GET
def watchlist_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    mine, teams = selectors.dashboard_lists(request.user)
    return render(
        request,
        "watchlists/watchlist_list.html",
        {"mine": mine, "team_lists": teams, "form": _new_form(request)},
    )


@login_required
@require_POST
def watchlist_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = _new_form(request, request.POST)
    if form.is_valid():
        # The package page's "create a watchlist" form names the package to start it with.
        package = form.cleaned_data["package"]
        user = get_user_model().objects.get(pk=request.user.pk or 0)
        try:
            with transaction.atomic():
                watchlist = services.watchlist_create(
                    name=form.cleaned_data["name"],
                    user=user,
                    team=form.team(),
                    visibility=form.cleaned_data["visibility"],
                )
                result = (
                    services.watchlist_add_packages(watchlist=watchlist, names=[package], user=user)
                    if package
                    else None
                )
        except services.RuleError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Watchlist {watchlist.name} created.")
            if result is not None:
                for level, text in _feedback_messages({"result": result}):
                    messages.add_message(request, level, text)
            return redirect("watchlist_detail", uid=watchlist.uid)
    mine, teams = selectors.dashboard_lists(request.user)
    return render(
        request,
        "watchlists/watchlist_list.html",
        {"mine": mine, "team_lists": teams, "form": form},
        status=400,
    )


# --- one list ----------------------------------------------------------------------------------


def _context(
    request: HtmxHttpRequest, acc: WatchlistAccess, *, public: bool = False, **extra: Unpack[_Extra]
) -> dict[str, object]:
    sort = selectors.parse_sort(request.GET.get("sort") or request.POST.get("sort"))
    table = selectors.watchlist_table(acc.watchlist, sort=sort)
    watchlist = acc.watchlist
    base_url = (
        reverse("watchlist_public", args=[watchlist.public_token])
        if public
        else reverse("watchlist_detail", args=[watchlist.uid])
    )
    compare_names = table.names[:COMPARE_MAX]
    return {
        "watchlist": watchlist,
        "access": acc,
        "public": public,
        "table": table,
        "base_url": base_url,
        "columns": _columns(table.sort),
        # The owner's chosen breakdown column (None: none, or ClickHouse off).
        "extra_column": columns.column_values(watchlist.column, table.names),
        "compare_url": "/compare/?packages=" + ",".join(compare_names) if compare_names else "",
        "compare_truncated": len(table.names) > COMPARE_MAX,
        "add_form": AddPackageForm(),
        "bulk_form": BulkAddForm(),
        "max_packages": services.max_packages(),
        "urls": _row_urls(watchlist),
        **extra,
    }


def _row_urls(watchlist: Watchlist) -> dict[str, str]:
    """The per-row action URLs, reversed once per page rather than once per row."""
    package = reverse("package-detail", args=["x"])
    return {
        "poll": reverse("watchlist_poll", args=[watchlist.uid]),
        "package": package[: -len("x/")],
        "note": reverse("watchlist_note", args=[watchlist.uid]),
        "remove": reverse("watchlist_remove", args=[watchlist.uid]),
    }


def _columns(sort: str) -> list[Column]:
    """Header cells: each links to its sort, flipping direction when already sorted on it."""
    labels = [
        ("name", "Package", False),
        ("day", "Last day", True),
        ("week", "Last week", True),
        ("month", "Last month", True),
        ("change", "Week over week", True),
    ]
    columns: list[Column] = []
    for key, label, numeric in labels:
        current = sort.lstrip("-") == key
        descending = sort.startswith("-")
        # Clicking the current column flips it; a new column starts biggest-first.
        flipped = key if descending else f"-{key}"
        target = flipped if current else (f"-{key}" if numeric else key)
        columns.append(
            {
                "key": key,
                "label": label,
                "numeric": numeric,
                "sort": target,
                "current": current,
                "aria": ("descending" if descending else "ascending") if current else "none",
            }
        )
    return columns


def _render_table(
    request: HtmxHttpRequest,
    acc: WatchlistAccess,
    *,
    status: int = 200,
    **extra: Unpack[_Extra],
) -> HttpResponse:
    return render(request, DETAIL + "#table", _context(request, acc, **extra), status=status)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def watchlist_detail(request: AuthenticatedHttpRequest, uid: uuid.UUID) -> HttpResponse:
    acc = access.get_watchlist_for_viewer(request, uid)
    template = DETAIL + "#table" if request.htmx else DETAIL
    return render(request, template, _context(request, acc))


def public_watchlist_identity(request: HtmxHttpRequest, token: str) -> Identity | None:
    """What decides a public list's bytes: the list, its entries (with who added them) and
    their packages' rows, and the sort. The same read-only page for every
    viewer, so whoever asks gets it from the cache (a revoked link is a 404: not cached)."""
    acc = access.get_watchlist_by_public_token(token)
    watchlist = acc.watchlist
    if columns.column_spec(watchlist.column) is not None and columns.offered():
        # A breakdown column's numbers come from ClickHouse (cached by its latest day, or
        # "unavailable" while it fails): nothing in these rows says when they change.
        return None
    entries = list(
        WatchlistEntry.objects.filter(watchlist=watchlist)
        .select_related("package", "added_by")
        .order_by("pk")
    )
    return Identity(
        (
            "watchlist",
            row_state(watchlist),  # its owner is named nowhere on the public page
            selectors.parse_sort(request.GET.get("sort")),
            tuple(
                (row_state(e), row_state(e.package), e.added_by and e.added_by.get_username())
                for e in entries
            ),
        ),
        last_modified=newest(
            [watchlist.updated_at, *(e.package.last_refreshed_at for e in entries)]
        ),
    )


@require_GET
@vary_on_headers("HX-Request")
@cached_page(public_watchlist_identity)
def watchlist_public(request: HtmxHttpRequest, token: str) -> HttpResponse:
    """Read-only for anyone holding the link; 404 once the owner revokes or replaces it."""
    acc = access.get_watchlist_by_public_token(token)
    template = DETAIL + "#table" if request.htmx else DETAIL
    response = render(request, template, _context(request, acc, public=True))
    # The token is the secret: keep it out of Referer headers sent to other sites.
    response["Referrer-Policy"] = "no-referrer"
    return response


@login_required
@require_GET
def watchlist_poll(request: AuthenticatedHttpRequest, uid: uuid.UUID) -> HttpResponse:
    """While packages wait for their first data, the table polls this: once for all of them.

    `waiting` names the rows the page shows as waiting. While the same ones still wait the
    answer is a 204 (htmx swaps nothing; one query for the list's waiting packages). Once
    any of them changed, the whole table comes back to replace the one that asked: one
    target however many rows finish together (a poll per row, each swapping the whole
    table, left the others' answers aimed at a table already replaced: htmx's "Invalid
    re-target"). The new table polls again only if some still wait.
    """
    acc = access.get_watchlist_for_viewer(request, uid)
    shown = {name for name in request.GET.get("waiting", "").split(",") if name}
    if shown and selectors.waiting_names(acc.watchlist) == shown:
        return HttpResponse(status=204)
    return _render_table(request, acc)


def _failed(feedback: Feedback) -> bool:
    """Nothing was done and something was refused: the answer is a 400."""
    result = feedback.get("result")
    if result is not None:
        return not result.added and not result.already
    return feedback.get("level") == messages.ERROR


def _done(
    request: AuthenticatedHttpRequest, acc: WatchlistAccess, **feedback: Unpack[Feedback]
) -> HttpResponse:
    """After an action: the refreshed table for HTMX (400 when it was refused, which
    watchlists.js still swaps in to show why), else messages and a redirect."""
    if request.htmx:
        return _render_table(
            request, acc, status=400 if _failed(feedback) else 200, feedback=feedback
        )
    for level, text in _feedback_messages(feedback):
        messages.add_message(request, level, text)
    url = reverse("watchlist_detail", args=[acc.watchlist.uid])
    sort = request.POST.get("sort")
    if sort:
        url += f"?sort={selectors.parse_sort(sort)}"
    return redirect(url)


def _feedback_messages(feedback: Feedback) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    result = feedback.get("result")
    if result is not None:
        if result.added:
            out.append((messages.SUCCESS, "Added: " + ", ".join(result.added) + "."))
        if result.started_tracking:
            out.append(
                (
                    messages.INFO,
                    "Now tracking "
                    + ", ".join(result.started_tracking)
                    + ": their data arrives after the first refresh.",
                )
            )
        if result.already:
            out.append((messages.INFO, "Already in the list: " + ", ".join(result.already) + "."))
        for name, why in result.rejected:
            out.append((messages.ERROR, f"Not added: {name}: {why}."))
    for error in feedback.get("parse_errors", []):
        out.append((messages.ERROR, f"Line {error.line}: {error.text!r}: {error.message}."))
    if feedback.get("message"):
        out.append((feedback.get("level", messages.INFO), feedback["message"]))
    return out


@login_required
@require_POST
def watchlist_add(request: AuthenticatedHttpRequest, uid: Uid) -> HttpResponse:
    acc = access.get_watchlist_for_editor(request, uid)
    form = AddPackageForm(request.POST)
    if not form.is_valid():
        return _done(
            request,
            acc,
            message="Type a package name (128 characters at most).",
            level=messages.ERROR,
        )
    result = services.watchlist_add_packages(
        watchlist=acc.watchlist, names=[form.cleaned_data["name"]], user=request.user
    )
    return _done(request, acc, result=result)


@login_required
@require_POST
def watchlist_add_from_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The package page's "add to watchlist": the list is chosen in the form, not the URL.

    Same access check and service as watchlist_add; then the watchlist page with a message.
    """
    return watchlist_add(request, request.POST.get("watchlist", ""))


@login_required
@require_POST
def watchlist_bulk_add(request: AuthenticatedHttpRequest, uid: uuid.UUID) -> HttpResponse:
    acc = access.get_watchlist_for_editor(request, uid)
    form = BulkAddForm(request.POST)
    if not form.is_valid():
        error = "; ".join(str(e) for e in form.errors.get("text", ["Paste a requirements file."]))
        return _done(request, acc, message=error, level=messages.ERROR)
    parsed = requirements_parser.parse(form.cleaned_data["text"])
    result = services.watchlist_add_packages(
        watchlist=acc.watchlist, names=parsed.names, user=request.user
    )
    if not parsed.names and not parsed.errors:
        return _done(request, acc, message="No package names found.", level=messages.ERROR)
    return _done(request, acc, result=result, parse_errors=parsed.errors)


@login_required
@require_POST
def watchlist_remove(request: AuthenticatedHttpRequest, uid: uuid.UUID) -> HttpResponse:
    acc = access.get_watchlist_for_editor(request, uid)
    form = RemovePackageForm(request.POST)
    name = form.cleaned_data["name"] if form.is_valid() else ""
    if name and services.watchlist_remove_package(watchlist=acc.watchlist, name=name):
        return _done(request, acc, message=f"Removed {canonicalize_or_none(name) or name}.")
    return _done(request, acc, message="That package is not in this list.", level=messages.ERROR)


@login_required
@require_POST
def watchlist_note(request: AuthenticatedHttpRequest, uid: uuid.UUID) -> HttpResponse:
    acc = access.get_watchlist_for_editor(request, uid)
    form = NoteForm(request.POST)
    canonical = canonicalize_or_none(request.POST.get("name", ""))
    entry = (
        WatchlistEntry.objects.filter(watchlist=acc.watchlist, package__name=canonical).first()
        if canonical
        else None
    )
    if entry is None or not form.is_valid():
        message = (
            "Notes are 500 characters at most." if entry else "That package is not in this list."
        )
        if request.htmx:
            return _render_table(
                request, acc, status=400, feedback={"message": message, "level": messages.ERROR}
            )
        messages.error(request, message)
        return redirect("watchlist_detail", uid=acc.watchlist.uid)
    services.entry_set_note(entry=entry, note=form.cleaned_data["note"])
    return _done(request, acc, message=f"Note saved for {entry.package.name}.")


@login_required
@require_GET
def suggest(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Tracked packages matching what is typed (the add box asks as you type)."""
    query = request.GET.get("name", "")
    uid = request.GET.get("list", "")
    acc = access.get_watchlist_for_editor(request, uid)
    return render(
        request,
        DETAIL + "#suggestions",
        {
            "suggestions": selectors.suggest_packages(query),
            "watchlist": acc.watchlist,
            "query": query,
        },
    )


# --- managing a list ---------------------------------------------------------------------------


@login_required
@require_GET
def watchlist_settings(request: AuthenticatedHttpRequest, uid: uuid.UUID) -> HttpResponse:
    acc = access.get_watchlist_for_manager(request, uid)
    form = WatchlistForm(
        initial={
            "name": acc.watchlist.name,
            "visibility": acc.watchlist.visibility,
            "column": acc.watchlist.column,
        },
        team_owned=acc.watchlist.is_team_list,
    )
    return _settings_page(request, acc.watchlist, form)


def _settings_page(
    request: HtmxHttpRequest, watchlist: Watchlist, form: WatchlistForm, status: int = 200
) -> HttpResponse:
    public_url = (
        request.build_absolute_uri(reverse("watchlist_public", args=[watchlist.public_token]))
        if watchlist.public_link_active and watchlist.public_token
        else ""
    )
    return render(
        request,
        "watchlists/watchlist_settings.html",
        {"watchlist": watchlist, "form": form, "public_url": public_url},
        status=status,
    )


@login_required
@require_POST
def watchlist_update(request: AuthenticatedHttpRequest, uid: uuid.UUID) -> HttpResponse:
    acc = access.get_watchlist_for_manager(request, uid)
    form = WatchlistForm(request.POST, team_owned=acc.watchlist.is_team_list)
    if not form.is_valid():
        return _settings_page(request, acc.watchlist, form, status=400)
    services.watchlist_update(
        watchlist=acc.watchlist,
        name=form.cleaned_data["name"],
        visibility=form.cleaned_data["visibility"],
        # Not offered (ClickHouse off): the stored choice stays.
        column=form.cleaned_data.get("column"),
    )
    messages.success(request, "Watchlist saved.")
    return redirect("watchlist_settings", uid=acc.watchlist.uid)


@login_required
@require_POST
def watchlist_share(request: AuthenticatedHttpRequest, uid: uuid.UUID) -> HttpResponse:
    acc = access.get_watchlist_for_manager(request, uid)
    services.watchlist_share_regenerate(watchlist=acc.watchlist)
    messages.success(request, "New public link created; any previous link no longer works.")
    return redirect("watchlist_settings", uid=acc.watchlist.uid)


@login_required
@require_POST
def watchlist_unshare(request: AuthenticatedHttpRequest, uid: uuid.UUID) -> HttpResponse:
    acc = access.get_watchlist_for_manager(request, uid)
    services.watchlist_share_revoke(watchlist=acc.watchlist)
    messages.success(request, "Public link revoked: the list is no longer public.")
    return redirect("watchlist_settings", uid=acc.watchlist.uid)


@login_required
@require_POST
def watchlist_delete(request: AuthenticatedHttpRequest, uid: uuid.UUID) -> HttpResponse:
    acc = access.get_watchlist_for_manager(request, uid)
    if request.POST.get("confirm") != "yes":
        messages.error(request, "Tick the box to confirm the deletion.")
        return redirect("watchlist_settings", uid=acc.watchlist.uid)
    name = acc.watchlist.name
    services.watchlist_delete(watchlist=acc.watchlist)
    messages.success(request, f"Watchlist {name} deleted.")
    return redirect("watchlist_list")
