"""Database triggers a test installs to see, or break, what really reaches the tables.

The refresh tests must observe effects, not the code's own counters: `month_writes()`
records every row the database itself inserts or updates in the months table, and
`failing_when()` makes the database refuse one statement inside a write, so a test can
prove the whole transaction rolled back. Both work on SQLite and PostgreSQL, and both
remove what they installed when the block ends (tests with transaction=True commit it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from collections.abc import Callable, Iterator

from django.db import connection

MONTHS_TABLE = "packages_app_downloadmonth"
INJECTED = "injected failure"


def _execute(*statements: str) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


@contextlib.contextmanager
def month_writes() -> Iterator[Callable[[], list[tuple[str, int, int, dt.date]]]]:
    """Yield a function returning every (op, package_id, category_id, month) the database
    wrote to the months table since the block began; op is "insert" or "update"."""
    name = f"test_writes_{secrets.token_hex(4)}"
    if connection.vendor == "sqlite":
        install = [
            f"CREATE TEMP TABLE {name} (op TEXT, package_id INT, category_id INT, month TEXT)",
            *(
                f"CREATE TEMP TRIGGER {name}_{op} AFTER {op.upper()} ON {MONTHS_TABLE} "
                f"BEGIN INSERT INTO {name} VALUES ('{op}', NEW.package_id, NEW.category_id, "
                f"NEW.month); END"
                for op in ("insert", "update")
            ),
        ]
        remove = [f"DROP TRIGGER {name}_{op}" for op in ("insert", "update")]
        remove.append(f"DROP TABLE {name}")
    else:
        install = [
            f"CREATE TABLE {name} (op text, package_id int, category_id int, month date)",
            f"CREATE FUNCTION {name}_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"INSERT INTO {name} VALUES (lower(TG_OP), NEW.package_id, NEW.category_id, "
            f"NEW.month); RETURN NEW; END $$",
            f"CREATE TRIGGER {name}_t AFTER INSERT OR UPDATE ON {MONTHS_TABLE} "
            f"FOR EACH ROW EXECUTE FUNCTION {name}_f()",
        ]
        remove = [
            f"DROP TRIGGER {name}_t ON {MONTHS_TABLE}",
            f"DROP FUNCTION {name}_f()",
            f"DROP TABLE {name}",
        ]
    _execute(*install)

    final: list[tuple[str, int, int, dt.date]] | None = None

    def read() -> list[tuple[str, int, int, dt.date]]:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT op, package_id, category_id, month FROM {name}")
            return sorted(
                (op, package_id, category_id, dt.date.fromisoformat(str(month)))
                for op, package_id, category_id, month in cursor.fetchall()
            )

    def written() -> list[tuple[str, int, int, dt.date]]:
        """What was written so far; after the block, what was written during it."""
        return read() if final is None else final

    try:
        yield written
    finally:
        final = read()
        _execute(*remove)


@contextlib.contextmanager
def failing_when(table: str, when: str, *, event: str = "UPDATE") -> Iterator[None]:
    """Make the database raise on any `event` of a `table` row matching `when` (a trigger
    condition over NEW/OLD, valid in SQLite and PostgreSQL), for the block's duration."""
    name = f"test_fail_{secrets.token_hex(4)}"
    if connection.vendor == "sqlite":
        install = [
            f"CREATE TEMP TRIGGER {name} BEFORE {event} ON {table} WHEN {when} "
            f"BEGIN SELECT RAISE(ABORT, '{INJECTED}'); END"
        ]
        remove = [f"DROP TRIGGER {name}"]
    else:
        install = [
            f"CREATE FUNCTION {name}_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"RAISE EXCEPTION '{INJECTED}'; END $$",
            f"CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW WHEN ({when}) "
            f"EXECUTE FUNCTION {name}_f()",
        ]
        remove = [f"DROP TRIGGER {name} ON {table}", f"DROP FUNCTION {name}_f()"]
    _execute(*install)
    try:
        yield
    finally:
        _execute(*remove)
