"""`manage.py demo_clickhouse --port N` serves the stand-in until Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.packages_app.demo.clickhouse_support import LATEST, PACKAGES

ROOT = Path(__file__).resolve().parents[3]


# `manage.py demo_clickhouse` as a process, building its data: serially (make test).
@pytest.mark.stack
def test_demo_clickhouse_command_serves_until_interrupted() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "demo_clickhouse",
            "--port",
            "0",
            "--latest",
            LATEST.isoformat(),
            "--packages",
            ",".join(PACKAGES),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        while not line.startswith("ClickHouse stand-in on"):
            assert line, process.stderr.read() if process.stderr else ""
            line = process.stdout.readline()
        url = line.split(" on ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        response = httpx.get(
            url,
            params={"query": "SELECT max(max_date) FROM pypi.pypi_downloads_max_min"},
            headers={"X-ClickHouse-User": "play"},
        )
        assert response.text == f"{LATEST.isoformat()}\n"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    assert process.returncode == 0


def test_demo_clickhouse_command_needs_a_port() -> None:
    with pytest.raises(CommandError):
        call_command("demo_clickhouse")


def test_demo_clickhouse_command_refuses_all() -> None:
    with pytest.raises(CommandError, match="__all__"):
        call_command("demo_clickhouse", "--port", "0", "--packages", "__all__")
