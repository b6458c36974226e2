from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from packages_app.models import Package
from packages_app.pages.badges import Badge, human_count, text_width
from tests.packages_app.pages.package_data import daily_without_mirrors, make_package

D = dt.date
SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (7, "7"),
        (999, "999"),
        (1000, "1k"),
        (1234, "1.2k"),
        (9_949, "9.9k"),
        (34_000, "34k"),
        (999_499, "999k"),
        (999_950, "1M"),
        (1_200_000, "1.2M"),
        (12_345_678, "12M"),
        (3_400_000_000, "3.4B"),
    ],
)
def test_human_count(value: int, text: str) -> None:
    assert human_count(value) == text


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        human_count(-1)


def test_svg_is_well_formed_escaped_and_sized_by_text() -> None:
    short = Badge("downloads/day", "9", "#007ec6").svg()
    long = Badge("downloads/month", "123M", "#007ec6").svg()
    root = ET.fromstring(short)
    assert root.tag == f"{SVG}svg" and root.get("height") == "20"
    assert int(ET.fromstring(long).get("width") or 0) > int(root.get("width") or 0)
    assert root.find(f"{SVG}title") is not None
    assert "<script" not in short and "style" not in short and "href" not in short
    nasty = Badge('<script>"&', "</text>", '"red').svg()
    parsed = ET.fromstring(nasty)  # still well-formed
    assert parsed.find(f"{SVG}title").text == '<script>"&: </text>'  # type: ignore[union-attr]
    assert "<script>" not in nasty
    assert text_width("mmm") > text_width("iii")


def test_endpoint_json_schema() -> None:
    assert Badge("downloads/week", "1.2M", "#007ec6").endpoint_json() == {
        "schemaVersion": 1,
        "label": "downloads/week",
        "message": "1.2M",
        "color": "007ec6",
    }


@pytest.mark.django_db
def test_badges_use_recent_and_total(client: Client) -> None:
    package = make_package(
        "flask", first=D(2024, 1, 1), latest=D(2024, 3, 31), recent=(512, 34_567, 1_234_567)
    )
    day = client.get("/badges/flask/day.svg")
    assert day.status_code == 200 and day["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert ">downloads/day<" in day.content.decode() and ">512<" in day.content.decode()
    assert ">35k<" in client.get("/badges/flask/week.svg").content.decode()
    assert ">1.2M<" in client.get("/badges/flask/month.svg").content.decode()
    total = sum(daily_without_mirrors(package).values())
    body = json.loads(client.get("/badges/flask/total.json").content)
    assert body == {
        "schemaVersion": 1,
        "label": "downloads",
        "message": human_count(total),
        "color": "007ec6",
    }
    ET.fromstring(client.get("/badges/flask/total.svg").content)


@pytest.mark.django_db
def test_badge_without_recent_row_computes_from_points(client: Client) -> None:
    package = make_package("computed", first=D(2024, 1, 1), latest=D(2024, 3, 31))
    data = daily_without_mirrors(package)
    week = sum(data[D(2024, 3, 31) - dt.timedelta(days=i)] for i in range(7))
    body = json.loads(client.get("/badges/computed/week.json").content)
    assert body["message"] == human_count(week)


@pytest.mark.django_db
def test_cache_headers_etag_and_304(client: Client) -> None:
    make_package("flask", first=D(2024, 1, 1), latest=D(2024, 1, 31), recent=(1, 2, 3))
    response = client.get("/badges/flask/week.svg")
    assert "public" in response["Cache-Control"] and "max-age=3600" in response["Cache-Control"]
    etag = response["ETag"]
    again = client.get("/badges/flask/week.svg", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["ETag"] == etag and again.content == b""


@pytest.mark.django_db
def test_server_side_cache_is_keyed_by_data_version(client: Client) -> None:
    package = make_package("flask", first=D(2024, 1, 1), latest=D(2024, 1, 31), recent=(1, 2, 3))
    assert b">2<" in client.get("/badges/flask/week.svg").content
    with CaptureQueriesContext(connection) as ctx:
        client.get("/badges/flask/week.svg")
    assert len(ctx.captured_queries) == 1  # only the package (and its data_version)
    package.recent.last_week = 5000
    package.recent.save()
    assert b">2<" in client.get("/badges/flask/week.svg").content  # same data_version: cached
    Package.objects.filter(pk=package.pk).update(data_version=1)
    assert b">5k<" in client.get("/badges/flask/week.svg").content


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/badges/unknown-pkg/week.svg", "/badges/unknown-pkg/total.json"])
def test_unknown_package_is_a_404_badge(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert b"package not found" in response.content
    if path.endswith(".svg"):
        ET.fromstring(response.content)
        assert response["Content-Type"].startswith("image/svg+xml")


@pytest.mark.django_db
def test_unknown_period_and_invalid_name_are_404(client: Client) -> None:
    make_package("flask", first=D(2024, 1, 1), latest=D(2024, 1, 31))
    assert client.get("/badges/flask/year.svg").status_code == 404
    assert client.get("/badges/-bad-/week.svg").status_code == 404


@pytest.mark.django_db
def test_non_canonical_spelling_serves_the_same_badge(client: Client) -> None:
    make_package("zope-interface", first=D(2024, 1, 1), latest=D(2024, 1, 31), recent=(1, 2, 3))
    assert (
        client.get("/badges/Zope.Interface/week.svg").content
        == client.get("/badges/zope-interface/week.svg").content
    )


def test_snippets_in_markdown_html_and_rst() -> None:
    from packages_app.pages.badges import snippets

    week = snippets(
        svg_url=lambda p: f"https://stats.example/badges/a-b/{p}.svg",
        page_url="https://stats.example/packages/a-b/",
    )[1]
    assert week.period == "week"
    assert week.markdown == (
        "[![downloads/week](https://stats.example/badges/a-b/week.svg)]"
        "(https://stats.example/packages/a-b/)"
    )
    assert week.html == (
        '<a href="https://stats.example/packages/a-b/">'
        '<img src="https://stats.example/badges/a-b/week.svg" alt="downloads/week"></a>'
    )
    assert week.rst == (
        ".. image:: https://stats.example/badges/a-b/week.svg\n"
        "   :target: https://stats.example/packages/a-b/\n"
        "   :alt: downloads/week"
    )


@pytest.mark.django_db
def test_the_badge_panel_offers_every_markup_and_a_copy_button(client: Client) -> None:
    make_package("flask", first=D(2024, 1, 1), latest=D(2024, 3, 31), recent=(1, 2, 3))
    html = client.get("/packages/flask/").content.decode()
    panel = html.split('<section class="card badges-panel"')[1].split("</section>")[0]
    for fmt in ("Markdown", "HTML", "reStructuredText"):
        assert f"> {fmt}</label>" in panel
    assert 'id="badge-md-week"' in panel and 'id="badge-rst-total"' in panel
    # The HTML form is shown as text: escaped once in the page, valid HTML once copied.
    assert (
        "&lt;a href=&quot;http://testserver/packages/flask/&quot;&gt;&lt;img src=&quot;"
        "http://testserver/badges/flask/week.svg&quot;" in panel
    )
    assert ".. image:: http://testserver/badges/flask/day.svg" in panel
    assert panel.count('class="small secondary js-copy-badge"') == 4
    assert "js/badges.js" in html
