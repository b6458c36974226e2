"""The process's one embedded ClickHouse (chdb) holding ClickPy's `pypi` database.

chdb runs one embedded server per process, on one data directory (a second directory in
the same process is refused), so every stand-in in a process shares this engine and its
data: `Engine.shared()` creates it on first use and fills it, later calls only add what is
missing. Two sessions talk to it: one builds (writes), one serves queries with `readonly = 2`
so ClickHouse itself refuses writes; both go through one lock, as a session is not meant to
run two queries at once.

The data a process holds is: every package asked for so far, each from its first download
through one date (the latest day served; a lag fault moves it back and forth, deleting and
re-inserting days), plus `projects` through the latest day. Building ten years of a big
package takes a while (docs/benchmarks.md), so a build is kept under
var/clickhouse-demo/<key>/ (key: DATA_VERSION, the packages, the latest day) and copied from
there next time; a cached build of the same packages through an earlier day is copied and
extended by the missing days, so `make demo` rebuilds only what a new day adds. The copy is
the process's own temporary directory (chdb locks its directory against other processes),
removed at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol, TypedDict

from chdb import session as chdb_session

from packages_app.demo.clickhouse_data import build, model, schema

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[3]
# A cache keyed by content, not the app's state: it stays under the checkout's var/ whatever
# VAR_DIR says, so a test run with its own VAR_DIR still reuses it.
DEFAULT_CACHE_DIR = Path(
    os.environ.get("DEMO_CLICKHOUSE_CACHE") or ROOT / "var" / "clickhouse-demo"
)
_KEEP_PER_PACKAGE_SET = 2


class EngineState(TypedDict):
    """What a data directory holds (state.json beside it)."""

    data_version: int
    packages: dict[str, str]  # name -> last day held (ISO)
    releases_through: str | None  # ISO: `projects` lists the releases up to this day


class _Result(Protocol):
    """What chdb's Session.query returns (chdb leaves it unannotated)."""

    def bytes(self) -> bytes: ...
    def rows_read(self) -> int: ...
    def bytes_read(self) -> int: ...
    def elapsed(self) -> float: ...


class _Session(Protocol):
    def query(
        self, sql: str, fmt: str = ..., udf_path: str = ..., params: dict[str, str] | None = ...
    ) -> _Result: ...
    def close(self) -> None: ...


def _session(path: Path) -> _Session:
    # chdb.session.Session is unannotated: pyproject.toml's untyped_calls_exclude lets this
    # one call through, and the Protocols above say what the rest of the module relies on.
    session: _Session = chdb_session.Session(str(path))
    return session


@dataclass(frozen=True)
class QueryOutcome:
    body: bytes
    rows_read: int
    bytes_read: int
    elapsed_seconds: float


@dataclass
class BuildReport:
    """What one `ensure` did: for docs/benchmarks.md and the demo's progress line."""

    seconds: float = 0.0
    days: int = 0
    rows: int = 0


