"""What the benchmarks against the ClickHouse stand-in share (bench/untracked_page.py,
breakdowns_page.py, compare_breakdowns.py): their command line (`--cold N --warm N`), their
environment (a VAR_DIR of their own, the ClickHouse budget off so that only the code is
timed), Django set up on the database of DATABASE_URL (migrated) with the stand-in (chdb, in
this process) as its ClickHouse, and the JSON report with the load average around the run.

Not a test, and not a module of the app: each benchmark imports it from bench/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The stand-in's latest day: the demo upstream's window ends there too.
LATEST = dt.date(2026, 11, 23)

if TYPE_CHECKING:
    from django.test import Client

    from packages_app.demo.clickhouse import DemoClickHouse

Results = dict[str, object]


def main(doc: str | None, name: str, run: Callable[[argparse.Namespace], Results]) -> int:
    """Parse `--cold`/`--warm`, prepare the environment, run, print the report as JSON."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--warm", type=int, default=30)
    args = parser.parse_args()
    os.environ.update(
        {
            "VAR_DIR": tempfile.mkdtemp(prefix=f"bench-{name}-"),
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "pypistats_site.settings",
            "CLICKHOUSE_RATE_PER_SECOND": "0",
            "CLICKHOUSE_RATE_PER_MINUTE": "0",
        }
    )
    load_before = os.getloadavg()
    results = run(args)
    results["load_average_before"] = [round(x, 2) for x in load_before]
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(results, indent=2))
    return 0


@contextmanager
def django_with_stand_in(packages: Sequence[str]) -> Iterator[tuple[DemoClickHouse, Client]]:
    """Django set up and migrated, a test client, and the stand-in holding `packages` as the
    site's ClickHouse for the duration."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    from packages_app.demo.clickhouse import DemoClickHouse

    setup_test_environment()
    call_command("migrate", verbosity=0)
    with DemoClickHouse.running(latest=LATEST, packages=list(packages)) as stand_in:
        settings.CLICKHOUSE_URL = stand_in.url
        settings.CLICKHOUSE_USER = stand_in.user
        settings.CLICKHOUSE_PASSWORD = stand_in.password
        yield stand_in, Client()


def cache_backend() -> str:
    from django.conf import settings

    return str(settings.CACHES["default"]["BACKEND"])


def summary(seconds: list[float]) -> dict[str, float]:
    """Median, max and min of the timings, in milliseconds."""
    ms = sorted(s * 1000 for s in seconds)
    return {
        "median": round(statistics.median(ms), 1),
        "max": round(ms[-1], 1),
        "min": round(ms[0], 1),
    }
