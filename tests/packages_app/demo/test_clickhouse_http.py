"""The ClickHouse stand-in's HTTP interface: real requests (httpx) against real ClickHouse SQL."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from packages_app.demo.clickhouse import DemoClickHouse
from tests.packages_app.demo.clickhouse_support import LATEST, PACKAGES, client, select, stand_in

DAILY = (
    "SELECT date, sum(count) AS downloads FROM pypi.pypi_downloads_per_day"
    " WHERE project = {p:String} AND date >= {since:Date} GROUP BY date ORDER BY date"
)
ERROR_BODY = re.compile(
    r"\ACode: (\d+)\. DB::Exception: .+\. \(([A-Z_]+)\) \(version [\d.]+ \(official build\)\)\n\Z",
    re.DOTALL,
)


@pytest.fixture(scope="module")
def ch() -> Iterator[DemoClickHouse]:
    with stand_in() as running:
        yield running


@pytest.fixture
def http(ch: DemoClickHouse) -> Iterator[httpx.Client]:
    ch.clear_faults()
    with client(ch) as session:
        yield session
    ch.clear_faults()


def query(http: httpx.Client, sql: str, **params: str) -> httpx.Response:
    return http.post("/", params={"database": "pypi", **params}, content=sql)


def assert_error(response: httpx.Response, status: int, code: int, name: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["x-clickhouse-exception-code"] == str(code)
    assert response.headers["content-type"] == "text/plain; charset=UTF-8"
    match = ERROR_BODY.match(response.text)
    assert match is not None, response.text
    assert (int(match.group(1)), match.group(2)) == (code, name)
    return response.text


# --- health and shape of an answer --------------------------------------------------------------


def test_ping_and_root_answer_ok(ch: DemoClickHouse) -> None:
    assert httpx.get(f"{ch.url}/ping").text == "Ok.\n"
    assert httpx.get(f"{ch.url}/").text == "Ok.\n"
    missing = httpx.get(f"{ch.url}/nope")
    assert missing.status_code == 404 and "There is no handle /nope" in missing.text


def test_typed_parameters_and_the_headers_of_an_answer(http: httpx.Client) -> None:
    response = http.get(
        "/",
        params={
            "query": DAILY,
            "param_p": "sqlalchemy",
            "param_since": (LATEST.replace(day=1)).isoformat(),
            "database": "pypi",
            "default_format": "JSONEachRow",
            "query_id": "my-query-1",
        },
    )
    assert response.status_code == 200
    rows = [json.loads(line) for line in response.text.splitlines()]
    assert [r["date"] for r in rows][-1] == LATEST.isoformat()
    assert all(isinstance(r["downloads"], int) and r["downloads"] > 0 for r in rows)
    assert response.headers["x-clickhouse-format"] == "JSONEachRow"
    assert response.headers["x-clickhouse-query-id"] == "my-query-1"
    timezone = http.post("/", content="SELECT timezone()").text.strip()
    assert response.headers["x-clickhouse-timezone"] == timezone
    assert re.fullmatch(r"[a-z]{16}", response.headers["x-clickhouse-exception-tag"])
    summary = json.loads(response.headers["x-clickhouse-summary"])
    assert summary["result_rows"] == str(len(rows))
    assert int(summary["read_rows"]) > 0 and summary["written_rows"] == "0"
    assert "x-clickhouse-exception-code" not in response.headers


def test_array_and_integer_parameters(http: httpx.Client) -> None:
    response = query(
        http,
        "SELECT project, sum(count) AS n FROM pypi_downloads"
        " WHERE project IN {names:Array(String)} AND {one:UInt8} = 1"
        " GROUP BY project ORDER BY project FORMAT JSONCompactEachRow",
        param_names="['httpx','sqlalchemy','nosuchpkg']",
        param_one="1",
    )
    assert [json.loads(line)[0] for line in response.text.splitlines()] == list(PACKAGES)


@pytest.mark.parametrize(
    ("output_format", "content_type"),
    [
        ("JSONEachRow", "application/x-ndjson; charset=UTF-8"),
        ("JSONCompactEachRow", "application/x-ndjson; charset=UTF-8"),
        ("JSON", "application/json; charset=UTF-8"),
        ("TabSeparated", "text/tab-separated-values; charset=UTF-8"),
        ("TSV", "text/tab-separated-values; charset=UTF-8"),
        ("CSV", "text/csv; charset=UTF-8; header=absent"),
        ("CSVWithNames", "text/csv; charset=UTF-8; header=present"),
    ],
)
def test_every_format(http: httpx.Client, output_format: str, content_type: str) -> None:
    sql = (
        "SELECT project, min(min_date) AS first FROM pypi_downloads_max_min"
        " GROUP BY project ORDER BY project"
    )
    by_argument = query(http, sql, default_format=output_format)
    in_sql = query(http, f"{sql} FORMAT {output_format}", default_format="JSON")
    for response in (by_argument, in_sql):
        assert response.status_code == 200
        assert response.headers["x-clickhouse-format"] == output_format
        assert response.headers["content-type"] == content_type
    if output_format == "JSON":  # its "statistics" hold the elapsed time
        assert by_argument.json()["data"] == in_sql.json()["data"]
    else:
        assert by_argument.content == in_sql.content
    text = by_argument.text
    if output_format == "JSON":
        document = json.loads(text)
        names = [row["project"] for row in document["data"]]
        assert document["rows"] == 2
        # min() of a SimpleAggregateFunction column keeps its type: ClickHouse's, not ours.
        assert document["meta"][1] == {
            "name": "first",
            "type": "SimpleAggregateFunction(min, Date)",
        }
    elif output_format.startswith("JSON"):
        lines = [json.loads(line) for line in text.splitlines()]
        names = [line["project"] if isinstance(line, dict) else line[0] for line in lines]
    elif output_format.startswith("CSV"):
        records = list(csv.reader(io.StringIO(text)))
        if output_format == "CSVWithNames":
            assert records.pop(0) == ["project", "first"]
        names = [r[0] for r in records]
    else:
        names = [line.split("\t")[0] for line in text.splitlines()]
    assert names == list(PACKAGES)


def test_default_format_is_tab_separated_and_the_query_can_be_split(http: httpx.Client) -> None:
    split = http.post(
        "/",
        params={"query": "SELECT 1 + {n:UInt8} AS x", "param_n": "2"},
        content="UNION ALL SELECT 4",
    )
    assert split.status_code == 200
    assert sorted(split.text.split()) == ["3", "4"]
    assert split.headers["x-clickhouse-format"] == "TabSeparated"


def test_database_from_header_and_unknown_database(http: httpx.Client) -> None:
    by_header = http.post(
        "/", headers={"X-ClickHouse-Database": "pypi"}, content="SELECT count() FROM projects"
    )
    assert by_header.status_code == 200 and int(by_header.text) > 0
    unknown = http.post("/", params={"database": "nope"}, content="SELECT 1")
    assert_error(unknown, 404, 81, "UNKNOWN_DATABASE")


def test_http_compression_when_asked(http: httpx.Client) -> None:
    response = http.post(
        "/",
        params={"database": "pypi", "enable_http_compression": "1"},
        headers={"Accept-Encoding": "gzip"},
        content="SELECT name FROM projects ORDER BY name, version",
    )
    assert response.headers["content-encoding"] == "gzip"
    assert response.text.splitlines()[0] == "httpx"  # httpx decompressed it
    raw = http.post("/", params={"database": "pypi"}, content="SELECT 1")
    assert "content-encoding" not in raw.headers


def test_settings_apply_to_one_query(http: httpx.Client) -> None:
    limited = query(http, "SELECT number FROM numbers(10)", max_result_rows="3")
    assert_error(limited, 500, 396, "TOO_MANY_ROWS_OR_BYTES")
    assert query(http, "SELECT count() FROM numbers(10)").text == "10\n"
    assert query(http, "SELECT number FROM numbers(10)").text.count("\n") == 10
    unknown = query(http, "SELECT 1", no_such_setting="1")
    assert_error(unknown, 404, 115, "UNKNOWN_SETTING")


def test_concurrent_queries_are_serialised_and_all_answered(ch: DemoClickHouse) -> None:
    sql = "SELECT project, sum(count) AS n FROM pypi.pypi_downloads_per_day GROUP BY project ORDER BY project"

    def ask(_: int) -> str:
        with client(ch) as session:
            response = session.post("/", content=sql)
        assert response.status_code == 200
        return response.text

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, range(16)))
    assert len(set(answers)) == 1 and answers[0].count("\n") == len(PACKAGES)


# --- errors as ClickHouse reports them ------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "params", "status", "code", "name"),
    [
        ("SELECT * FROM no_such_table", {}, 404, 60, "UNKNOWN_TABLE"),
        ("SELECT no_such_column FROM projects", {}, 404, 47, "UNKNOWN_IDENTIFIER"),
        ("SELEC 1", {}, 400, 62, "SYNTAX_ERROR"),
        ("SELECT {d:Date}", {"param_d": "not-a-date"}, 400, 38, "CANNOT_PARSE_DATE"),
        ("SELECT {d:Date}", {}, 500, 456, "UNKNOWN_QUERY_PARAMETER"),
        ("SELECT 1", {"default_format": "NoSuchFormat"}, 404, 73, "UNKNOWN_FORMAT"),
        ("SELECT 1; SELECT 2", {}, 400, 62, "SYNTAX_ERROR"),
        ("", {}, 400, 62, "SYNTAX_ERROR"),
    ],
)
def test_errors_have_clickhouse_status_code_and_body(
    http: httpx.Client, sql: str, params: dict[str, str], status: int, code: int, name: str
) -> None:
    assert_error(query(http, sql, **params), status, code, name)


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO pypi.countries VALUES ('Nowhere', 'XX')",
        "CREATE TABLE pypi.t (a Int64) ENGINE = Memory",
        "DROP TABLE pypi.projects",
        "ALTER TABLE pypi.projects DELETE WHERE 1",
        "TRUNCATE TABLE pypi.projects",
        "OPTIMIZE TABLE pypi.pypi_downloads FINAL",
        "SET readonly = 0",
        "SYSTEM RELOAD DICTIONARIES",
        "/* a comment first */ INSERT INTO pypi.countries SELECT 'a', 'b'",
        "SELECT 1 INTO OUTFILE '/tmp/demo-clickhouse-outfile.csv'",
    ],
)
def test_read_only_like_the_public_play_user(
    ch: DemoClickHouse, http: httpx.Client, sql: str
) -> None:
    text = assert_error(query(http, sql), 500, 164, "READONLY")
    assert f"{ch.user}: Cannot execute query in readonly mode" in text
    assert query(http, "SELECT count() FROM countries").text.strip() != "0"


def test_reads_outside_the_database_are_refused(http: httpx.Client) -> None:
    for sql in (
        "SELECT * FROM file('/etc/hostname', 'LineAsString')",
        "SELECT * FROM url('http://127.0.0.1:1/')",
    ):
        assert_error(query(http, sql), 403, 497, "ACCESS_DENIED")


def test_allowed_statements(http: httpx.Client) -> None:
    describe = query(http, "DESCRIBE TABLE pypi_downloads_max_min")
    assert describe.status_code == 200
    assert describe.text.splitlines()[1].split("\t")[:2] == [
        "max_date",
        "SimpleAggregateFunction(max, Date)",
    ]
    assert "pypi_downloads_per_day" in query(http, "SHOW TABLES").text.split()
    assert query(http, "EXISTS TABLE pypi_downloads").text == "1\n"
    with_query = query(http, "WITH 2 AS x SELECT x * {y:UInt8}", param_y="3")
    assert with_query.text == "6\n"


# --- authentication ------------------------------------------------------------------------------


def test_credentials_by_header_basic_auth_or_arguments(ch: DemoClickHouse) -> None:
    sql = {"query": "SELECT currentDatabase()", "database": "pypi"}
    by_header = httpx.get(
        ch.url, params=sql, headers={"X-ClickHouse-User": "play", "X-ClickHouse-Key": ""}
    )
    basic = "Basic " + base64.b64encode(b"play:").decode()
    by_basic = httpx.get(ch.url, params=sql, headers={"Authorization": basic})
    by_args = httpx.get(ch.url, params={**sql, "user": "play", "password": ""})
    for response in (by_header, by_basic, by_args):
        assert response.status_code == 200 and response.text == "pypi\n"


@pytest.mark.parametrize(
    "headers",
    [
        {"X-ClickHouse-User": "play", "X-ClickHouse-Key": "guess"},
        {"X-ClickHouse-User": "admin", "X-ClickHouse-Key": ""},
        {},  # no credentials: ClickHouse's `default` user, which is not ours
    ],
)
def test_wrong_credentials_are_refused(ch: DemoClickHouse, headers: dict[str, str]) -> None:
    response = httpx.get(ch.url, params={"query": "SELECT 1"}, headers=headers)
    text = assert_error(response, 403, 516, "AUTHENTICATION_FAILED")
    assert "Authentication failed: password is incorrect" in text


def test_a_configured_user_and_password(ch: DemoClickHouse) -> None:
    with stand_in(user="reader", password="s3cret") as other:
        assert other.engine is ch.engine  # one engine per process, shared
        ok = httpx.get(other.url, params={"query": "SELECT 1"}, auth=("reader", "s3cret"))
        assert ok.text == "1\n"
        assert (
            httpx.get(other.url, params={"query": "SELECT 1"}, auth=("play", "")).status_code == 403
        )


# --- faults --------------------------------------------------------------------------------------


def test_timeout_then_normal_after_times(ch: DemoClickHouse, http: httpx.Client) -> None:
    ch.set_faults(delay=2.0, times=1)
    with pytest.raises(httpx.ReadTimeout):
        http.post("/", content="SELECT 1", timeout=0.2)
    assert http.post("/", content="SELECT 1").text == "1\n"


def test_server_errors(ch: DemoClickHouse, http: httpx.Client) -> None:
    ch.set_faults(status=500, times=1)
    assert_error(http.post("/", content="SELECT 1"), 500, 202, "TOO_MANY_SIMULTANEOUS_QUERIES")
    ch.set_faults(status=503, times=1)
    proxy = http.post("/", content="SELECT 1")
    assert proxy.status_code == 503 and proxy.text == "503 Service Unavailable\n"
    assert "x-clickhouse-exception-code" not in proxy.headers
    assert http.post("/", content="SELECT 1").status_code == 200


def test_quota_exceeded_names_the_quota(ch: DemoClickHouse, http: httpx.Client) -> None:
    ch.set_faults(quota=True)
    text = assert_error(http.post("/", content="SELECT 1"), 500, 201, "QUOTA_EXCEEDED")
    assert re.search(
        r"Quota for user `play` for 3600s has been exceeded: result_rows = \d+/\d+\. "
        r"Interval will end at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\. Name of quota template: `play`",
        text,
    ), text


def test_malformed_body(ch: DemoClickHouse, http: httpx.Client) -> None:
    ch.set_faults(malformed=True, times=1)
    response = query(http, "SELECT name, version FROM projects", default_format="JSONEachRow")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        [json.loads(line) for line in response.text.splitlines()]


def test_truncated_body(ch: DemoClickHouse, http: httpx.Client) -> None:
    ch.set_faults(truncate=True, times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        query(http, "SELECT name, version FROM projects")


def test_exception_written_into_a_started_body(ch: DemoClickHouse, http: httpx.Client) -> None:
    ch.set_faults(midstream=True, times=1)
    received = b""
    with (
        pytest.raises(httpx.RemoteProtocolError),
        http.stream(
            "POST", "/", params={"database": "pypi"}, content="SELECT name, version FROM projects"
        ) as response,
    ):
        assert response.status_code == 200
        tag = response.headers["x-clickhouse-exception-tag"]
        for piece in response.iter_raw():
            received += piece
    head, marker, block = received.partition(b"\r\n__exception__\r\n")
    assert marker and head.endswith(b"\n") and head.count(b"\n") >= 1
    assert block.startswith(f"{tag}\r\n".encode())
    assert block.endswith(f" {tag}\r\n__exception__\r\n".encode())
    framed = block[len(tag) + 2 :].removesuffix(b"\r\n__exception__\r\n")
    message, _, length_and_tag = framed.rpartition(b"\n")
    assert length_and_tag == f"{len(message) + 1} {tag}".encode()
    assert ERROR_BODY.match(message.decode() + "\n")
    assert b"(TIMEOUT_EXCEEDED)" in message


def test_faults_can_target_some_queries(ch: DemoClickHouse, http: httpx.Client) -> None:
    ch.set_faults(status=503, match="by_installer")
    assert query(http, "SELECT count() FROM pypi_downloads_per_day").status_code == 200
    installer = query(
        http, "SELECT count() FROM pypi_downloads_per_day_by_version_by_installer_by_type"
    )
    assert installer.status_code == 503
    assert [q.fault for q in ch.queries[-2:]] == [None, "status"]


def test_control_endpoint(ch: DemoClickHouse, http: httpx.Client) -> None:
    control = f"{ch.url}/_control"
    state = httpx.post(control, json={"faults": {"status": 503, "times": 1}, "clear_queries": True})
    assert state.status_code == 200
    assert state.json()["faults"]["status"] == 503 and state.json()["queries"] == 0
    assert http.post("/", content="SELECT 1").status_code == 503
    assert http.post("/", content="SELECT 1").status_code == 200
    assert [q.status for q in ch.queries] == [503, 200]
    shown = httpx.get(control).json()
    assert shown["latest"] == LATEST.isoformat() and shown["packages"] == list(PACKAGES)
    assert httpx.post(control, json={"nonsense": 1}).status_code == 400


def test_lagging_latest_day(ch: DemoClickHouse, http: httpx.Client) -> None:
    totals = "SELECT project, sum(count) AS n FROM pypi_downloads GROUP BY project ORDER BY project"
    before = select(ch, totals)
    state = httpx.post(f"{ch.url}/_control", json={"lag_days": 3}).json()
    assert state["served_through"] == "2026-11-20" and state["lag_days"] == 3
    try:
        lagging = select(
            ch,
            "SELECT max(max_date) AS last FROM pypi_downloads_max_min WHERE project = {p:String}",
            p="sqlalchemy",
        )
        assert lagging == [{"last": "2026-11-20"}]
        for table in (
            "pypi_downloads_per_day",
            "pypi_downloads_per_day_by_version_by_python_by_country",
        ):
            assert select(ch, f"SELECT max(date) AS last FROM {table}") == [{"last": "2026-11-20"}]
        assert select(ch, totals) != before
    finally:
        httpx.post(f"{ch.url}/_control", json={"lag_days": 0})
    assert select(ch, totals) == before
    assert select(ch, "SELECT max(date) AS last FROM pypi_downloads_per_day") == [
        {"last": LATEST.isoformat()}
    ]


def test_package_list_and_not_all(ch: DemoClickHouse) -> None:
    with pytest.raises(ValueError, match="__all__"):
        DemoClickHouse(latest=LATEST, packages=["__all__"])
    with pytest.raises(ValueError, match="already serves data through"):
        DemoClickHouse(latest=LATEST.replace(day=1), packages=PACKAGES)
    # Refused before anything changed: the running stand-in still has every day.
    assert select(ch, "SELECT max(date) AS last FROM pypi_downloads_per_day") == [
        {"last": LATEST.isoformat()}
    ]
