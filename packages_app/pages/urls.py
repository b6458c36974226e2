"""Home, search, the package pages with their exports, badges, and the compare page."""

from __future__ import annotations

from django.urls import path

from packages_app.pages.views import badges, breakdowns, compare, home, package

urlpatterns = [
    path("", home.home, name="home"),
    path("search/", home.search_view, name="search"),
    path("packages/<pkg:name>/", package.package_detail, name="package-detail"),
    path("packages/<pkg:name>/track/", package.package_track_view, name="package-track"),
    path("packages/<pkg:name>/status/", package.package_status, name="package-status"),
    path("packages/<pkg:name>/tables/<slug:chart>/", package.package_table, name="package-table"),
    path(
        "packages/<pkg:name>/breakdowns/<str:kind>/",
        breakdowns.package_breakdown,
        name="package-breakdown",
    ),
    path(
        "packages/<pkg:name>/export.csv",
        package.package_export,
        {"fmt": "csv"},
        name="package-export-csv",
    ),
    path(
        "packages/<pkg:name>/export.json",
        package.package_export,
        {"fmt": "json"},
        name="package-export-json",
    ),
    path("badges/<pkg:name>/<str:period>.svg", badges.badge, {"fmt": "svg"}, name="badge-svg"),
    path("badges/<pkg:name>/<str:period>.json", badges.badge, {"fmt": "json"}, name="badge-json"),
    # The comparison page and its partials, exports and actions
    path("compare/", compare.compare_page, name="compare"),
    path("compare/suggest/", compare.compare_suggest, name="compare_suggest"),
    path("compare/status/<pkg:name>/", compare.compare_status, name="compare_status"),
    path("compare/track/", compare.compare_track, name="compare_track"),
    path(
        "compare/export.csv",
        compare.compare_export,
        {"fmt": "csv"},
        name="compare_export_csv",
    ),
    path(
        "compare/export.json",
        compare.compare_export,
        {"fmt": "json"},
        name="compare_export_json",
    ),
]
