"""What the ClickHouse stand-in's tests share: its settings and a real HTTP client for it."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Unpack

import httpx

from packages_app.demo.clickhouse import DemoClickHouse, StandInOptions
from tests.packages_app.golden import GOLDEN_TODAY

# The demo upstream's synthetic window ends the day before its "today": the stand-in's latest
# day is that day, so both hold the same 181 days at the end of ClickHouse's history.
LATEST = GOLDEN_TODAY - dt.timedelta(days=1)
# Two packages keep the build small (a few seconds, then cached under var/clickhouse-demo/):
# httpx is small and old (2018), sqlalchemy big enough for smooth shares and new (2023).
PACKAGES = ("httpx", "sqlalchemy")

Row = dict[str, object]
ROOT = Path(__file__).resolve().parents[3]


@contextmanager
def stand_in(**options: Unpack[StandInOptions]) -> Iterator[DemoClickHouse]:
    settings: StandInOptions = {"latest": LATEST, "packages": PACKAGES}
    settings.update(options)
    with DemoClickHouse.running(**settings) as ch:
        yield ch


def client(ch: DemoClickHouse) -> httpx.Client:
    """An httpx client as the app would hold one: base URL, user and key headers."""
    return httpx.Client(
        base_url=ch.url,
        headers={"X-ClickHouse-User": ch.user, "X-ClickHouse-Key": ch.password},
        timeout=30,
    )


def select(ch: DemoClickHouse, sql: str, **params: str) -> list[Row]:
    """Rows of a query sent over HTTP, typed parameters bound from `param_<name>`."""
    with client(ch) as http:
        response = http.post(
            "/",
            params={
                "database": "pypi",
                "default_format": "JSONEachRow",
                **{f"param_{k}": v for k, v in params.items()},
            },
            content=sql,
        )
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()]


@dataclass
class StandInProcess:
    """`manage.py demo_clickhouse` running as a process of its own, and the URL it serves."""

    process: subprocess.Popen[str]
    url: str


@contextmanager
def stand_in_process(packages: Sequence[str]) -> Iterator[StandInProcess]:
    """`manage.py demo_clickhouse --port 0` for `packages` in a subprocess (chdb holds one
    database per process); stopped with SIGINT, as Ctrl-C would, and killed if it does not
    stop, so that no stand-in outlives its test."""
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
            ",".join(packages),
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
            assert line, process.stderr.read() if process.stderr else "the stand-in exited"
            line = process.stdout.readline()
        yield StandInProcess(process, line.split(" on ")[1].split()[0])
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
