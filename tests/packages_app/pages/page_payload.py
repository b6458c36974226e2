"""What a chart page hands its charts, read as static/js/charts.js reads it: the JSON of
<script id="chart-data"> plus each chart's numbers from its <table data-chart-table="ID">,
or from the JSON for a chart whose table is fetched on demand (the page holds each
number once)."""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

SCRIPT = re.compile(r'<script id="chart-data" type="application/json">(.*?)</script>', re.S)


# The tables are pages/chart.py data_table's: <table data-chart-table="ID"><thead>…</thead>
# <tbody> then one "<tr><td>period" per row and one "<td>value" per dataset, end tags left
# out. Read with regular expressions rather than html.parser: a pure-Python HTML parser
# over thousands of cells was a fifth of the option-matrix tests' time.
TABLE = re.compile(r'<table data-chart-table="([^"]*)">.*?<tbody>(.*?)</tbody></table>', re.S)
TAG = re.compile(r"<[^>]*>")


def _tables(html: str) -> dict[str, list[list[str]]]:
    """Rows of cell texts (as a browser's textContent reads them) per data-chart-table id."""
    tables: dict[str, list[list[str]]] = {}
    for chart_id, body in TABLE.findall(html):
        rows = body.split("<tr>")
        assert rows[0] == "", "the body holds rows only"
        tables[unescape(chart_id)] = [
            [unescape(TAG.sub("", cell)) for cell in row.split("<td>")[1:]] for row in rows[1:]
        ]
    return tables


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
    tables = _tables(html)
    charts = payload.get("charts") or [{**payload, "id": "compare"}]
    for chart in charts:
        if all("data" in dataset for dataset in chart["datasets"]):
            # A table fetched on demand (the package page's below the first): the numbers
            # are in the payload, and the page holds no table of them.
            assert chart["id"] not in tables, "the numbers are sent once"
            continue
        rows = tables[chart["id"]]
        for i, dataset in enumerate(chart["datasets"]):
            assert "data" not in dataset, "the numbers are sent once, in the table"
            dataset["data"] = [_number(row[i + 1]) for row in rows]
    if "charts" not in payload:
        payload["datasets"] = charts[0]["datasets"]
    return payload
