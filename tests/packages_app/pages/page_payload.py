"""What a chart page hands its charts, read as static/js/charts.js reads it: the JSON of
<script id="chart-data"> plus each chart's numbers from its <table data-chart-table="ID">,
or from the JSON for a chart whose table is fetched on demand (the page holds each
number once)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

SCRIPT = re.compile(r'<script id="chart-data" type="application/json">(.*?)</script>', re.S)


class _Tables(HTMLParser):
    """Rows of cell texts per data-chart-table id (end tags may be left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current: str | None = None
        self.in_body = False
        self.in_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.current = dict(attrs).get("data-chart-table")
            if self.current is not None:
                self.tables[self.current] = []
        elif self.current is not None and tag == "tbody":
            self.in_body = True
        elif self.current is not None and self.in_body and tag == "tr":
            self.tables[self.current].append([])
        elif self.current is not None and self.in_body and tag == "td":
            self.tables[self.current][-1].append("")
            self.in_cell = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.current, self.in_body, self.in_cell = None, False, False

    def handle_data(self, data: str) -> None:
        if self.current is not None and self.in_cell:
            row = self.tables[self.current][-1]
            row[-1] += data


def _number(text: str) -> float | None:
    cleaned = re.sub(r"[,%\s]", "", text)
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return int(value) if value.is_integer() and "." not in cleaned else value


def chart_payload_of(html: str) -> dict[str, Any]:
    match = SCRIPT.search(html)
    assert match, "no chart payload on the page"
    payload: dict[str, Any] = json.loads(match.group(1))
    parser = _Tables()
    parser.feed(html)
    charts = payload.get("charts") or [{**payload, "id": "compare"}]
    for chart in charts:
        if all("data" in dataset for dataset in chart["datasets"]):
            # A table fetched on demand (the package page's below the first): the numbers
            # are in the payload, and the page holds no table of them.
            assert chart["id"] not in parser.tables, "the numbers are sent once"
            continue
        rows = parser.tables[chart["id"]]
        for i, dataset in enumerate(chart["datasets"]):
            assert "data" not in dataset, "the numbers are sent once, in the table"
            dataset["data"] = [_number(row[i + 1]) for row in rows]
    if "charts" not in payload:
        payload["datasets"] = charts[0]["datasets"]
    return payload
