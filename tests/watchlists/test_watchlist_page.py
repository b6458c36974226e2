"""The watchlist page: figures, totals, sorting, HTMX partials, progress rows, query count."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django import Settings

from packages_app.models import Package, UpstreamState
from tests.world import World, add_series
from watchlists import selectors, services, stats
from watchlists.models import WatchlistEntry

SUNDAY = dt.date(2026, 11, 22)


def test_complete_weeks() -> None:
    # A Sunday closes its own week.
    weeks = stats.complete_weeks(SUNDAY)
    assert (weeks.this_start, weeks.this_end) == (dt.date(2026, 11, 16), SUNDAY)
    assert (weeks.prev_start, weeks.prev_end) == (dt.date(2026, 11, 9), dt.date(2026, 11, 15))
    # Mid-week, the current week is incomplete: the last complete one ended last Sunday.
    weeks = stats.complete_weeks(dt.date(2026, 11, 25))
    assert (weeks.this_start, weeks.this_end) == (dt.date(2026, 11, 16), SUNDAY)
    assert stats.complete_weeks(dt.date(2026, 11, 16)).this_end == dt.date(2026, 11, 15)


def series(end: dt.date, values: list[int]) -> stats.Series:
    return {end - dt.timedelta(days=len(values) - 1 - i): v for i, v in enumerate(values)}


def test_row_figures() -> None:
    s = series(SUNDAY, [10] * 7 + [20] * 7)  # week before: 70, last week: 140
    f = stats.row_figures(s, SUNDAY, SUNDAY)
    assert (f.day, f.week, f.month) == (20, 140, 210)
    assert (f.this_week, f.prev_week) == (140, 70)
    assert f.change == pytest.approx(1.0)
    assert f.spark and len(f.spark.split()) == stats.SPARK_DAYS


def test_incomplete_week_has_no_change() -> None:
    s = series(SUNDAY, [10] * 13)  # the earlier week lacks its Monday
    f = stats.row_figures(s, SUNDAY, SUNDAY)
    assert f.prev_week is None and f.change is None
    assert stats.change_ratio(5, 0) is None


def test_sparkline_is_empty_without_data_and_scaled_with() -> None:
    assert stats.sparkline_points({}, SUNDAY) == ""
    points = stats.sparkline_points(series(SUNDAY, [0, 50, 100]), SUNDAY).split()
    ys = [float(p.split(",")[1]) for p in points]
    assert min(ys) == 1.0 and max(ys) == stats.SPARK_HEIGHT - 1


def test_page_shows_figures_totals_and_as_of(world: World) -> None:
    flask, _ = Package.objects.get_or_create(name="flask")
    add_series(flask, SUNDAY, [10] * 7 + [20] * 7)
    services.watchlist_add_packages(watchlist=world.team_list, names=["flask"], user=world.alice)
    table = selectors.watchlist_table(world.team_list)
    by_name = {r.package.name: r for r in table.rows}
    assert by_name["flask"].figures.week == 140
    # requests: 100..199 over 100 days ending SUNDAY.
    assert by_name["requests"].figures.day == 199
    assert table.totals.day == 199 + 20
    assert table.totals.week == sum(range(193, 200)) + 140
    assert table.as_of == SUNDAY
    response = world.client_for("bob").get(reverse("watchlist_detail", args=[world.team_list.uid]))
    body = response.content.decode()
    assert '<time datetime="2026-11-22">' in body
    assert "<polyline" in body
    assert "/compare/?packages=" in body and "flask" in body
    assert 'style="' not in body and "<script>" not in body  # CSP: no inline style or script


def test_a_list_without_data_shows_dashes_not_none(world: World) -> None:
    """Totals of a list whose packages have no data yet are None: shown as "—", never as the
    word "None" (intcomma hands None back as it is, so the dash must come first)."""
    Package.objects.get_or_create(name="nodata")
    services.watchlist_add_packages(
        watchlist=world.private_list, names=["nodata"], user=world.alice
    )
    WatchlistEntry.objects.filter(watchlist=world.private_list).exclude(
        package__name="nodata"
    ).delete()
    table = selectors.watchlist_table(world.private_list)
    assert table.totals.day is None
    body = world.client_for("alice").get(reverse("watchlist_detail", args=[world.private_list.uid]))
    text = body.content.decode()
    assert body.status_code == 200
    assert ">None<" not in text
    assert '<div class="value">—</div><div class="label">last day, all packages</div>' in text


def test_sort_by_any_column_and_bad_sort_is_ignored(world: World) -> None:
    for name, values in [("aaa", [5] * 14), ("bbb", [50] * 14), ("ccc", [1] * 7 + [2] * 7)]:
        package, _ = Package.objects.get_or_create(name=name)
        add_series(package, SUNDAY, values)
    services.watchlist_add_packages(
        watchlist=world.private_list, names=["aaa", "bbb", "ccc"], user=world.alice
    )
    client = world.client_for("alice")
    url = reverse("watchlist_detail", args=[world.private_list.uid])

    def order(sort: str) -> list[str]:
        body = client.get(url, {"sort": sort}, headers={"HX-Request": "true"}).content.decode()
        return re.findall(r'data-package="([^"]+)"', body)

    assert order("name") == ["aaa", "bbb", "ccc", "requests"]
    assert order("-name") == ["requests", "ccc", "bbb", "aaa"]
    assert order("-week") == ["requests", "bbb", "aaa", "ccc"]
    assert order("week") == ["ccc", "aaa", "bbb", "requests"]
    assert order("-change")[0] == "ccc"  # +100 %
    assert order("-day")[0] == "requests"
    assert order("nonsense;drop") == order(selectors.DEFAULT_SORT)
    # Without JS: the full page, sort links carry ?sort= and hx-push-url.
    page = client.get(url, {"sort": "name"}).content.decode()
    assert "<html" in page and 'hx-push-url="true"' in page and "?sort=-name" in page


def test_htmx_partial_and_vary(world: World) -> None:
    client = world.client_for("alice")
    url = reverse("watchlist_detail", args=[world.team_list.uid])
    partial = client.get(url, headers={"HX-Request": "true"})
    assert partial.content.lstrip().startswith(b'<section id="watchlist-table"')
    assert "HX-Request" in partial["Vary"]


def test_add_and_remove_with_htmx_return_the_table(world: World) -> None:
    client = world.client_for("bob")
    add = client.post(
        reverse("watchlist_add", args=[world.team_list.uid]),
        {"name": "Brand_New.Pkg", "sort": "name"},
        headers={"HX-Request": "true"},
    )
    assert add.status_code == 200
    body = add.content.decode()
    assert body.lstrip().startswith('<section id="watchlist-table"')
    assert "Now tracking brand-new-pkg" in body
    package = Package.objects.get(name="brand-new-pkg")
    assert package.added_by == world.bob and package.next_attempt_at is not None
    # The table polls for the new row's data, once; rows with data do not poll.
    assert f'hx-get="/watchlists/{world.team_list.uid}/poll/?waiting=brand-new-pkg"' in body
    assert body.count('hx-trigger="every 5s"') == 1
    remove = client.post(
        reverse("watchlist_remove", args=[world.team_list.uid]),
        {"name": "brand-new-pkg"},
        headers={"HX-Request": "true"},
    )
    assert remove.status_code == 200 and b"Removed brand-new-pkg" in remove.content
    assert not WatchlistEntry.objects.filter(watchlist=world.team_list, package=package).exists()


def test_invalid_name_is_reported_not_500(world: World) -> None:
    client = world.client_for("alice")
    url = reverse("watchlist_add", args=[world.team_list.uid])
    response = client.post(url, {"name": "../etc/passwd"}, headers={"HX-Request": "true"})
    assert response.status_code == 400 and b"not a valid package name" in response.content
    # Already there is not an error.
    response = client.post(url, {"name": "requests"}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and b"Already in the list: requests." in response.content
    response = client.post(url, {"name": ""}, headers={"HX-Request": "true"})
    assert (
        response.status_code == 400 and b"Type a package name" in response.content
    )  # and nothing was added
    response = client.post(url, {"name": "x" * 500}, follow=True)
    assert response.status_code == 200 and b"128 characters at most" in response.content
    assert not Package.objects.filter(name__startswith="x" * 100).exists()


def test_suggestion_pick_wins_over_typed_text(world: World) -> None:
    client = world.client_for("alice")
    client.post(
        reverse("watchlist_add", args=[world.private_list.uid]), {"name": "fla", "pick": "requests"}
    )
    assert not Package.objects.filter(name="fla").exists()


def test_the_table_polls_once_for_its_waiting_rows_until_data(world: World) -> None:
    services.watchlist_add_packages(
        watchlist=world.team_list, names=["newpkg", "otherpkg"], user=world.alice
    )
    client = world.client_for("bob")
    page = client.get(reverse("watchlist_detail", args=[world.team_list.uid])).content.decode()
    # One poller for both waiting rows, none on the rows themselves (issue #14, item 4).
    assert page.count('hx-trigger="every 5s"') == 1
    assert "/poll/?waiting=newpkg,otherpkg" in page
    assert page.count("Fetching…") == 2
    url = reverse("watchlist_poll", args=[world.team_list.uid])
    shown = {"waiting": "newpkg,otherpkg"}
    with CaptureQueriesContext(connection) as queries:
        still = client.get(url, shown, headers={"HX-Request": "true"})
    assert still.status_code == 204 and still.content == b""
    assert len(queries) <= 5  # session, user, list, membership, waiting packages: no figures
    # Both finish at once: one answer, the whole table, for the one target that asked.
    for name in ("newpkg", "otherpkg"):
        package = Package.objects.get(name=name)
        package.upstream_state = UpstreamState.NOT_FOUND
        package.save()
    gone = client.get(url, {**shown, "sort": "name"}, headers={"HX-Request": "true"})
    assert gone.status_code == 200
    assert "HX-Retarget" not in gone and "HX-Reswap" not in gone
    body = gone.content.decode()
    assert body.lstrip().startswith('<section id="watchlist-table"')
    assert body.count("Not on PyPI Stats") == 2 and "every 5s" not in body
    assert 'value="name"' in body  # the sort the page had is kept


def test_the_poll_answers_the_table_when_only_some_finished(world: World) -> None:
    services.watchlist_add_packages(
        watchlist=world.team_list, names=["newpkg", "otherpkg"], user=world.alice
    )
    add_series(Package.objects.get(name="newpkg"), SUNDAY, [7] * 14)
    client = world.client_for("bob")
    url = reverse("watchlist_poll", args=[world.team_list.uid])
    done = client.get(url, {"waiting": "newpkg,otherpkg"}).content.decode()
    assert "<polyline" in done and "Total (3)" in done
    # The table still polls, now for the one that waits.
    assert done.count('hx-trigger="every 5s"') == 1 and "?waiting=otherpkg" in done
    assert client.get(url, {"waiting": "otherpkg"}).status_code == 204


def test_failing_package_shows_next_retry(world: World) -> None:
    services.watchlist_add_packages(watchlist=world.team_list, names=["flaky"], user=world.alice)
    Package.objects.filter(name="flaky").update(upstream_state=UpstreamState.FAILING)
    body = (
        world.client_for("alice")
        .get(reverse("watchlist_detail", args=[world.team_list.uid]))
        .content
    )
    assert b"Upstream failing" in body and b"next try" in body


def test_bulk_paste_reports_bad_lines(world: World) -> None:
    response = world.client_for("alice").post(
        reverse("watchlist_bulk", args=[world.team_list.uid]),
        {"text": "# deps\nflask>=3\nnot valid!\nrequests\n"},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert "Added: flask." in body
    assert "Line 3" in body and "not valid!" in body
    assert "Already in the list: requests." in body


def test_bulk_paste_without_js_uses_messages(world: World) -> None:
    response = world.client_for("alice").post(
        reverse("watchlist_bulk", args=[world.team_list.uid]),
        {"text": "flask\n?bad\n"},
        follow=True,
    )
    assert b"Added: flask." in response.content and b"Line 2" in response.content


def test_note_is_saved_and_limited(world: World) -> None:
    client = world.client_for("bob")
    url = reverse("watchlist_note", args=[world.team_list.uid])
    client.post(
        url, {"name": "requests", "note": "  our HTTP client  "}, headers={"HX-Request": "true"}
    )
    entry = WatchlistEntry.objects.get(watchlist=world.team_list, package__name="requests")
    assert entry.note == "our HTTP client"
    too_long = client.post(
        url, {"name": "requests", "note": "x" * 501}, headers={"HX-Request": "true"}
    )
    assert too_long.status_code == 400 and b"500 characters" in too_long.content
    missing = client.post(url, {"name": "numpy", "note": "x"}, headers={"HX-Request": "true"})
    assert missing.status_code == 400


def test_suggestions(world: World) -> None:
    for name in ["requests-oauthlib", "types-requests", "httpx"]:
        Package.objects.create(name=name)
    Package.objects.create(name="requests-old", tracked=False)
    assert selectors.suggest_packages("Requests") == [
        "requests",
        "requests-oauthlib",
        "types-requests",
    ]
    assert selectors.suggest_packages("requests_o") == ["requests-oauthlib"]
    assert selectors.suggest_packages("") == []
    response = world.client_for("alice").get(
        reverse("watchlist_suggest"), {"list": str(world.team_list.uid), "name": "http"}
    )
    assert b'value="httpx"' in response.content


def _list_with(world: World, count: int) -> str:
    wl = services.watchlist_create(name=f"big {count}", user=world.alice)
    names = [f"pkg{count}-{i:03d}" for i in range(count)]
    Package.objects.bulk_create(Package(name=n) for n in names)
    for package in Package.objects.filter(name__in=names):
        add_series(package, SUNDAY, [i % 7 + 1 for i in range(100)])
    WatchlistEntry.objects.bulk_create(
        WatchlistEntry(watchlist=wl, package=p) for p in Package.objects.filter(name__in=names)
    )
    return reverse("watchlist_detail", args=[wl.uid])


def test_query_count_is_constant(world: World, settings: Settings) -> None:
    settings.WATCHLIST_MAX_PER_OWNER = 100
    small, big = _list_with(world, 20), _list_with(world, 200)
    client = world.client_for("alice")
    client.get(small)  # warm the footer's cached "data as of", which costs one query per minute
    counts = []
    for url in (small, big, small, big):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        counts.append(len(queries))
    assert b"pkg200-199" in response.content
    assert counts[0] == counts[1] == counts[2] == counts[3], counts
    # session, user, list, entries+packages, points, and the viewer's digest
    # subscription (the notifications section): nothing per package.
    assert counts[0] <= 7, [q["sql"][:120] for q in queries.captured_queries]


def test_dashboard_totals_and_movers(world: World) -> None:
    mover, _ = Package.objects.get_or_create(name="mover")
    add_series(mover, SUNDAY, [10] * 7 + [30] * 7)
    services.watchlist_add_packages(watchlist=world.team_list, names=["mover"], user=world.alice)
    response = world.client_for("bob").get(reverse("dashboard"))
    body = response.content.decode()
    assert "Team list" in body and "Alice private" not in body  # bob sees his team's lists only
    assert "mover" in body and "▲ 200%" in body
    alice = world.client_for("alice").get(reverse("dashboard")).content.decode()
    assert "Alice private" in alice and "Team list" in alice and "Charlie" not in alice


def test_dashboard_query_count_does_not_grow_with_lists(world: World) -> None:
    client = world.client_for("alice")
    client.get(reverse("dashboard"))  # warm: the first request of a session costs more
    with CaptureQueriesContext(connection) as before:
        client.get(reverse("dashboard"))
    for i in range(5):
        wl = services.watchlist_create(name=f"more {i}", user=world.alice)
        services.watchlist_add_packages(watchlist=wl, names=["requests"], user=world.alice)
    with CaptureQueriesContext(connection) as after:
        client.get(reverse("dashboard"))
    assert len(after) == len(before)


def test_package_names_link_to_their_pages_for_owner_and_public(world: World) -> None:
    owner = world.client_for("alice").get(reverse("watchlist_detail", args=[world.team_list.uid]))
    public = Client().get(reverse("watchlist_public", args=[world.team_list.public_token]))
    for response in (owner, public):
        assert response.status_code == 200
        assert '<a href="/packages/requests/">requests</a>' in response.content.decode()


def test_last_week_is_explained_where_it_is_shown(world: World) -> None:
    client = world.client_for("alice")
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert "the 7 and 30 days ending on each package's latest day held" in dashboard
    detail = client.get(reverse("watchlist_detail", args=[world.team_list.uid])).content.decode()
    assert "the 1, 7 and 30 days ending on each package's latest day held" in detail
    assert "complete weeks (Monday to Sunday)" in detail
