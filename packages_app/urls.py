from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search_view, name="search"),
    path("packages/<pkg:name>/", views.package_detail, name="package-detail"),
    path("packages/<pkg:name>/track/", views.package_track_view, name="package-track"),
    path("packages/<pkg:name>/status/", views.package_status, name="package-status"),
    path(
        "packages/<pkg:name>/export.csv",
        views.package_export,
        {"fmt": "csv"},
        name="package-export-csv",
    ),
    path(
        "packages/<pkg:name>/export.json",
        views.package_export,
        {"fmt": "json"},
        name="package-export-json",
    ),
    path("badges/<pkg:name>/<str:period>.svg", views.badge, {"fmt": "svg"}, name="badge-svg"),
    path("badges/<pkg:name>/<str:period>.json", views.badge, {"fmt": "json"}, name="badge-json"),
]
