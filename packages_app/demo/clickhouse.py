"""A local stand-in for ClickPy's public ClickHouse: its HTTP interface over real ClickHouse SQL.

Queries run in chdb (embedded ClickHouse: the same engine, SQL dialect, functions, formats
and error messages) against ClickPy's `pypi` schema filled with demo data that agrees with
the demo upstream (packages_app.demo.clickhouse_data). The HTTP layer is what a client of
ClickHouse's HTTP interface meets:

  - GET or POST `/`, the query in `query=`, in the body, or split between them (joined with
    a newline, as ClickHouse does); `database=` (or X-ClickHouse-Database); `default_format=`
    (or X-ClickHouse-Format) unless the SQL ends in `FORMAT x`; typed parameters `{name:Type}`
    bound from `param_name=`; other arguments are ClickHouse settings for this query (an
    unknown one is UNKNOWN_SETTING); `query_id=` echoed in X-ClickHouse-Query-Id;
    `enable_http_compression=1` with Accept-Encoding gzip or deflate compresses the answer;
  - user and password from X-ClickHouse-User/X-ClickHouse-Key, basic auth or `user=`/
    `password=` (none given: `default`); anything but the configured pair (`play` with an
    empty password, like the public instance) is AUTHENTICATION_FAILED, HTTP 403;
  - read-only like the public `play` user: SELECT, WITH, DESCRIBE, SHOW and EXISTS run;
    every other statement (INSERT, CREATE, ALTER, SET, SYSTEM, OPTIMIZE…) gets READONLY
    (164, HTTP 500), as does INTO OUTFILE; a second statement is SYNTAX_ERROR; table
    functions that reach outside the database (file, url, s3, remote, python…) are
    ACCESS_DENIED (a loopback test server must not read or write files); text that is no
    statement goes to ClickHouse, whose answer is a SYNTAX_ERROR (and whose serving session
    is read-only itself);
  - answers: 200 with the body in the requested format, Content-Type, X-ClickHouse-Format,
    -Query-Id, -Summary, -Timezone, -Server-Display-Name and -Exception-Tag (ClickHouse
    >= 25.11 sends it on every answer); errors with ClickHouse's HTTP status for the code
    (its exceptionCodeToHTTPStatus: 400 for syntax and parse errors, 403 authentication,
    404 unknown table, column, function, format or setting, 408 timeout, 500 otherwise),
    X-ClickHouse-Exception-Code and the text body `Code: N. DB::Exception: … (NAME) (version
    …)`; `GET /ping` and `GET /` without a query answer `Ok.`.

Faults, set at start, through `POST /_control` (JSON) or the Python API, optionally limited to
queries whose SQL contains `match` and to the next `times` queries:
  - `delay`: seconds before answering (longer than a client's read timeout = a timeout);
  - `status`: 500 is ClickHouse's own TOO_MANY_SIMULTANEOUS_QUERIES (code 202); 502, 503 or
    504 come from "a proxy in front": a short text body and no ClickHouse headers;
  - `quota`: QUOTA_EXCEEDED (201) with ClickHouse's message naming the quota, HTTP 500 (the
    code is not in ClickHouse's status map, so a client must read the code, not the status);
  - `malformed`: 200 whose body does not parse in its format;
  - `truncate`: 200 whose body stops half way (Content-Length says more; connection closed);
  - `midstream`: 200, half the rows, then the exception ClickHouse writes into a body it has
    already started (>= 25.11: a `__exception__` block carrying the X-ClickHouse-Exception-Tag
    value, here TIMEOUT_EXCEEDED), chunked, connection closed;
  - `lag_days` (not per query): every view, pypi_downloads_max_min included, stops that many
    days before the latest day, as when ClickPy's sync stalls; 0 restores the days.
Every query is recorded (time, SQL, status, fault) so tests count what reached the server.

chdb holds one database per process: stand-ins in one process share it (the union of their
packages; they must agree on the latest day, and a lag applies to all of them).
Loopback only: it binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import gzip
import json
import logging
import re
import secrets
import socket
import string
import threading
import time
import uuid
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypedDict, Unpack
from urllib.parse import parse_qsl, urlsplit

from packages_app.demo.clickhouse_data.engine import DEFAULT_CACHE_DIR, Engine
from packages_app.names import ALL_PACKAGES, canonicalize

logger = logging.getLogger(__name__)

# What `make demo` preloads: the packages bin/demo.py tracks, and two it does not (pages of
# untracked packages come from ClickHouse alone).
DEMO_PACKAGES: tuple[str, ...] = (
    "django",
    "requests",
    "numpy",
    "httpx",
    "flask",
    "attrs",
    "fastapi",
)
DISPLAY_NAME = "demo-clickhouse"
QUOTA_NAME = "play"
DEFAULT_USER = "play"

# Arguments of the HTTP interface itself; every other one is a setting.
_HTTP_ARGUMENTS = frozenset(
    {
        "query",
        "database",
        "default_format",
        "user",
        "password",
        "query_id",
        "session_id",
        "session_timeout",
        "session_check",
        "quota_key",
        "buffer_size",
        "wait_end_of_query",
        "compress",
        "decompress",
    }
)
_SETTING_NAME = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")
_READ_STATEMENTS = frozenset({"SELECT", "WITH", "DESCRIBE", "DESC", "SHOW", "EXISTS"})
# Every other statement ClickHouse knows is refused as READONLY; a first word that is no
# statement at all goes to ClickHouse, which answers SYNTAX_ERROR (its serving session is
# read-only too, so nothing it parses can write).
_OTHER_STATEMENTS = frozenset(
    {
        "INSERT",
        "CREATE",
        "DROP",
        "ALTER",
        "TRUNCATE",
        "OPTIMIZE",
        "SET",
        "SYSTEM",
        "RENAME",
        "ATTACH",
        "DETACH",
        "GRANT",
        "REVOKE",
        "KILL",
        "DELETE",
        "UPDATE",
        "EXCHANGE",
        "UNDROP",
        "BACKUP",
        "RESTORE",
        "USE",
        "EXPLAIN",
        "CHECK",
        "WATCH",
        "MOVE",
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "REPLACE",
        "EXECUTE",
    }
)
# Table functions (and the scalar `file`) that read or write outside the database.
_OUTSIDE_FUNCTIONS = frozenset(
    {
        "file",
        "url",
        "urlcluster",
        "s3",
        "s3cluster",
        "gcs",
        "oss",
        "cosn",
        "hdfs",
        "hdfscluster",
        "azureblobstorage",
        "azureblobstoragecluster",
        "executable",
        "remote",
        "remotesecure",
        "cluster",
        "clusterallreplicas",
        "mysql",
        "postgresql",
        "jdbc",
        "odbc",
        "sqlite",
        "mongodb",
        "redis",
        "input",
        "python",
        "iceberg",
        "icebergs3",
        "deltalake",
        "hudi",
        "arrowflight",
        "fuzzjson",
        "loop",
    }
)
# ClickHouse's exceptionCodeToHTTPStatus (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp).
_STATUS_BY_NAME: dict[str, int] = {
    "REQUIRED_PASSWORD": 401,
    **dict.fromkeys(
        ("UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED", "SET_NON_GRANTED_ROLE"), 403
    ),
    "ACCESS_DENIED": 403,
    **dict.fromkeys(
        (
            "BAD_ARGUMENTS",
            "CANNOT_COMPILE_REGEXP",
            "CANNOT_PARSE_TEXT",
            "CANNOT_PARSE_ESCAPE_SEQUENCE",
            "CANNOT_PARSE_QUOTED_STRING",
            "CANNOT_PARSE_DATE",
            "CANNOT_PARSE_DATETIME",
            "CANNOT_PARSE_NUMBER",
            "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING",
            "CANNOT_PARSE_IPV4",
            "CANNOT_PARSE_IPV6",
            "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
            "CANNOT_PARSE_UUID",
            "DUPLICATE_COLUMN",
            "ILLEGAL_COLUMN",
            "UNKNOWN_ELEMENT_IN_AST",
            "UNKNOWN_TYPE_OF_AST_NODE",
            "THERE_IS_NO_COLUMN",
            "TOO_DEEP_AST",
            "TOO_BIG_AST",
            "UNEXPECTED_AST_STRUCTURE",
            "SYNTAX_ERROR",
            "INCORRECT_DATA",
            "TYPE_MISMATCH",
            "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
        ),
        400,
    ),
    **dict.fromkeys(
        (
            "UNKNOWN_TABLE",
            "UNKNOWN_FUNCTION",
            "UNKNOWN_IDENTIFIER",
            "UNKNOWN_TYPE",
            "UNKNOWN_STORAGE",
            "UNKNOWN_DATABASE",
            "UNKNOWN_SETTING",
            "UNKNOWN_DIRECTION_OF_SORTING",
            "UNKNOWN_AGGREGATE_FUNCTION",
            "UNKNOWN_FORMAT",
            "UNKNOWN_DATABASE_ENGINE",
            "UNKNOWN_TYPE_OF_QUERY",
            "UNKNOWN_ROLE",
        ),
        404,
    ),
    "QUERY_IS_TOO_LARGE": 413,
    "NOT_IMPLEMENTED": 501,
    "SOCKET_TIMEOUT": 503,
    "CANNOT_OPEN_FILE": 503,
    "HTTP_LENGTH_REQUIRED": 411,
    "TIMEOUT_EXCEEDED": 408,
    "CANNOT_SCHEDULE_TASK": 503,
    "UNSUPPORTED_MEDIA_TYPE": 415,
}
_ERROR_HEAD = re.compile(r"\ACode: (\d+)\. DB::Exception: ")
_ERROR_NAME = re.compile(r"\(([A-Z0-9_]+)\)\s*\Z")
_TEXT = "text/plain; charset=UTF-8"


class ClickHouseError(Exception):
    """An exception as ClickHouse reports it: its code, name and message."""

    def __init__(self, code: int, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.code = code
        self.name = name
        self.message = message  # without "Code: N. DB::Exception: " and the " (NAME)" tail

    def text(self, version: str) -> str:
        return (
            f"Code: {self.code}. DB::Exception: {self.message}. ({self.name})"
            f" (version {version} (official build))\n"
        )

    @property
    def status(self) -> int:
        return _STATUS_BY_NAME.get(self.name, 500)

    @classmethod
    def from_engine(cls, exc: BaseException, user: str) -> ClickHouseError:
        """chdb's `Code: N. DB::Exception: message. (NAME)` (its engine user is `default`)."""
        text = str(exc).strip()
        head = _ERROR_HEAD.match(text)
        tail = _ERROR_NAME.search(text)
        if head is None or tail is None:
            return cls(1001, "STD_EXCEPTION", text or type(exc).__name__)
        message = text[head.end() : tail.start()].rstrip()
        message = message.removesuffix(".")
        if message.startswith("default: "):
            message = f"{user}: " + message.removeprefix("default: ")
        return cls(int(head.group(1)), tail.group(1), message)


