"""ClickPy's `pypi` database: tables, materialized views and dictionaries, as its DDL defines them.

Written from ClickPy's published DDL (ClickHouse/clickpy, scripts/create_tables.sh): the same
table names, column names and types (note where a column is LowCardinality and where it is a
plain String: the DDL is not uniform and clients see the difference in `DESCRIBE`), engines
and ORDER BY keys. The materialized views that feed the targets from the raw `pypi.pypi` table
exist too, so `SHOW TABLES` looks like ClickPy's; nothing is ever inserted into `pypi.pypi`
(it stays empty: the stand-in writes the targets directly).

One quirk of the real schema matters to clients: pypi_downloads_per_day_by_version_by_installer_by_type
is a SummingMergeTree ordered by (project, version, date, installer), without `type`, so merges
fold a day's wheel and sdist rows for an installer into one row and keep one of the two types.
Its installer sums are right; its `type` column is not a breakdown. File types come from
..._by_file_type (or ..._by_installer_by_type_by_country, whose key includes `type`).
"""

from __future__ import annotations

from dataclasses import dataclass

DATABASE = "pypi"


@dataclass(frozen=True)
class DailyView:
    """A per-day target table: its breakdown columns after (date, project[, version])."""

    table: str
    by_version: bool
    dims: tuple[str, ...]  # breakdown columns, in the builder's order


# The per-day targets the stand-in fills, smallest first.
PER_DAY = DailyView("pypi_downloads_per_day", False, ())
BY_VERSION = DailyView("pypi_downloads_per_day_by_version", True, ())
BY_PYTHON = DailyView("pypi_downloads_per_day_by_version_by_python", True, ("python_minor",))
BY_SYSTEM = DailyView("pypi_downloads_per_day_by_version_by_system", True, ("system",))
BY_COUNTRY = DailyView("pypi_downloads_per_day_by_version_by_country", True, ("country_code",))
BY_FILE_TYPE = DailyView("pypi_downloads_per_day_by_version_by_file_type", True, ("type",))
BY_INSTALLER_BY_TYPE = DailyView(
    "pypi_downloads_per_day_by_version_by_installer_by_type", True, ("installer", "type")
)
BY_INSTALLER_BY_TYPE_BY_COUNTRY = DailyView(
    "pypi_downloads_per_day_by_version_by_installer_by_type_by_country",
    True,
    ("installer", "type", "country_code"),
)
BY_PYTHON_BY_COUNTRY = DailyView(
    "pypi_downloads_per_day_by_version_by_python_by_country",
    True,
    ("python_minor", "country_code"),
)
BY_SYSTEM_BY_COUNTRY = DailyView(
    "pypi_downloads_per_day_by_version_by_system_by_country", True, ("system", "country_code")
)
DAILY_VIEWS: tuple[DailyView, ...] = (
    PER_DAY,
    BY_VERSION,
    BY_PYTHON,
    BY_SYSTEM,
    BY_COUNTRY,
    BY_FILE_TYPE,
    BY_INSTALLER_BY_TYPE,
    BY_INSTALLER_BY_TYPE_BY_COUNTRY,
    BY_PYTHON_BY_COUNTRY,
    BY_SYSTEM_BY_COUNTRY,
)
# Targets recomputed from the per-day ones after every change (they have no date to trim).
DERIVED_TABLES: tuple[str, ...] = (
    "pypi_downloads",
    "pypi_downloads_by_version",
    "pypi_downloads_max_min",
    "pypi_downloads_per_month",
)

