"""CSV and JSON exports of exactly what a package page's charts show, for its options."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

CSV_HEADER = ["chart", "series", "category", "period_start", "period_end", "partial", "value"]
UNIT_BY_CHART = {"python_minor_share": "percent"}


def period_cells(periods: dict[str, Any], dataset: dict[str, Any]) -> Iterator[list[Any]]:
    """A dataset's CSV cells per period: start, end, partial, value ("" when not held).

    The package and compare exports share these columns after their own leading ones.
    """
    for i, start in enumerate(periods["labels"]):
        value = dataset["data"][i]
        yield [
            start,
            periods["ends"][i],
            "true" if periods["partial"][i] else "false",
            "" if value is None else value,
        ]


def period_objects(periods: dict[str, Any]) -> list[dict[str, Any]]:
    """The payload's period columns as one object per period, for the JSON exports."""
    return [
        {"start": start, "end": periods["ends"][i], "partial": periods["partial"][i]}
        for i, start in enumerate(periods["labels"])
    ]


def csv_rows(payload: dict[str, Any]) -> Iterator[list[Any]]:
    """One row per chart, series and period (long format: easy to pivot and to filter)."""
    yield CSV_HEADER
    periods = payload["periods"]
    for chart in payload["charts"]:
        for dataset in chart["datasets"]:
            for cells in period_cells(periods, dataset):
                yield [chart["id"], dataset["label"], dataset["key"], *cells]


def to_csv(payload: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(csv_rows(payload))
    return buffer.getvalue()


def to_json(payload: dict[str, Any]) -> str:
    periods = payload["periods"]
    body = {
        "package": payload["package"],
        "window": payload["window"],
        "options": payload["options"],
        "data_version": payload["data_version"],
        "periods": period_objects(periods),
        "charts": [
            {
                "id": chart["id"],
                "title": chart["title"],
                "unit": UNIT_BY_CHART.get(chart["id"], "downloads"),
                "series": [
                    {"key": ds["key"], "label": ds["label"], "data": ds["data"]}
                    for ds in chart["datasets"]
                ],
            }
            for chart in payload["charts"]
        ],
    }
    return json.dumps(body, indent=1) + "\n"


def filename(payload: dict[str, Any], extension: str) -> str:
    """e.g. `django-downloads-2024-01-01-to-2024-06-29-week.csv` (safe: canonical name, dates)."""
    window = payload["window"]
    options = payload["options"]
    name = "all-pypi" if payload["package"] == "__all__" else payload["package"]
    stem = f"{name}-downloads-{window['start']}-to-{window['end']}-{options['agg']}"
    if options["smooth"]:
        stem += "-avg7"
    return f"{stem}.{extension}"
