"""Compare options: parsing, canonical spelling and order, defaults left out, errors listed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import QueryDict

from packages_app.models import Metric
from packages_app.pages.compare import MAX_PACKAGES, canonical_category, describe, parse_compare


def parse(query: str) -> tuple[str, dict[str, str]]:
    options, errors = parse_compare(QueryDict(query))
    return options.querystring(), errors


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("packages=Django,Flask_Login", "?packages=django,flask-login"),
        ("packages=django,DJANGO,django", "?packages=django"),
        ("packages=a&packages=b", "?packages=a,b"),
        ("packages=a, b ,,c", "?packages=a,b,c"),
        ("packages=a&add=Zope.Interface", "?packages=a,zope-interface"),
        ("packages=a&metric=overall&category=without_mirrors&range=365&agg=week", "?packages=a"),
        ("packages=a&mode=absolute&scale=linear", "?packages=a"),
        ("mode=share&scale=log&agg=day&packages=a", "?packages=a&agg=day&scale=log&mode=share"),
        ("packages=a&metric=SYSTEM&category=linux", "?packages=a&metric=system"),
        ("packages=a&metric=system&category=WINDOWS", "?packages=a&metric=system&category=Windows"),
        (
            "packages=a&metric=python_minor&category=3.13",
            "?packages=a&metric=python_minor&category=3.13",
        ),
        (
            "packages=a&metric=python_major&category=NULL",
            "?packages=a&metric=python_major&category=null",
        ),
        ("packages=a&category=With_Mirrors", "?packages=a&category=with_mirrors"),
        ("packages=a&range=all&start=2025-01-01", "?packages=a&start=2025-01-01"),
        ("packages=a&smooth=7&agg=day", "?packages=a&agg=day&smooth=7"),
        ("packages=__all__,a", "?packages=__all__,a"),
        ("", ""),
    ],
)
def test_canonical_querystring(query: str, canonical: str) -> None:
    got, errors = parse(query)
    assert errors == {}
    assert got == canonical
    # Canonical is a fixed point: parsing it again gives it back.
    assert parse(canonical.removeprefix("?"))[0] == canonical


@pytest.mark.parametrize(
    ("query", "field", "fragment"),
    [
        ("packages=" + ",".join(f"p{i}" for i in range(11)), "packages", "at most 10"),
        ("packages=good,bad%20name", "packages", "not a valid package name"),
        ("packages=-x", "packages", "not a valid package name"),
        ("packages=a&metric=downloads", "metric", "must be one of"),
        ("packages=a&category=3.13", "category", "no category"),
        ("packages=a&metric=system&category=beos", "category", "no category"),
        ("packages=a&metric=python_minor&category=4.1", "category", "no category"),
        ("packages=a&mode=stacked", "mode", "must be one of"),
        ("packages=a&start=2025-02-30", "start", "YYYY-MM-DD"),
        ("packages=a&end=yesterday", "end", "YYYY-MM-DD"),
        ("packages=a&start=2025-03-01&end=2025-02-01", "start", "not be after end"),
        ("packages=a&range=7", "range", "must be one of"),
        ("packages=a&agg=year", "agg", "must be one of"),
        ("packages=a&scale=sqrt", "scale", "must be one of"),
    ],
)
def test_errors_are_listed_and_the_rest_is_kept(query: str, field: str, fragment: str) -> None:
    options, errors = parse_compare(QueryDict(query))
    assert field in errors
    assert fragment in errors[field]
    assert len(options.packages) <= MAX_PACKAGES
    if field != "packages":
        assert options.packages == ("a",)


def test_too_many_packages_keeps_the_first_ten_after_deduplication() -> None:
    names = ",".join(["Django", "django"] + [f"p{i}" for i in range(12)])
    options, errors = parse_compare(QueryDict(f"packages={names}"))
    assert options.packages == ("django", *(f"p{i}" for i in range(9)))
    assert "14 given" not in errors["packages"] and "13 given" in errors["packages"]


@pytest.mark.parametrize(
    ("metric", "raw", "expected"),
    [
        (Metric.OVERALL, "WITHOUT_MIRRORS", "without_mirrors"),
        (Metric.PYTHON_MAJOR, "3", "3"),
        (Metric.PYTHON_MINOR, "3.14", "3.14"),
        (Metric.PYTHON_MINOR, "2.7", "2.7"),
        (Metric.PYTHON_MINOR, "3.x", None),
        (Metric.SYSTEM, "darwin", "Darwin"),
        (Metric.SYSTEM, "Other", "other"),
        (Metric.SYSTEM, "Null", "null"),
        (Metric.SYSTEM, "3", None),
    ],
)
def test_canonical_category(metric: Metric, raw: str, expected: str | None) -> None:
    assert canonical_category(metric, raw) == expected


def test_changing_metric_resets_category() -> None:
    options, _ = parse_compare(QueryDict("packages=a&metric=system&category=Windows"))
    assert options.querystring(metric=Metric.PYTHON_MAJOR) == "?packages=a&metric=python_major"
    assert options.querystring(range="90") == "?packages=a&metric=system&category=Windows&range=90"


def test_description_names_packages_and_period() -> None:
    options, _ = parse_compare(QueryDict("packages=django,flask"))
    assert describe(options, None) == "django vs flask — weekly downloads, last 365 days"
    options, _ = parse_compare(
        QueryDict("packages=a,b&agg=month&mode=share_pypi&start=2025-01-01&end=2025-06-30")
    )
    text = describe(options, None)
    assert "a vs b" in text and "monthly" in text and "share of all PyPI" in text
    assert "2025-01-01 to 2025-06-30" in text
    assert dt.date(2025, 1, 1) == options.chart.start