# (name, columns, engine, ORDER BY), each column as (name, type).
_TABLES: tuple[tuple[str, tuple[tuple[str, str], ...], str, str], ...] = (
    (
        "pypi",
        (
            ("date", "Date"),
            ("country_code", "LowCardinality(String)"),
            ("project", "String"),
            ("type", "LowCardinality(String)"),
            ("installer", "LowCardinality(String)"),
            ("python_minor", "LowCardinality(String)"),
            ("system", "LowCardinality(String)"),
            ("version", "String"),
        ),
        "MergeTree",
        "(project, date, version, country_code, python_minor, system)",
    ),
    (
        "pypi_downloads",
        (
            ("project", "String"),
            ("count", "Int64"),
        ),
        "SummingMergeTree",
        "project",
    ),
    (
        "pypi_downloads_by_version",
        (
            ("project", "String"),
            ("version", "String"),
            ("count", "Int64"),
        ),
        "SummingMergeTree",
        "(project, version)",
    ),
    (
        "pypi_downloads_per_day",
        (
            ("date", "Date"),
            ("project", "String"),
            ("count", "Int64"),
        ),
        "SummingMergeTree",
        "(project, date)",
    ),
    (
        "pypi_downloads_per_day_by_version",
        (
            ("date", "Date"),
            ("project", "String"),
            ("version", "String"),
            ("count", "Int64"),
        ),
        "SummingMergeTree",
        "(project, version, date)",
    ),
    (
        "pypi_downloads_per_day_by_version_by_country",
        (
            ("date", "Date"),
            ("project", "String"),
            ("version", "String"),
            ("country_code", "String"),
            ("count", "Int64"),
        ),
        "SummingMergeTree",
        "(project, version, date, country_code)",
    ),
    (
        "pypi_downloads_per_day_by_version_by_file_type",
        (
            ("date", "Date"),
            ("project", "String"),
            ("version", "String"),
            ("type", "LowCardinality(String)"),
            ("count", "Int64"),
        ),
        "SummingMergeTree",
        "(project, version, date, type)",
    ),
    (
        "pypi_downloads_per_day_by_version_by_python",
        (
            ("date", "Date"),
            ("project", "String"),
            ("version", "String"),
            ("python_minor", "String"),
            ("count", "Int64"),
        ),
        "SummingMergeTree",
        "(project, version, date, python_minor)",
    ),
    (
        "pypi_downloads_per_day_by_version_by_installer_by_type",
        (
            ("project", "String"),
            ("version", "String"),
            ("date", "Date"),
            ("installer", "String"),
            ("type", "LowCardinality(String)"),
            ("count", "Int64"),
        ),
        "SummingMergeTree",
        "(project, version, date, installer)",
    ),
    (
        "pypi_downloads_per_day_by_version_by_system",
        (
            ("date", "Date"),
            ("project", "String"),
            ("version", "String"),
            ("system", "String"),
            ("count", "Int64"),
        ),
        "SummingMergeTree",
        "(project, version, date, system)",
    ),
    (
        "pypi_downloads_per_day_by_version_by_installer_by_type_by_country",
        (
            ("project", "String"),
            ("version", "String"),
            ("date", "Date"),
            ("installer", "String"),
            ("type", "LowCardinality(String)"),
            ("country_code", "LowCardinality(String)"),
            ("count", "Int64"),
        ),
        "SummingMergeTree",
        "(project, version, date, country_code, installer, type)",
    ),
    (
        "pypi_downloads_per_day_by_version_by_python_by_country",
        (
            ("date", "Date"),
            ("project", "String"),
            ("version", "String"),
            ("python_minor", "String"),
            ("country_code", "LowCardinality(String)"),
            ("count", "Int64"),
        ),
        "SummingMergeTree",
        "(project, version, date, country_code, python_minor)",
    ),
    (
        "pypi_downloads_per_day_by_version_by_system_by_country",
        (
            ("date", "Date"),
            ("project", "String"),
            ("version", "String"),
            ("system", "String"),
            ("country_code", "String"),
            ("count", "Int64"),
        ),
        "SummingMergeTree",
        "(project, version, date, country_code, system)",
    ),
    (
        "pypi_downloads_max_min",
        (
            ("project", "String"),
            ("max_date", "SimpleAggregateFunction(max, Date)"),
            ("min_date", "SimpleAggregateFunction(min, Date)"),
        ),
        "AggregatingMergeTree",
        "project",
    ),
    (
        "pypi_downloads_per_month",
        (
            ("month", "Date"),
            ("project", "String"),
            ("count", "Int64"),
        ),
        "SummingMergeTree",
        "(month, project)",
    ),
    (
        "projects",
        (
            ("metadata_version", "String"),
            ("name", "String"),
            ("version", "String"),
            ("summary", "String"),
            ("description", "String"),
            ("description_content_type", "String"),
            ("author", "String"),
            ("author_email", "String"),
            ("maintainer", "String"),
            ("maintainer_email", "String"),
            ("license", "String"),
            ("keywords", "String"),
            ("classifiers", "Array(String)"),
            ("platform", "Array(String)"),
            ("home_page", "String"),
            ("download_url", "String"),
            ("requires_python", "String"),
            ("requires", "Array(String)"),
            ("provides", "Array(String)"),
            ("obsoletes", "Array(String)"),
            ("requires_dist", "Array(String)"),
            ("provides_dist", "Array(String)"),
            ("obsoletes_dist", "Array(String)"),
            ("requires_external", "Array(String)"),
            ("project_urls", "Array(String)"),
            ("uploaded_via", "String"),
            ("upload_time", "DateTime64"),
            ("filename", "String"),
            ("size", "Int64"),
            ("path", "String"),
            ("python_version", "String"),
            ("packagetype", "String"),
            ("comment_text", "String"),
            ("has_signature", "Bool"),
            ("md5_digest", "String"),
            ("sha256_digest", "String"),
            ("blake2_256_digest", "String"),
        ),
        "MergeTree",
        "name",
    ),
    (
        "countries",
        (
            ("name", "String"),
            ("code", "String"),
        ),
        "MergeTree",
        "code",
    ),
)

