from __future__ import annotations

import datetime as dt

import pytest

from packages_app.pages.search import search_key, suggest
from tests.packages_app.pages.package_data import make_package

D = dt.date


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("Django", "django"),
        ("zope_interface", "zope-interface"),
        ("zope.interface", "zope-interface"),
        ("  Zope__.Interface ", "zope-interface"),
        ("__all__", "__all__"),
    ],
)
def test_search_key_is_the_canonical_fragment(query: str, key: str) -> None:
    assert search_key(query) == key


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["Django", "DJANGO", "django"])
def test_case_does_not_matter(query: str) -> None:
    make_package("django", first=D(2024, 1, 1), latest=D(2024, 1, 3))
    assert [p.name for p in suggest(query).matches] == ["django"]


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["zope_interface", "zope.interface", "Zope-Interface", "zope.i"])
def test_separators_do_not_matter(query: str) -> None:
    make_package("zope-interface", first=None, latest=None)
    assert [p.name for p in suggest(query).matches] == ["zope-interface"]


@pytest.mark.django_db
def test_ranking_exact_then_tracked_then_prefix_then_shorter() -> None:
    for name in ["django-filter", "django", "my-django", "djangorestframework", "old-django-thing"]:
        make_package(name, first=None, latest=None)
    make_package("django-untracked", first=None, latest=None, tracked=False)
    names = [p.name for p in suggest("django").matches]
    assert names == [
        "django",  # exact
        "django-filter",  # tracked, prefix, shorter first
        "djangorestframework",
        "my-django",  # tracked, substring
        "old-django-thing",
        "django-untracked",  # untracked last
    ]


@pytest.mark.django_db
def test_offer_to_track_a_valid_unknown_name() -> None:
    result = suggest("Some_New.Package")
    assert result.matches == [] and result.offer == "some-new-package"
    make_package("some-new-package", first=None, latest=None)
    assert suggest("some-new-package").offer is None  # tracked already
    assert suggest("not valid!").offer is None
    assert suggest("   ").key.strip("-") == "" and suggest("   ").matches == []


@pytest.mark.django_db
def test_untracked_known_package_is_offered_again() -> None:
    make_package("dormant", first=D(2024, 1, 1), latest=D(2024, 1, 2), tracked=False)
    result = suggest("dormant")
    assert result.exact is not None and result.offer == "dormant"
