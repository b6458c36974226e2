"""The categories of each metric come from one list (packages_app/categories.py)."""

from __future__ import annotations

from packages_app.categories import CATEGORIES
from packages_app.demo import data as demo_data
from packages_app.models import Metric
from packages_app.pages.compare import category_choices
from packages_app.sync.upstream import KNOWN_CATEGORIES


def test_every_metric_has_its_list() -> None:
    assert set(CATEGORIES) == {metric.label for metric in Metric}
    assert Metric.SYSTEM.categories == ("Linux", "Windows", "Darwin", "other", "null")
    assert Metric.OVERALL.categories == ("without_mirrors", "with_mirrors")


def test_the_upstream_client_the_demo_and_the_compare_picker_read_it() -> None:
    for metric in Metric:
        assert KNOWN_CATEGORIES[metric.label] == frozenset(metric.categories)
        assert [value for value, _label in category_choices(metric)] == list(metric.categories)
    assert Metric.SYSTEM.categories == demo_data.SYSTEMS
    assert set(demo_data.MINOR_NAMES) <= set(Metric.PYTHON_MINOR.categories)