@dataclass
class Faults:
    """What goes wrong, and for which queries (`match`: a substring of the SQL, any case)."""

    delay: float = 0.0  # seconds before answering
    status: int | None = None  # 500 (ClickHouse's) or 502/503/504 (a proxy's)
    quota: bool = False  # QUOTA_EXCEEDED
    malformed: bool = False  # 200, a body that does not parse
    truncate: bool = False  # 200, the body stops half way
    midstream: bool = False  # 200, half the rows, then an exception in the body
    match: str | None = None
    times: int | None = None  # the next N matching queries, then stop (None = always)

    def active(self) -> bool:
        return any(
            (self.delay, self.status, self.quota, self.malformed, self.truncate, self.midstream)
        )


class FaultOptions(TypedDict, total=False):
    """Faults' fields, as set_faults() takes them."""

    delay: float
    status: int | None
    quota: bool
    malformed: bool
    truncate: bool
    midstream: bool
    match: str | None
    times: int | None


class StandInOptions(TypedDict, total=False):
    """DemoClickHouse's arguments, for DemoClickHouse.running()."""

    latest: dt.date | None
    packages: Sequence[str]
    user: str
    password: str
    host: str
    port: int
    faults: Faults | None
    lag_days: int
    cache_dir: Path | None


class StandInState(TypedDict):
    """What /_control answers."""

    latest: str  # ISO: the latest day (before any lag)
    served_through: str  # ISO: the last day the views hold now
    lag_days: int
    packages: list[str]
    user: str
    faults: dict[str, object]
    queries: int


