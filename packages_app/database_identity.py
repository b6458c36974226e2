"""Which database a cached answer was built from (issue #13, docs/decisions.md "Cache keys
carry the database's identity").

Cached pages and API answers are keyed by a package's data_version, which starts again at 1 in
every new database: with a cache kept across databases (a file cache or a Redis shared by
`make demo` and `make run`, a test database, a database reset) one database's bytes were served
for another's package. Every key therefore carries the id its database got when its migrations
ran (DatabaseIdentity, one row):
- Django's cache, every alias: `cache_key` is the KEY_FUNCTION (settings.CACHES), so every
  key any page, badge, lock or chart writes is the database's own, present and future ones;
- the API's answers, kept outside Django's cache (api/shared_store.py): in their identity,
  api/cache.answer_id, which also gives their ETag, so a client's validator from one database
  never earns a 304 from another.

The id is read once per process and database (a dict lookup afterwards). After `migrate` or a
flush (post_migrate) the process reads it again, and a flushed database gets a new one. One
whose table is not there yet (before `migrate`) or that cannot be reached answers
UNIDENTIFIED, not cached, so the next call reads again.
"""

from __future__ import annotations

import uuid

from django.db import DatabaseError, connections, transaction

# Keys built while the id cannot be read: nothing of a database's data is built then.
UNIDENTIFIED = "no-db-id"

_ids: dict[tuple[str, ...], str] = {}


def _where(alias: str) -> tuple[str, ...]:
    settings = connections[alias].settings_dict
    return (
        alias,
        str(settings.get("ENGINE", "")),
        str(settings.get("NAME", "")),
        str(settings.get("HOST", "")),
        str(settings.get("PORT", "")),
    )


def database_id(alias: str = "default") -> str:
    """This database's id (a UUID's hex), read once per process."""
    where = _where(alias)
    known = _ids.get(where)
    if known is not None:
        return known
    from packages_app.models import DatabaseIdentity

    try:
        # A savepoint: a failed read must not break a transaction the caller is in.
        with transaction.atomic(using=alias):
            row, _ = DatabaseIdentity.objects.using(alias).get_or_create(id=1)
    except DatabaseError:
        return UNIDENTIFIED
    _ids[where] = row.uid.hex
    return _ids[where]


def reread(alias: str = "default") -> str:
    """Read the id again now, creating the row if missing: after `migrate` and after a flush,
    which empties the table (post_migrate, packages_app/apps.py)."""
    _ids.pop(_where(alias), None)
    return database_id(alias)


def cache_key(key: str, key_prefix: str, version: int | str | None) -> str:
    """Django's default key function with the database's id after the version: the prefix
    stays first, so tools that clear a prefix (tests/isolation.py) still match."""
    return f"{key_prefix}:{version}:{database_id()}:{key}"


def renew(alias: str = "default") -> str:
    """Give this database a new id (docs/operations.md: after restoring a backup into a
    database the cache may have served before). Other processes read it on their next start."""
    from packages_app.models import DatabaseIdentity

    DatabaseIdentity.objects.using(alias).update_or_create(id=1, defaults={"uid": uuid.uuid4()})
    return reread(alias)
