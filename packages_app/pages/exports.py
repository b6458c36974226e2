"""CSV and JSON exports of exactly what a chart page shows, and their download response.

Each chart page has its export format (PACKAGE, COMPARE: the CSV text, the JSON text
and the file name of its payload); `download` answers either the same way, and
`invalid_options` is both pages' 400.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpResponse

Payload = dict[str, Any]


@dataclass(frozen=True)
class ExportFormat:
    """How one page's payload becomes files: CSV text, JSON text, and the file name."""

    to_csv: Callable[[Payload], str]
    to_json: Callable[[Payload], str]
    filename: Callable[[Payload, str], str]  # (payload, "csv" | "json")


def invalid_options(messages: Iterable[str]) -> HttpResponse:
    """A 400 text answer listing every invalid option."""
    return HttpResponse(
        "Invalid options: " + "; ".join(messages) + "\n",
        status=400,
        content_type="text/plain; charset=utf-8",
    )


def unavailable() -> HttpResponse:
    """A 503 text answer: the source of the export (ClickHouse) is not answering."""
    response = HttpResponse(
        "ClickHouse is not answering: try again in a few minutes.\n",
        status=503,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = "60"
    return response


def download(
    payload: Payload | None, fmt: str, export: ExportFormat, *, missing: str
) -> HttpResponse:
    """The export as an attachment; 404 (`missing`) when no data is held in the window."""
    if payload is None:
        raise Http404(missing)
    if fmt == "csv":
        response = HttpResponse(export.to_csv(payload), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            export.to_json(payload), content_type="application/json; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="{export.filename(payload, fmt)}"'
    return response


# --- shared columns ------------------------------------------------------------------------------


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


def _csv_text(rows: Iterable[list[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _json_text(body: dict[str, Any]) -> str:
    return json.dumps(body, indent=1) + "\n"


# --- the package page: every chart, one package ---------------------------------------------------

PACKAGE_CSV_HEADER = [
    "chart",
    "series",
    "category",
    "period_start",
    "period_end",
    "partial",
    "value",
]


def package_csv_rows(payload: Payload) -> Iterator[list[Any]]:
    """One row per chart, series and period (long format: easy to pivot and to filter)."""
    yield PACKAGE_CSV_HEADER
    periods = payload["periods"]
    for chart in payload["charts"]:
        for dataset in chart["datasets"]:
            for cells in period_cells(periods, dataset):
                yield [chart["id"], dataset["label"], dataset["key"], *cells]


def package_csv(payload: Payload) -> str:
    return _csv_text(package_csv_rows(payload))


def package_json(payload: Payload) -> str:
    return _json_text(
        {
            "package": payload["package"],
            "window": payload["window"],
            "options": payload["options"],
            "data_version": payload["data_version"],
            "periods": period_objects(payload["periods"]),
            "charts": [
                {
                    "id": chart["id"],
                    "title": chart["title"],
                    "unit": "percent" if chart["share"] else "downloads",
                    "series": [
                        {"key": ds["key"], "label": ds["label"], "data": ds["data"]}
                        for ds in chart["datasets"]
                    ],
                }
                for chart in payload["charts"]
            ],
        }
    )


def package_filename(payload: Payload, extension: str) -> str:
    """e.g. `django-downloads-2024-01-01-to-2024-06-29-week.csv` (safe: canonical name, dates)."""
    window = payload["window"]
    options = payload["options"]
    name = "all-pypi" if payload["package"] == "__all__" else payload["package"]
    stem = f"{name}-downloads-{window['start']}-to-{window['end']}-{options['agg']}"
    if options["smooth"]:
        stem += "-avg7"
    return f"{stem}.{extension}"


PACKAGE = ExportFormat(to_csv=package_csv, to_json=package_json, filename=package_filename)


# --- the compare page: one chart, several packages ------------------------------------------------

COMPARE_CSV_HEADER = [
    "package",
    "metric",
    "category",
    "mode",
    "unit",
    "period_start",
    "period_end",
    "partial",
    "value",
]


def compare_csv_rows(payload: Payload) -> Iterator[list[Any]]:
    """Long format, one row per package and period: exactly the chart's numbers."""
    yield COMPARE_CSV_HEADER
    periods = payload["periods"]
    # A breakdown's "latest" is each package's own release: the row names it.
    keys = {row["name"]: row.get("category_key", payload["category"]) for row in payload["stats"]}
    for dataset in payload["datasets"]:
        category = keys.get(dataset["key"], payload["category"])
        leading = [payload["metric"], category, payload["mode"], payload["unit"]]
        for cells in period_cells(periods, dataset):
            yield [dataset["key"], *leading, *cells]


def compare_csv(payload: Payload) -> str:
    return _csv_text(compare_csv_rows(payload))


def compare_json(payload: Payload) -> str:
    return _json_text(
        {
            "packages": payload["packages"],
            "metric": payload["metric"],
            "category": payload["category"],
            "mode": payload["mode"],
            "unit": payload["unit"],
            "window": payload["window"],
            "options": payload["options"],
            "periods": period_objects(payload["periods"]),
            "series": [{"package": ds["key"], "data": ds["data"]} for ds in payload["datasets"]],
            "stats": payload["stats"],
            **({"category_label": payload["category_label"]} if "breakdown" in payload else {}),
        }
    )


def compare_filename(payload: Payload, extension: str) -> str:
    """e.g. `compare-django-flask-overall-without_mirrors-2025-11-23-to-2026-11-22-week.csv`."""
    names = "-".join(payload["packages"])[:80]
    window = payload["window"]
    stem = (
        f"compare-{names}-{payload['metric']}-{payload['category']}-"
        f"{window['start']}-to-{window['end']}-{payload['options']['agg']}"
    )
    if payload["mode"] != "absolute":
        stem += f"-{payload['mode']}"
    return f"{stem}.{extension}"


COMPARE = ExportFormat(to_csv=compare_csv, to_json=compare_json, filename=compare_filename)
