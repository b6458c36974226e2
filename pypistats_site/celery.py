"""The Celery app. The beat schedule lives in code here, so it is versioned and tested."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pypistats_site.settings")

app = Celery("pypistats_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Tasks live in the feature folders, not at the apps' roots. Their names are pinned in
# their decorators (packages_app.tasks.*, watchlists.notify_tasks.*, watchlists.tasks.*): queued messages
# and this schedule outlive any move of the modules.
app.autodiscover_tasks(
    ["packages_app.sync", "packages_app.history", "watchlists.notify", "watchlists"]
)

# Upstream's ETL starts at 01:00 UTC and has been seen to run late, so the daily
# sweep starts at 03:00 and is repeated hourly until 12:00: packages already
# refreshed today are not due again, so the repeats only catch stragglers.
app.conf.beat_schedule = {
    "daily-sweep": {
        "task": "packages_app.tasks.sweep_due_packages",
        "schedule": crontab(minute=0, hour="3-12"),
        "kwargs": {"reason": "daily"},
    },
    "worker-heartbeat": {
        "task": "packages_app.tasks.worker_heartbeat",
        "schedule": 60.0,
    },
    "frequent-sweep": {
        "task": "packages_app.tasks.sweep_new_and_failed_packages",
        "schedule": 60.0,
    },
    # ClickHouse, the second source (packages_app/history/tasks.py): newly tracked packages
    # get their history within a minute (a no-op with CLICKHOUSE_URL empty); every package's
    # last weeks are read again once a week (ClickPy's sync lags or restates), spread over
    # the week: each hour re-reads the packages whose id modulo 168 is that hour of the week.
    "history-sweep": {
        "task": "packages_app.tasks.history_sweep",
        "schedule": 60.0,
    },
    "history-reread": {
        "task": "packages_app.tasks.history_reread",
        "schedule": crontab(minute=45),
    },
    # Digests and alerts (watchlists/notify/tasks.py): Monday digests after the daily
    # sweep, hourly until noon (it waits for Sunday's data; the claims make repeats no-ops).
    "weekly-digests": {
        "task": "watchlists.notify_tasks.weekly_digests",
        "schedule": crontab(minute=15, hour="6-12", day_of_week="mon"),
    },
    "check-alerts": {
        "task": "watchlists.notify_tasks.check_alerts",
        "schedule": crontab(minute=30),
    },
    "deliver-due-notifications": {
        "task": "watchlists.notify_tasks.deliver_due_notifications",
        "schedule": 300.0,
    },
}
