"""Data-quality markers on the compare page: known upstream events inside the window are in
the chart payload (drawn by static/js/charts.js), events outside it are not."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.packages_app.pages.compare_data import put_series
from tests.packages_app.pages.test_compare import payload_of

pytestmark = pytest.mark.django_db


def test_a_known_event_in_the_window_is_a_marker(client: Client) -> None:
    put_series("django", lambda d: 1000, days=400)
    payload = payload_of(client.get("/compare/?packages=django"))
    starts = {marker["start"] for marker in payload["markers"]}
    # PyPI's 2026-08-24 change in what counts as a download lies in the last 365 days.
    assert "2026-08-24" in starts
    assert all(
        payload["window"]["start"] <= m["end"] and m["start"] <= payload["window"]["end"]
        for m in payload["markers"]
    )


def test_events_outside_the_window_are_left_out(client: Client) -> None:
    put_series("django", lambda d: 1000, days=60)
    payload = payload_of(client.get("/compare/?packages=django&range=30"))
    assert "2026-08-24" not in {marker["start"] for marker in payload["markers"]}


def test_the_page_loads_the_annotation_plugin_and_the_chart_module(client: Client) -> None:
    put_series("django", lambda d: 1000, days=60)
    html = client.get("/compare/?packages=django&range=30").content.decode()
    assert "vendor/chartjs-plugin-annotation.min.js" in html
    assert html.index("js/charts.js") < html.index("js/compare.js")
