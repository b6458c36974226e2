"""Comparison pages, included at "compare/" (pypistats_site/urls.py)."""

from __future__ import annotations

from django.urls import path

from . import compare_views

urlpatterns = [
    path("", compare_views.compare_page, name="compare"),
    path("suggest/", compare_views.compare_suggest, name="compare_suggest"),
    path("status/<pkg:name>/", compare_views.compare_status, name="compare_status"),
    path("track/", compare_views.compare_track, name="compare_track"),
    path("save/", compare_views.compare_save, name="compare_save"),
    path("export.csv", compare_views.compare_export, {"fmt": "csv"}, name="compare_export_csv"),
    path("export.json", compare_views.compare_export, {"fmt": "json"}, name="compare_export_json"),
]