# Materialized view -> (target, SELECT over pypi.pypi). Never fired: nothing writes pypi.pypi.
_VIEWS: tuple[tuple[str, str], ...] = (
    ("pypi_downloads", "SELECT project, count() AS count FROM pypi.pypi GROUP BY project"),
    (
        "pypi_downloads_by_version",
        "SELECT project, version, count() AS count FROM pypi.pypi GROUP BY project, version",
    ),
    (
        "pypi_downloads_per_day",
        "SELECT date, project, count() AS count FROM pypi.pypi GROUP BY date, project",
    ),
    (
        "pypi_downloads_per_day_by_version",
        "SELECT date, project, version, count() AS count FROM pypi.pypi"
        " GROUP BY date, project, version",
    ),
    (
        "pypi_downloads_per_day_by_version_by_country",
        "SELECT date, project, version, country_code, count() AS count FROM pypi.pypi"
        " GROUP BY date, project, version, country_code",
    ),
    (
        "pypi_downloads_per_day_by_version_by_file_type",
        "SELECT date, project, version, type, count() AS count FROM pypi.pypi"
        " GROUP BY date, project, version, type",
    ),
    (
        "pypi_downloads_per_day_by_version_by_python",
        "SELECT date, project, version, python_minor, count() AS count FROM pypi.pypi"
        " GROUP BY date, project, version, python_minor",
    ),
    (
        "pypi_downloads_per_day_by_version_by_installer_by_type",
        "SELECT project, version, date, installer, type, count() AS count FROM pypi.pypi"
        " GROUP BY project, version, date, installer, type",
    ),
    (
        "pypi_downloads_per_day_by_version_by_system",
        "SELECT date, project, version, system, count() AS count FROM pypi.pypi"
        " GROUP BY date, project, version, system",
    ),
    (
        "pypi_downloads_per_day_by_version_by_installer_by_type_by_country",
        "SELECT project, version, date, installer, type, country_code, count() AS count"
        " FROM pypi.pypi GROUP BY project, version, date, installer, type, country_code",
    ),
    (
        "pypi_downloads_per_day_by_version_by_python_by_country",
        "SELECT date, project, version, python_minor, country_code, count() AS count"
        " FROM pypi.pypi GROUP BY date, project, version, python_minor, country_code",
    ),
    (
        "pypi_downloads_per_day_by_version_by_system_by_country",
        "SELECT date, project, version, system, country_code, count() AS count"
        " FROM pypi.pypi GROUP BY date, project, version, system, country_code",
    ),
    (
        "pypi_downloads_max_min",
        "SELECT project, maxSimpleState(date) AS max_date, minSimpleState(date) AS min_date"
        " FROM pypi.pypi GROUP BY project",
    ),
    (
        "pypi_downloads_per_month",
        "SELECT toStartOfMonth(date) AS month, project, count() AS count FROM pypi.pypi"
        " WHERE date > (toStartOfMonth(now()) - toIntervalMonth(6)) GROUP BY month, project",
    ),
)

_DICTIONARIES: tuple[str, ...] = (
    """CREATE DICTIONARY pypi.last_updated_dict (name String, last_update DateTime64(3))
    PRIMARY KEY name
    SOURCE(CLICKHOUSE(QUERY 'SELECT name, max(upload_time) AS last_update FROM pypi.projects GROUP BY name'))
    LIFETIME(MIN 0 MAX 300) LAYOUT(COMPLEX_KEY_HASHED())""",
    """CREATE DICTIONARY pypi.countries_dict (name String, code String)
    PRIMARY KEY code
    SOURCE(CLICKHOUSE(DATABASE 'pypi' TABLE 'countries'))
    LIFETIME(MIN 0 MAX 300) LAYOUT(COMPLEX_KEY_HASHED())""",
)


def table_definition(table: str) -> tuple[tuple[str, str], ...]:
    """A table's (column, type) pairs, in DDL order."""
    for name, columns, _engine, _order in _TABLES:
        if name == table:
            return columns
    raise KeyError(table)


def table_columns(table: str) -> tuple[str, ...]:
    """The column names of a table, in DDL order."""
    return tuple(name for name, _kind in table_definition(table))


def create_statements() -> list[str]:
    """Every statement that creates the database, in dependency order."""
    statements = [f"CREATE DATABASE IF NOT EXISTS {DATABASE}"]
    for name, columns, engine, order in _TABLES:
        listed = ", ".join(f"`{column}` {kind}" for column, kind in columns)
        statements.append(
            f"CREATE TABLE {DATABASE}.{name} ({listed}) ENGINE = {engine} ORDER BY {order}"
        )
    for target, select in _VIEWS:
        listed = ", ".join(f"`{column}` {kind}" for column, kind in table_definition(target))
        statements.append(
            f"CREATE MATERIALIZED VIEW {DATABASE}.{target}_mv TO {DATABASE}.{target}"
            f" ({listed}) AS {select}"
        )
    statements.extend(" ".join(d.split()) for d in _DICTIONARIES)
    return statements