class Engine:
    """The shared chdb engine. Use Engine.shared(); every method is thread-safe."""

    _instance: ClassVar[Engine | None] = None
    _instance_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.state = _read_state(path)
        self.last_build = BuildReport()
        self._claims: dict[int, dt.date] = {}
        self._open()
        self.output_formats = frozenset(
            self._column("SELECT name FROM system.formats WHERE is_output")
        )
        self.settings = frozenset(self._column("SELECT name FROM system.settings"))
        self.version, self.timezone = self._column("SELECT version(), timezone()")[0].split("\t")

    # --- lifecycle ----------------------------------------------------------------------------

    def _open(self) -> None:
        self._builder = _session(self.path / "db")
        self._server = _session(self.path / "db")
        # The public instance's `play` user is read-only: ClickHouse itself refuses writes.
        self._server.query("SET readonly = 2")
        # One thread per query: the stand-in answers a package or five, a few thousand rows
        # at most, where a thread pool per query costs more than it saves, and the processes
        # sharing the machine (test workers, `make demo`'s web) each run their own engine.
        self._server.query("SET max_threads = 1")

    def _close(self) -> None:
        self._server.close()
        self._builder.close()

    @classmethod
    def shared(
        cls,
        *,
        packages: Sequence[str],
        latest: dt.date,
        owner: object,
        cache_dir: Path | None = DEFAULT_CACHE_DIR,
    ) -> Engine:
        """The process's engine, holding at least `packages` through `latest`, claimed by `owner`.

        Raises ValueError, changing nothing, when another running stand-in serves another
        latest day (the data is shared).
        """
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls._create(packages, latest, cache_dir)
                cls._instance.claim(owner, latest)
                return cls._instance
            engine = cls._instance
        with engine.lock:
            others = engine.claim(owner, latest)
            try:
                # A running stand-in's lag stays in force: new packages join at its last day.
                through = (engine.through() or latest) if others else latest
                engine.ensure(packages, through, releases_through=latest)
            except BaseException:
                engine.release(owner)
                raise
        return engine

    @classmethod
    def _create(cls, packages: Sequence[str], latest: dt.date, cache_dir: Path | None) -> Engine:
        work = Path(tempfile.mkdtemp(prefix="demo-clickhouse-"))
        atexit.register(shutil.rmtree, work, True)
        wanted = sorted(set(packages))
        key = template_key(wanted, latest)
        source = _find_template(cache_dir, wanted, latest) if cache_dir else None
        if source is not None:
            shutil.copytree(source, work, symlinks=True, dirs_exist_ok=True)
        engine = cls(work)
        atexit.register(engine._shutdown)
        if source is None:
            engine._create_schema()
        engine.ensure(wanted, latest, releases_through=latest)
        if cache_dir is not None and (source is None or source.name != key):
            engine._save_template(cache_dir / key)
        return engine

    def _shutdown(self) -> None:
        with self.lock, contextlib.suppress(RuntimeError):
            self._close()

    def _create_schema(self) -> None:
        with self.lock:
            for statement in schema.create_statements():
                self._builder.query(statement)
            values = ", ".join(
                f"({build.sql_string(name)}, {build.sql_string(code)})"
                for code, name in model.COUNTRY_NAMES.items()
            )
            self._builder.query(f"INSERT INTO {schema.DATABASE}.countries VALUES {values}")
            self._builder.query(f"SYSTEM RELOAD DICTIONARY {schema.DATABASE}.countries_dict")
            self.state = {
                "data_version": model.DATA_VERSION,
                "packages": {},
                "releases_through": None,
            }
            self._write_state()

    def _save_template(self, target: Path) -> None:
        """Copy the data directory (closed, so consistent) to the cache, atomically."""
        target.parent.mkdir(parents=True, exist_ok=True)
        with self.lock:
            self._close()
            try:
                partial = target.parent / f".{target.name}.{os.getpid()}.{time.monotonic_ns()}"
                shutil.copytree(self.path, partial, symlinks=True)
                try:
                    partial.rename(target)
                except OSError:  # another process saved the same build first
                    shutil.rmtree(partial, ignore_errors=True)
            finally:
                self._open()
        _prune_templates(target.parent, keep=target.name)

    # --- claims: stand-ins that serve this engine --------------------------------------------

    def claim(self, owner: object, latest: dt.date) -> int:
        """Register a running stand-in; they must agree on the latest day (the data is shared).

        Returns how many other stand-ins hold a claim.
        """
        with self.lock:
            others = {d for key, d in self._claims.items() if key != id(owner)}
            if others and others != {latest}:
                raise ValueError(
                    f"a stand-in in this process already serves data through {min(others)}; "
                    "stop it first (chdb holds one database per process)"
                )
            self._claims[id(owner)] = latest
            return sum(1 for key in self._claims if key != id(owner))

    def release(self, owner: object) -> None:
        with self.lock:
            self._claims.pop(id(owner), None)

    # --- data -----------------------------------------------------------------------------------

    @property
    def packages(self) -> list[str]:
        return sorted(self.state["packages"])

    def through(self) -> dt.date | None:
        held = {dt.date.fromisoformat(d) for d in self.state["packages"].values()}
        return max(held) if held else None

    def ensure(
        self, packages: Iterable[str], through: dt.date, *, releases_through: dt.date | None
    ) -> BuildReport:
        """Hold `packages` (and every package held before) through `through`, no later.

        `releases_through` (when given) is the day `projects` is listed through; a lag fault
        moves `through` alone, as PyPI's release metadata keeps coming while the download sync
        stalls.
        """
        report = BuildReport()
        started = time.perf_counter()
        with self.lock, tempfile.TemporaryDirectory(dir=self.path) as scratch:
            held = self.state["packages"]
            changed = False
            for name in sorted(set(packages) | set(held)):
                have = dt.date.fromisoformat(held[name]) if name in held else None
                if have is not None and have > through:
                    continue  # trimmed below, with every other package
                start = model.first_download_date(name) if have is None else have + dt.timedelta(1)
                if have is None or have < through:
                    stats = build.insert_days(self._run_build, name, start, through, Path(scratch))
                    report.days += stats.days
                    report.rows += stats.total_rows
                    held[name] = through.isoformat()
                    changed = True
            if any(dt.date.fromisoformat(d) > through for d in held.values()):
                self._trim(through)
                for name in held:
                    held[name] = min(dt.date.fromisoformat(held[name]), through).isoformat()
                changed = True
            if releases_through is not None and (
                changed or self.state["releases_through"] != releases_through.isoformat()
            ):
                self._fill_projects(releases_through)
                self.state["releases_through"] = releases_through.isoformat()
                changed = True
            if changed:
                self._fill_derived(through)
                self._write_state()
        report.seconds = time.perf_counter() - started
        if report.rows:
            self.last_build = report
            logger.info(
                "demo ClickHouse: %d rows for %d package-days in %.1f s",
                report.rows,
                report.days,
                report.seconds,
            )
        return report

    def _run_build(self, sql: str) -> None:
        # Rows are inserted once per key: folding on insert (SummingMergeTree's default) only
        # costs time here.
        self._builder.query(f"{sql} SETTINGS optimize_on_insert = 0")

    def _trim(self, through: dt.date) -> None:
        for view in schema.DAILY_VIEWS:
            self._builder.query(
                f"DELETE FROM {schema.DATABASE}.{view.table} WHERE date > toDate('{through}')"
            )

    def _fill_derived(self, through: dt.date) -> None:
        db = schema.DATABASE
        for table in schema.DERIVED_TABLES:
            self._builder.query(f"TRUNCATE TABLE {db}.{table}")
        self._builder.query(
            f"INSERT INTO {db}.pypi_downloads SELECT project, sum(count)"
            f" FROM {db}.pypi_downloads_per_day GROUP BY project"
        )
        self._builder.query(
            f"INSERT INTO {db}.pypi_downloads_by_version SELECT project, version, sum(count)"
            f" FROM {db}.pypi_downloads_per_day_by_version GROUP BY project, version"
        )
        self._builder.query(
            f"INSERT INTO {db}.pypi_downloads_max_min SELECT project, max(date), min(date)"
            f" FROM {db}.pypi_downloads_per_day GROUP BY project"
        )
        # The materialized view keeps the months after toStartOfMonth(now()) - 6 months; the
        # stand-in's "now" is its latest day.
        self._builder.query(
            f"INSERT INTO {db}.pypi_downloads_per_month"
            f" SELECT toStartOfMonth(date) AS month, project, sum(count)"
            f" FROM {db}.pypi_downloads_per_day"
            f" WHERE date > toStartOfMonth(toDate('{through}')) - toIntervalMonth(6)"
            f" GROUP BY month, project"
        )

    def _fill_projects(self, through: dt.date) -> None:
        db = schema.DATABASE
        self._builder.query(f"TRUNCATE TABLE {db}.projects")
        lines = [
            json.dumps(row, separators=(",", ":"))
            for name in sorted(self.state["packages"])
            for row in project_rows(name, through)
        ]
        if lines:
            with tempfile.NamedTemporaryFile("w", dir=self.path, suffix=".jsonl") as rows:
                rows.write("\n".join(lines) + "\n")
                rows.flush()
                structure = ", ".join(
                    f"{name} {kind}" for name, kind in schema.table_definition("projects")
                )
                self._builder.query(
                    f"INSERT INTO {db}.projects SELECT * FROM file("
                    f"{build.sql_string(rows.name)}, 'JSONEachRow', {build.sql_string(structure)})"
                )
        self._builder.query(f"SYSTEM RELOAD DICTIONARY {db}.last_updated_dict")

    def _write_state(self) -> None:
        (self.path / "state.json").write_text(json.dumps(self.state, indent=1, sort_keys=True))

    # --- queries --------------------------------------------------------------------------------

    def _column(self, sql: str) -> list[str]:
        with self.lock:
            text = self._builder.query(sql, "TabSeparatedRaw").bytes().decode()
        return text.splitlines()

    def execute(
        self,
        sql: str,
        *,
        output_format: str,
        database: str,
        params: Mapping[str, str],
        settings: Mapping[str, str],
    ) -> QueryOutcome:
        """Run one read-only query as the public instance would; raises chdb's RuntimeError.

        Setting names must be known settings (the caller checks them against `settings`):
        they are applied for this query alone and reset afterwards.
        """
        with self.lock:
            self._server.query(f"USE `{database.replace('`', '``')}`")
            applied: list[str] = []
            try:
                for name, value in settings.items():
                    self._server.query(f"SET {name} = {build.sql_string(value)}")
                    applied.append(name)
                result = self._server.query(sql, output_format, params=dict(params))
            finally:
                for name in applied:
                    self._server.query(f"SET {name} = DEFAULT")
            return QueryOutcome(
                body=result.bytes(),
                rows_read=int(result.rows_read()),
                bytes_read=int(result.bytes_read()),
                elapsed_seconds=float(result.elapsed()),
            )

    def table_rows(self) -> dict[str, int]:
        """Rows per table of the pypi database (active parts), for the benchmarks."""
        rows: dict[str, int] = {}
        for line in self._column(
            "SELECT table, sum(rows) FROM system.parts"
            f" WHERE database = '{schema.DATABASE}' AND active GROUP BY table ORDER BY table"
        ):
            table, count = line.split("\t")
            rows[table] = int(count)
        return rows


