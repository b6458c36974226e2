"""Every page's ways in and out (issue #14, item 1): the header's compare link, the
footer's human status page, /favicon.ico, and compare from the home and package pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from packages_app.models import Package
from tests.world import make_user

pytestmark = pytest.mark.django_db


def test_every_page_links_compare_in_the_header_and_status_in_the_footer(
    client: Client,
) -> None:
    for url in ("/", "/packages/flask/", "/accounts/login/", "/compare/"):
        html = client.get(url).content.decode()
        header = html.split("</header>")[0]
        assert '<a href="/compare/">Compare</a>' in header, url
        footer = html.split('<footer class="site-footer">')[1]
        assert 'href="/status/">Status</a>' in footer, url
        assert 'href="/healthz"' not in footer, url


def test_signed_in_header_keeps_compare(client: Client) -> None:
    client.force_login(make_user("dana"))
    header = client.get("/").content.decode().split("</header>")[0]
    assert '<a href="/compare/">Compare</a>' in header


def test_the_home_page_offers_compare(client: Client) -> None:
    main = client.get("/").content.decode().split('<main id="main"')[1]
    assert 'href="/compare/"' in main


def test_a_package_page_offers_compare_prefilled_with_it(client: Client) -> None:
    Package.objects.create(name="zope-interface")
    html = client.get("/packages/zope.interface/", follow=True).content.decode()
    assert 'href="/compare/?packages=zope-interface">Compare with…</a>' in html
    # The prefilled comparison opens with the package on it.
    compare = client.get("/compare/?packages=zope-interface")
    assert compare.status_code == 200
    assert 'href="/packages/zope-interface/"' in compare.content.decode()


def test_favicon_is_served(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg")
    assert "max-age" in response["Cache-Control"]
    assert 'rel="icon"' in client.get("/").content.decode()


def test_the_package_page_says_what_last_week_means(client: Client) -> None:
    from tests.packages_app.pages.package_data import make_package

    make_package("flask", first=dt.date(2024, 1, 1), latest=dt.date(2024, 3, 31), recent=(1, 2, 3))
    html = client.get("/packages/flask/").content.decode()
    assert "The 1, 7 and 30 days ending on 31 Mar 2024, the latest day held" in html
