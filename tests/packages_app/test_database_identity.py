"""Cached answers belong to their database (issue #13 item 8): two PostgreSQL databases, one
Redis cache, the same package at the same data_version with different numbers."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection, connections
from django.test import Client

from packages_app import database_identity
from packages_app.models import DatabaseIdentity, Package
from tests.world import add_series

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

END = dt.date(2026, 11, 22)
PAGES = [
    "/api/packages/twin/overall",
    "/packages/twin/export.json?range=30",
    "/badges/twin/month.json",
]


def _admin(sql: str) -> None:
    """A statement on the server's maintenance database (CREATE/DROP DATABASE)."""
    settings = connection.settings_dict
    with psycopg.connect(
        dbname="postgres",
        host=settings["HOST"] or "127.0.0.1",
        port=int(settings["PORT"] or 5432),
        user=settings["USER"] or "postgres",
        password=settings["PASSWORD"] or None,
        autocommit=True,
    ) as admin:
        admin.execute(sql)


def _use(name: str) -> None:
    """Point Django's default connection at database `name` (the next query reconnects)."""
    connections.close_all()
    connection.settings_dict["NAME"] = name


@pytest.fixture
def second_database(transactional_db: None) -> Iterator[tuple[str, str]]:
    """(A, B): the test database and a copy of it, made while nothing is connected to it."""
    first = connection.settings_dict["NAME"]
    second = f"{first}_twin_{uuid.uuid4().hex[:8]}"
    connections.close_all()
    # PostgreSQL copies a database only while nobody is connected to it. This worker's test
    # database is its own; a thread of an earlier test (a server it started) may still hold
    # an idle connection: end those (Django replaces a broken connection before its next
    # request, CONN_HEALTH_CHECKS).
    deadline = time.monotonic() + 10
    while True:
        _admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{first}' AND pid <> pg_backend_pid()"
        )
        try:
            _admin(f'CREATE DATABASE "{second}" TEMPLATE "{first}"')
            break
        except psycopg.errors.ObjectInUse:  # a terminated session not gone yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    try:
        yield first, second
    finally:
        _use(first)
        _admin(f'DROP DATABASE IF EXISTS "{second}" WITH (FORCE)')


def answers() -> dict[str, bytes]:
    client = Client()
    out = {}
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        out[url] = response.content
    return out


def hold(values: list[int]) -> None:
    package, _ = Package.objects.get_or_create(name="twin")
    add_series(package, END, values)
    assert Package.objects.get(name="twin").data_version == 0  # the same version in both


def test_two_databases_sharing_one_cache_each_get_their_own_answers(
    second_database: tuple[str, str],
) -> None:
    first, second = second_database
    # A copy carries its original's id, as a restored backup does...
    _use(second)
    assert database_identity.reread() == DatabaseIdentity.objects.get().uid.hex
    _use(first)
    first_id = database_identity.reread()
    _use(second)
    assert database_identity.reread() == first_id
    # ...until it is given its own (what migrate writes in a new database, and the step
    # docs/operations.md asks for after a restore).
    second_id = database_identity.renew()
    assert second_id != first_id

    _use(first)
    hold([1000 + i for i in range(60)])
    from_first = answers()
    _use(second)
    hold([7 + i for i in range(60)])
    from_second = answers()
    # Both were built and cached under the same package, data_version and options: with keys
    # that did not name their database, the second got the first's cached bytes.
    for url in PAGES:
        assert from_first[url] != from_second[url], url
    assert b"1059" in from_first["/api/packages/twin/overall"]
    assert b"1059" not in from_second["/api/packages/twin/overall"]
    assert b'"downloads":66' in from_second["/api/packages/twin/overall"]
    # And each keeps answering its own, now from the shared cache.
    assert answers() == from_second
    _use(first)
    database_identity.reread()
    assert answers() == from_first