@dataclass(frozen=True)
class RecordedQuery:
    at: float  # time.time() when the request was read
    method: str
    sql: str
    status: int
    fault: str | None  # which fault answered, if one did


@dataclass
class _Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    truncate: bool = False  # send half the body, then close
    midstream: bytes | None = None  # chunked: the body, then this block, then close


class DemoClickHouse:
    """The stand-in. Use `with DemoClickHouse.running(...) as ch: ch.url`."""

    def __init__(
        self,
        *,
        latest: dt.date | None = None,
        packages: Sequence[str] = DEMO_PACKAGES,
        user: str = DEFAULT_USER,
        password: str = "",
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
        lag_days: int = 0,
        cache_dir: Path | None = DEFAULT_CACHE_DIR,
    ) -> None:
        names = [canonicalize(p) for p in packages]
        if ALL_PACKAGES in names:
            raise ValueError("__all__ is the PyPI Stats API's total, not a ClickHouse project")
        self.latest = latest or dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
        self.user = user
        self.password = password
        self.faults = faults or Faults()
        self.lag_days = 0
        self._lock = threading.Lock()
        self._queries: list[RecordedQuery] = []
        self._stopping = threading.Event()
        self._server = _Server((host, port), _Handler)
        self._server.stand_in = self
        self._thread: threading.Thread | None = None
        try:
            self.engine = Engine.shared(
                packages=names, latest=self.latest, owner=self, cache_dir=cache_dir
            )
        except BaseException:
            self._server.server_close()
            raise
        self._formats = {name.lower(): name for name in self.engine.output_formats}
        if lag_days:
            self.set_lag(lag_days)

    # --- lifecycle --------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL, as CLICKHOUSE_URL wants it."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> DemoClickHouse:
        # stop() waits for serve_forever's next look at its shutdown flag: 0.05 s, not
        # socketserver's default 0.5 s, paid by every test that starts the stand-in.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"demo-clickhouse-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop_listening(self) -> None:
        """Close the socket and give the data back (after serve_forever returned)."""
        self._server.server_close()
        self._release()

    def stop(self) -> None:
        self._stopping.set()  # delayed answers give up instead of answering a stopped server
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._release()

    def _release(self) -> None:
        if self.lag_days:
            self.set_lag(0)  # the next stand-in in this process gets every day back
        self.engine.release(self)

    @classmethod
    @contextlib.contextmanager
    def running(cls, **kwargs: Unpack[StandInOptions]) -> Iterator[DemoClickHouse]:
        stand_in = cls(**kwargs).start()
        try:
            yield stand_in
        finally:
            stand_in.stop()

    # --- switches ---------------------------------------------------------------------------

    def set_faults(self, **kwargs: Unpack[FaultOptions]) -> None:
        with self._lock:
            self.faults = Faults(**kwargs)

    def clear_faults(self) -> None:
        self.set_faults()

    def set_lag(self, days: int) -> None:
        """Make every view (and pypi_downloads_max_min) stop `days` before the latest day."""
        if days < 0:
            raise ValueError("lag_days must be >= 0")
        self.engine.ensure(
            self.engine.packages, self.latest - dt.timedelta(days=days), releases_through=None
        )
        self.lag_days = days

    @property
    def queries(self) -> list[RecordedQuery]:
        with self._lock:
            return list(self._queries)

    def clear_queries(self) -> None:
        with self._lock:
            self._queries.clear()

    def control(self, command: dict[str, Any]) -> StandInState:
        """Apply a /_control command; return the state. Unknown keys are an error.

        `command` is the request's JSON object, unchecked (hence Any): each value is checked
        or converted here, and a bad one raises ValueError or TypeError (a 400).
        """
        unknown = set(command) - {"faults", "lag_days", "clear_queries"}
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        if "faults" in command:
            faults = command["faults"] or {}
            if not isinstance(faults, dict):
                raise ValueError("faults must be an object")
            self.set_faults(**faults)
        if "lag_days" in command:
            self.set_lag(int(command["lag_days"]))
        if command.get("clear_queries"):
            self.clear_queries()
        return self.state()

    def state(self) -> StandInState:
        with self._lock:
            return {
                "latest": self.latest.isoformat(),
                "served_through": (self.latest - dt.timedelta(days=self.lag_days)).isoformat(),
                "lag_days": self.lag_days,
                "packages": self.engine.packages,
                "user": self.user,
                "faults": asdict(self.faults),
                "queries": len(self._queries),
            }

    # --- answering ----------------------------------------------------------------------------

    def _take_fault(self, sql: str) -> Faults | None:
        with self._lock:
            faults = self.faults
            if not faults.active():
                return None
            if faults.match and faults.match.lower() not in sql.lower():
                return None
            if faults.times is not None:
                if faults.times <= 0:
                    return None
                faults.times -= 1
            return Faults(**asdict(faults))

    def _record(self, at: float, method: str, sql: str, status: int, fault: str | None) -> None:
        with self._lock:
            self._queries.append(RecordedQuery(at, method, sql, status, fault))

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> _Answer:
        """Answer one HTTP request (headers' names lowercased)."""
        at = time.time()
        parts = urlsplit(target)
        arguments = parse_qsl(parts.query, keep_blank_values=True)
        args = dict(arguments)  # ClickHouse reads the last of a repeated argument
        if parts.path in ("/ping", "/replicas_status"):
            return _Answer(200, b"Ok.\n", {"Content-Type": _TEXT})
        if parts.path == "/_control":
            return _json(200, self.state())
        if parts.path != "/":
            body_text = f"There is no handle {parts.path}\n\nUse / or /ping for health checks.\n"
            return _Answer(404, body_text.encode(), {"Content-Type": _TEXT})
        query_id = args.get("query_id") or str(uuid.uuid4())
        sql = args.get("query", "")
        if method == "POST" and body:
            sql = (
                f"{sql}\n{body.decode('utf-8', 'replace')}"
                if sql
                else body.decode("utf-8", "replace")
            )
        if not sql.strip() and method in ("GET", "HEAD"):
            return _Answer(200, b"Ok.\n", {"Content-Type": _TEXT})
        fault = self._take_fault(sql)
        answer = self._answer_query(method, sql, args, arguments, headers, query_id, fault)
        if fault is not None:
            answer.delay = fault.delay
        self._record(at, method, sql, answer.status, _fault_name(fault))
        return answer

    def _answer_query(
        self,
        method: str,
        sql: str,
        args: dict[str, str],
        arguments: list[tuple[str, str]],
        headers: dict[str, str],
        query_id: str,
        fault: Faults | None,
    ) -> _Answer:
        common = {
            "X-ClickHouse-Server-Display-Name": DISPLAY_NAME,
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Timezone": self.engine.timezone,
            "X-ClickHouse-Exception-Tag": _exception_tag(),
        }
        if fault is not None and fault.status:
            if fault.status != 500:  # a proxy in front of ClickHouse
                reason = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
                text = f"{fault.status} {reason.get(fault.status, 'Error')}\n"
                return _Answer(fault.status, text.encode(), {"Content-Type": _TEXT})
            return self._error(
                ClickHouseError(
                    202,
                    "TOO_MANY_SIMULTANEOUS_QUERIES",
                    "Too many simultaneous queries. Maximum: 100",
                ),
                common,
            )
        user, password = _credentials(args, headers)
        if user != self.user or password != self.password:
            return self._error(
                ClickHouseError(
                    516,
                    "AUTHENTICATION_FAILED",
                    f"{user}: Authentication failed: password is incorrect, or there is no user"
                    " with such name",
                ),
                common,
            )
        if fault is not None and fault.quota:
            return self._error(_quota_error(self.user), common)
        try:
            statement = scan(sql, user=self.user)
            output_format = self._format(
                statement.format
                or args.get("default_format")
                or headers.get("x-clickhouse-format")
                or "TabSeparated"
            )
            settings = self._settings(arguments)
            params = {k.removeprefix("param_"): v for k, v in arguments if k.startswith("param_")}
            database = args.get("database") or headers.get("x-clickhouse-database") or "default"
            try:
                outcome = self.engine.execute(
                    sql,
                    output_format=output_format,
                    database=database,
                    params=params,
                    settings=settings,
                )
            except RuntimeError as exc:
                raise ClickHouseError.from_engine(exc, self.user) from exc
        except ClickHouseError as error:
            return self._error(error, common)
        body = outcome.body
        headers_out = {
            **common,
            "Content-Type": _content_type(output_format),
            "X-ClickHouse-Format": output_format,
            "X-ClickHouse-Summary": json.dumps(
                {
                    "read_rows": str(outcome.rows_read),
                    "read_bytes": str(outcome.bytes_read),
                    "written_rows": "0",
                    "written_bytes": "0",
                    "total_rows_to_read": str(outcome.rows_read),
                    "result_rows": str(_result_rows(output_format, body)),
                    "result_bytes": str(len(body)),
                    "elapsed_ns": str(int(outcome.elapsed_seconds * 1e9)),
                },
                separators=(",", ":"),
            ),
        }
        if method == "HEAD":
            return _Answer(200, b"", headers_out)
        if fault is not None and fault.midstream:
            kept = _cut_at_line(body)
            late = ClickHouseError(
                159,
                "TIMEOUT_EXCEEDED",
                "Timeout exceeded: elapsed 30.004 seconds, maximum: 30",
            ).text(self.engine.version)
            tag = headers_out["X-ClickHouse-Exception-Tag"]
            block = (
                f"\r\n__exception__\r\n{tag}\r\n{late}{len(late)} {tag}\r\n__exception__\r\n"
            ).encode()
            return _Answer(200, kept, headers_out, midstream=block)
        if fault is not None and fault.malformed:
            body = body[: len(body) // 2] + b'\x00{"broken'
        encoding = _encoding(args, headers)
        if encoding == "gzip":
            body = gzip.compress(body, mtime=0)
            headers_out["Content-Encoding"] = "gzip"
        elif encoding == "deflate":
            body = zlib.compress(body)
            headers_out["Content-Encoding"] = "deflate"
        return _Answer(200, body, headers_out, truncate=fault is not None and fault.truncate)

    def _error(self, error: ClickHouseError, common: dict[str, str]) -> _Answer:
        headers = {
            **common,
            "Content-Type": _TEXT,
            "X-ClickHouse-Exception-Code": str(error.code),
        }
        return _Answer(error.status, error.text(self.engine.version).encode(), headers)

    def _format(self, name: str) -> str:
        known = self._formats.get(name.lower())
        if known is None:
            raise ClickHouseError(73, "UNKNOWN_FORMAT", f"Unknown format {name}")
        return known

    def _settings(self, arguments: list[tuple[str, str]]) -> dict[str, str]:
        settings: dict[str, str] = {}
        for name, value in arguments:
            if name in _HTTP_ARGUMENTS or name.startswith("param_"):
                if name == "compress" and value not in ("", "0"):
                    raise ClickHouseError(
                        48,
                        "NOT_IMPLEMENTED",
                        "The stand-in does not implement ClickHouse's own compression"
                        " (compress=1); use enable_http_compression=1",
                    )
                continue
            if name == "enable_http_compression":
                continue  # handled here, over HTTP
            if not _SETTING_NAME.match(name) or name not in self.engine.settings:
                raise ClickHouseError(115, "UNKNOWN_SETTING", f"Unknown setting '{name}'")
            settings[name] = value
        return settings


# --- the SQL we look at before ClickHouse does ---------------------------------------------------


@dataclass(frozen=True)
class Statement:
    kind: str  # its first keyword, upper case
    format: str | None  # the name after a top-level FORMAT


_TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<comment>--[^\n]*|\#[^\n]*|/\*.*?(?:\*/|\Z))
    | (?P<string>'(?:[^'\\]|\\.|'')*(?:'|\Z))
    | (?P<quoted>"(?:[^"\\]|\\.|"")*(?:"|\Z)|`(?:[^`\\]|\\.|``)*(?:`|\Z))
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def scan(sql: str, *, user: str) -> Statement:
    """Check what ClickHouse's read-only `play` user may run; find a trailing FORMAT."""
    tokens: list[tuple[str, str, int]] = []  # (kind, text, depth)
    depth = 0
    for match in _TOKEN.finditer(sql):
        kind = match.lastgroup or "other"
        text = match.group()
        if kind in ("space", "comment"):
            continue
        if text == "(":
            depth += 1
        elif text == ")":
            depth = max(depth - 1, 0)
        tokens.append((kind, text, depth))
    if not tokens:
        raise ClickHouseError(62, "SYNTAX_ERROR", "Empty query")
    words = [(text.upper(), i) for i, (kind, text, _d) in enumerate(tokens) if kind == "word"]
    first = words[0][0] if words else ""
    if first in _OTHER_STATEMENTS:
        raise ClickHouseError(164, "READONLY", f"{user}: Cannot execute query in readonly mode")
    for i, (kind, text, d) in enumerate(tokens):
        if text == ";" and d == 0 and any(t[1] != ";" for t in tokens[i + 1 :]):
            raise ClickHouseError(62, "SYNTAX_ERROR", "Multi-statements are not allowed")
        following = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        if kind == "word" and text.lower() in _OUTSIDE_FUNCTIONS and following == "(":
            raise ClickHouseError(
                497,
                "ACCESS_DENIED",
                f"{user}: Not enough privileges. To execute this query, it's necessary to have"
                f" the grant CREATE TEMPORARY TABLE, {text.upper()} ON *.*",
            )
        if kind == "word" and text.upper() == "INTO" and following.upper() == "OUTFILE":
            raise ClickHouseError(164, "READONLY", f"{user}: Cannot execute query in readonly mode")
    output: str | None = None
    for i, (kind, text, d) in enumerate(tokens[:-1]):
        after = tokens[i + 1]
        if (
            kind == "word"
            and text.upper() == "FORMAT"
            and d == 0
            and after[0] in ("word", "quoted")
        ):
            output = after[1].strip('`"')
    return Statement(first, output)


# --- helpers -------------------------------------------------------------------------------------


def _credentials(args: dict[str, str], headers: dict[str, str]) -> tuple[str, str]:
    if "x-clickhouse-user" in headers:
        return headers["x-clickhouse-user"], headers.get("x-clickhouse-key", "")
    authorization = headers.get("authorization", "")
    if authorization.lower().startswith("basic "):
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
            user, _, password = decoded.partition(":")
            return user, password
    return args.get("user", "default"), args.get("password", "")


def _quota_error(user: str) -> ClickHouseError:
    now = dt.datetime.now(dt.UTC)
    end = (now + dt.timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    return ClickHouseError(
        201,
        "QUOTA_EXCEEDED",
        f"Quota for user `{user}` for 3600s has been exceeded: result_rows = 3000001/3000000."
        f" Interval will end at {end:%Y-%m-%d %H:%M:%S}. Name of quota template: `{QUOTA_NAME}`",
    )


def _exception_tag() -> str:
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(16))


def _content_type(output_format: str) -> str:
    name = output_format.lower()
    if name.startswith("json") or name == "ndjson":
        if "eachrow" in name or name in ("jsonlines", "ndjson"):
            return "application/x-ndjson; charset=UTF-8"
        return "application/json; charset=UTF-8"
    if name.startswith(("tabseparated", "tsv")):
        return "text/tab-separated-values; charset=UTF-8"
    if name.startswith("csv"):
        header = "present" if "withnames" in name else "absent"
        return f"text/csv; charset=UTF-8; header={header}"
    if name in ("native", "parquet", "arrow", "arrowstream", "orc", "avro") or name.startswith(
        "rowbinary"
    ):
        return "application/octet-stream"
    return _TEXT


def _result_rows(output_format: str, body: bytes) -> int:
    """Rows in an answer, for X-ClickHouse-Summary (line formats and the JSON family)."""
    name = output_format.lower()
    if name in ("json", "jsoncompact", "jsonstrings", "jsoncompactstrings"):
        found = re.search(rb'"rows":\s*(\d+)', body[-4096:])
        return int(found.group(1)) if found else 0
    lines = body.count(b"\n")
    if "eachrow" in name or name in ("jsonlines", "ndjson"):
        return lines - name.count("withnames") - name.count("andtypes")
    if name.startswith(("tabseparated", "tsv", "csv")):
        return lines - name.count("withnames") - name.count("andtypes")
    return 0


def _cut_at_line(body: bytes) -> bytes:
    """The first half of an answer, ending at a line break when it has some."""
    half = body[: len(body) // 2]
    cut = half.rfind(b"\n")
    return half[: cut + 1] if cut >= 0 else half


def _encoding(args: dict[str, str], headers: dict[str, str]) -> str | None:
    if args.get("enable_http_compression") not in ("1", "true"):
        return None
    accepted = {
        part.split(";")[0].strip() for part in headers.get("accept-encoding", "").split(",")
    }
    for encoding in ("gzip", "deflate"):
        if encoding in accepted:
            return encoding
    return None


def _fault_name(fault: Faults | None) -> str | None:
    if fault is None:
        return None
    for name in ("status", "quota", "midstream", "malformed", "truncate"):
        if getattr(fault, name):
            return name
    return "delay" if fault.delay else None


def _json(status: int, data: object) -> _Answer:
    return _Answer(status, json.dumps(data).encode(), {"Content-Type": "application/json"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    stand_in: DemoClickHouse

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that gave up (its read timeout during a `delay` fault) leaves a broken
        # pipe behind: expected, so not worth socketserver's traceback on stderr.
        logger.debug("demo clickhouse: request from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as ClickHouse
    disable_nagle_algorithm = True  # headers and body go in separate writes
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("demo clickhouse: " + format, *args)

    def _headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.headers.items()}

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            data = b"".join(chunks)
        else:
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = self.headers.get("Content-Encoding", "").lower()
        if encoding == "gzip":
            data = gzip.decompress(data)
        elif encoding == "deflate":
            data = zlib.decompress(data)
        return data

    def _send(self, answer: _Answer, *, head: bool = False) -> None:
        stand_in = self.server.stand_in
        if answer.delay and stand_in._stopping.wait(answer.delay):
            self.close_connection = True  # the server stopped while we waited: no answer
            return
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if answer.midstream is not None:
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            for piece in (answer.body, answer.midstream):
                if piece:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()  # no final zero-length chunk: the query failed
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if head:
            return
        if answer.truncate:
            self.wfile.write(answer.body[: max(len(answer.body) // 2, 1)])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(answer.body)

    def _handle(self, method: str) -> None:
        try:
            body = self._body() if method == "POST" else b""
        except (ValueError, OSError, EOFError, zlib.error) as exc:
            self._send(
                _Answer(
                    400, f"Cannot read the request body: {exc}\n".encode(), {"Content-Type": _TEXT}
                )
            )
            return
        stand_in = self.server.stand_in
        if method == "POST" and urlsplit(self.path).path == "/_control":
            try:
                command = json.loads(body or b"{}")
                if not isinstance(command, dict):
                    raise ValueError("the command must be a JSON object")
                state = stand_in.control(command)
            except (ValueError, TypeError) as exc:
                self._send(_json(400, {"error": str(exc)}))
                return
            self._send(_json(200, state))
            return
        self._send(stand_in.answer(method, self.path, self._headers(), body), head=method == "HEAD")

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_HEAD(self) -> None:
        self._handle("HEAD")
