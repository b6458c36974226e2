"""`manage.py demo_clickhouse --port N` serves the stand-in until Ctrl-C."""

from __future__ import annotations

import httpx
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.packages_app.demo.clickhouse_support import LATEST, PACKAGES, stand_in_process


# `manage.py demo_clickhouse` as a process, building its data: serially (make test).
@pytest.mark.stack
def test_demo_clickhouse_command_serves_until_interrupted() -> None:
    with stand_in_process(PACKAGES) as running:
        assert running.url.startswith("http://127.0.0.1:")
        response = httpx.get(
            running.url,
            params={"query": "SELECT max(max_date) FROM pypi.pypi_downloads_max_min"},
            headers={"X-ClickHouse-User": "play"},
        )
        assert response.text == f"{LATEST.isoformat()}\n"
    # Ctrl-C (SIGINT) stops it cleanly, not by the kill the helper keeps for a hang.
    assert running.process.returncode == 0


def test_demo_clickhouse_command_needs_a_port() -> None:
    with pytest.raises(CommandError):
        call_command("demo_clickhouse")


def test_demo_clickhouse_command_refuses_all() -> None:
    with pytest.raises(CommandError, match="__all__"):
        call_command("demo_clickhouse", "--port", "0", "--packages", "__all__")