# --- projects ----------------------------------------------------------------------------------


def project_rows(name: str, through: dt.date) -> list[dict[str, object]]:
    """`projects` rows (one per uploaded file: a wheel and an sdist per release) for `name`."""
    rows: list[dict[str, object]] = []
    releases = [*model.releases_through(name, through), model.pending_release(name, through)]
    for release in releases:
        for packagetype, filename, python_version, offset in (
            ("sdist", f"{name}-{release.version}.tar.gz", "source", 0),
            (
                "bdist_wheel",
                f"{name.replace('-', '_')}-{release.version}-py3-none-any.whl",
                "py3",
                40,
            ),
        ):
            digest = hashlib.sha256(filename.encode()).hexdigest()
            uploaded = release.uploaded + dt.timedelta(seconds=offset)
            rows.append(
                {
                    "metadata_version": "2.1" if release.day.year < 2024 else "2.4",
                    "name": name,
                    "version": release.version,
                    "summary": f"{name}: demo release metadata (synthetic)",
                    "description": "",
                    "description_content_type": "text/markdown",
                    "author": f"The {name} maintainers",
                    "author_email": "",
                    "maintainer": "",
                    "maintainer_email": "",
                    "license": "BSD-3-Clause",
                    "keywords": "",
                    "classifiers": model.classifiers(name, release),
                    "platform": [],
                    "home_page": "",
                    "download_url": "",
                    "requires_python": model.requires_python(release.day),
                    "requires": [],
                    "provides": [],
                    "obsoletes": [],
                    "requires_dist": [],
                    "provides_dist": [],
                    "obsoletes_dist": [],
                    "requires_external": [],
                    "project_urls": [],
                    "uploaded_via": "twine/5.1.1",
                    "upload_time": uploaded.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
                    "filename": filename,
                    "size": 50_000 + int(digest[:6], 16) % 4_000_000,
                    "path": f"{digest[:2]}/{digest[2:4]}/{digest[4:]}/{filename}",
                    "python_version": python_version,
                    "packagetype": packagetype,
                    "comment_text": "",
                    "has_signature": False,
                    "md5_digest": hashlib.md5(filename.encode(), usedforsecurity=False).hexdigest(),
                    "sha256_digest": digest,
                    "blake2_256_digest": hashlib.blake2b(
                        filename.encode(), digest_size=32
                    ).hexdigest(),
                }
            )
    return rows


