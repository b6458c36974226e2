"""What the ClickHouse stand-in's tests share: its settings and a real HTTP client for it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
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
