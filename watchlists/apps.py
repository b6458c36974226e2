from __future__ import annotations

from django.apps import AppConfig


class WatchlistsConfig(AppConfig):
    name = "watchlists"
    verbose_name = "Teams and watchlists"
    default_auto_field = "django.db.models.BigAutoField"