# --- cached builds ------------------------------------------------------------------------------


def _packages_digest(packages: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(sorted(packages)).encode()).hexdigest()[:12]


def template_key(packages: Sequence[str], latest: dt.date) -> str:
    return f"v{model.DATA_VERSION}-{_packages_digest(packages)}-{latest.isoformat()}"


def _find_template(cache_dir: Path, packages: Sequence[str], latest: dt.date) -> Path | None:
    """The cached build to start from: this key, else the same packages through an earlier day."""
    exact = cache_dir / template_key(packages, latest)
    if (exact / "state.json").exists():
        return exact
    prefix = f"v{model.DATA_VERSION}-{_packages_digest(packages)}-"
    earlier = sorted(
        p
        for p in cache_dir.glob(f"{prefix}*")
        if (p / "state.json").exists() and p.name[len(prefix) :] < latest.isoformat()
    )
    return earlier[-1] if earlier else None


def _prune_templates(cache_dir: Path, *, keep: str) -> None:
    """Drop other data versions' builds and all but the newest few of this package set."""
    prefix = keep.rsplit("-", 3)[0]  # v<version>-<digest>
    version = keep.split("-", 1)[0]
    same_set = sorted(p for p in cache_dir.glob(f"{prefix}-*") if p.is_dir())
    stale = [p for p in cache_dir.glob("v*") if p.is_dir() and not p.name.startswith(f"{version}-")]
    for path in [*stale, *same_set[:-_KEEP_PER_PACKAGE_SET]]:
        if path.name != keep:
            shutil.rmtree(path, ignore_errors=True)


def _read_state(path: Path) -> EngineState:
    try:
        state: EngineState = json.loads((path / "state.json").read_text())
    except FileNotFoundError:
        return {"data_version": model.DATA_VERSION, "packages": {}, "releases_through": None}
    return state
