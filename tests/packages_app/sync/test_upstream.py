from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import time_machine
from pytest_django import Settings

import pypistats_site
from packages_app.demo.upstream import DemoUpstream
from packages_app.names import InvalidPackageName
from packages_app.sync import upstream
from packages_app.sync.budget import FileStore, RequestBudget
from packages_app.sync.upstream import (
    UpstreamBadPayload,
    UpstreamClient,
    UpstreamFailure,
    UpstreamNotFound,
    UpstreamRateLimited,
    parse_recent,
    parse_series,
)
from tests.packages_app.conftest import SleepRecorder


def body(data: object, package: str = "demo-pkg", type_: str = "overall_downloads") -> bytes:
    return json.dumps({"data": data, "package": package, "type": type_}).encode()


def row(
    category: object = "with_mirrors", date: object = "2026-11-23", downloads: object = 5
) -> dict[str, object]:
    """A series row; any JSON value goes, to build the payloads the parser must refuse."""
    return {"category": category, "date": date, "downloads": downloads}


def test_a_valid_series_is_parsed() -> None:
    payload = parse_series(
        "overall", body([row(), row("without_mirrors", downloads=4)]), "demo-pkg"
    )
    assert [(c, d.isoformat(), n) for c, d, n in payload.rows] == [
        ("with_mirrors", "2026-11-23", 5),
        ("without_mirrors", "2026-11-23", 4),
    ]


BAD_SERIES = {
    "not json": b"{nope",
    "a list": b"[]",
    "extra key": json.dumps(
        {"data": [], "package": "demo-pkg", "type": "overall_downloads", "x": 1}
    ).encode(),
    "wrong type": body([], type_="system_downloads"),
    "wrong package": body([], package="other"),
    "data not a list": body({}),
    "row not an object": body([1]),
    "missing downloads": body([{"category": "with_mirrors", "date": "2026-11-23", "x": 1}]),
    "bool downloads": body([row(downloads=True)]),
    "negative downloads": body([row(downloads=-1)]),
    "float downloads": body([row(downloads=1.5)]),
    "string downloads": body([row(downloads="5")]),
    "huge downloads": body([row(downloads=2**63)]),
    "bad date": body([row(date="2026-13-01")]),
    "date with time": body([row(date="2026-11-23T00:00:00")]),
    "short date": body([row(date="2026-1-1")]),
    "date not a string": body([row(date=20261123)]),
    "unknown overall category": body([row(category="mirrors")]),
    "null category": body([row(category=None)]),
    "duplicate row": body([row(), row()]),
}


@pytest.mark.parametrize("raw", BAD_SERIES.values(), ids=BAD_SERIES.keys())
def test_a_bad_series_payload_is_rejected(raw: bytes) -> None:
    with pytest.raises(UpstreamBadPayload):
        parse_series("overall", raw, "demo-pkg")


def test_an_unknown_but_plausible_category_is_accepted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    raw = body([row("3.16"), row("3.14")], type_="python_minor_downloads")
    with caplog.at_level(logging.WARNING):
        payload = parse_series("python_minor", raw, "demo-pkg")
    assert {c for c, _, _ in payload.rows} == {"3.16", "3.14"}
    assert "3.16" in caplog.text
    with pytest.raises(UpstreamBadPayload):
        parse_series(
            "python_minor", body([row("<script>")], type_="python_minor_downloads"), "demo-pkg"
        )


def test_recent_payloads() -> None:
    ok = json.dumps(
        {
            "data": {"last_day": 1, "last_week": 2, "last_month": 3},
            "package": "p",
            "type": "recent_downloads",
        }
    )
    assert parse_recent(ok.encode(), "p").last_month == 3
    data: object
    for data in (
        {"last_day": 1, "last_week": 2},
        {"last_day": True, "last_week": 2, "last_month": 3},
        [],
    ):
        raw = json.dumps({"data": data, "package": "p", "type": "recent_downloads"}).encode()
        with pytest.raises(UpstreamBadPayload):
            parse_recent(raw, "p")


def recording_client(
    handler: Callable[[httpx.Request], httpx.Response],
    budget: RequestBudget,
    sleeps: SleepRecorder,
    random: Callable[[], float] = lambda: 1.0,
) -> tuple[UpstreamClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    http = httpx.Client(transport=httpx.MockTransport(record))
    client = UpstreamClient(
        base_url="https://upstream.test/api",
        http=http,
        budget=budget,
        sleep=sleeps,
        random=random,
    )
    return client, seen


def overall_ok(request: httpx.Request) -> httpx.Response:
    name = request.url.path.split("/")[3]
    return httpx.Response(
        200, content=body([row()], package=name), headers={"Content-Type": "application/json"}
    )


def test_names_are_validated_canonicalised_and_quoted_before_any_request(
    budget_factory: Callable[..., RequestBudget], sleeps: SleepRecorder
) -> None:
    client, seen = recording_client(overall_ok, budget_factory(), sleeps)
    for bad in ("foo/bar", "../etc", "a b", "x\n", "-lead", "", "a" * 129, "ü"):
        with pytest.raises(InvalidPackageName):
            client.series("overall", bad)
    assert seen == []
    assert client.series("overall", "Zope.Interface").package == "zope-interface"
    assert client.series("overall", "__all__").package == "__all__"
    assert [r.url.raw_path for r in seen] == [
        b"/api/packages/zope-interface/overall",
        b"/api/packages/__all__/overall",
    ]
    request = seen[0]
    assert (
        request.headers["user-agent"]
        == f"pypistats-site/{pypistats_site.__version__} (+http://127.0.0.1:8000)"
    )


def test_retries_5xx_with_full_jitter_then_succeeds(
    budget_factory: Callable[..., RequestBudget], sleeps: SleepRecorder, settings: Settings
) -> None:
    settings.UPSTREAM_BACKOFF_BASE = 2.0
    statuses = iter([503, 500, 200])

    def flaky(request: httpx.Request) -> httpx.Response:
        status = next(statuses)
        return overall_ok(request) if status == 200 else httpx.Response(status, text=str(status))

    draws = iter([0.25, 0.625])
    client, seen = recording_client(flaky, budget_factory(), sleeps, random=lambda: next(draws))
    assert client.series("overall", "demo-pkg").rows
    assert len(seen) == 3 and client.calls == 3
    # Full jitter: each delay is random() times the ceiling base * 2^(attempt-1), so
    # 0.25 * 2 and 0.625 * 4 (not the ceilings 2 and 4, not base-only 2 and 2).
    assert sleeps.delays == [0.5, 2.5]


def test_gives_up_after_max_tries(
    budget_factory: Callable[..., RequestBudget], sleeps: SleepRecorder, settings: Settings
) -> None:
    settings.UPSTREAM_MAX_TRIES = 3
    client, seen = recording_client(lambda r: httpx.Response(502), budget_factory(), sleeps)
    with pytest.raises(UpstreamFailure, match="HTTP 502"):
        client.series("overall", "demo-pkg")
    assert len(seen) == 3


def test_timeouts_and_transport_errors_are_retried(
    budget_factory: Callable[..., RequestBudget], sleeps: SleepRecorder
) -> None:
    errors = iter([httpx.ReadTimeout("slow"), httpx.ConnectError("refused")])

    def failing(request: httpx.Request) -> httpx.Response:
        error = next(errors, None)
        if error:
            raise error
        return overall_ok(request)

    client, seen = recording_client(failing, budget_factory(), sleeps)
    assert client.series("overall", "demo-pkg").rows
    assert len(seen) == 3


def test_429_honours_retry_after_and_pauses_every_endpoint(
    budget_factory: Callable[..., RequestBudget], sleeps: SleepRecorder, settings: Settings
) -> None:
    settings.UPSTREAM_PAUSE_AFTER_429 = 30.0
    statuses = iter([429, 200])

    def throttled(request: httpx.Request) -> httpx.Response:
        if next(statuses) == 429:
            return httpx.Response(429, headers={"Retry-After": "120"}, text="429")
        return overall_ok(request)

    budget = budget_factory()
    client, seen = recording_client(throttled, budget, sleeps)
    with time_machine.travel(1_800_000_000, tick=False):
        assert client.series("overall", "demo-pkg").rows
        # The pause is shared: any endpoint, any process, waits it out.
        assert budget.paused_for() == 120
        assert budget.reserve("system") == 120
    # The retry waited for Retry-After (120 s, longer than our own 30 s pause), once.
    assert sleeps.delays == [120] and len(seen) == 2


def test_429_within_a_task_gives_the_worker_back(
    budget_factory: Callable[..., RequestBudget], sleeps: SleepRecorder, settings: Settings
) -> None:
    settings.UPSTREAM_PAUSE_AFTER_429 = 60.0
    client, seen = recording_client(lambda r: httpx.Response(429), budget_factory(), sleeps)
    client.max_wait = 30.0
    with pytest.raises(UpstreamRateLimited) as caught:
        client.series("overall", "demo-pkg")
    assert len(seen) == 1 and sleeps.delays == []
    assert caught.value.retry_after is not None and caught.value.retry_after >= 60


def test_404_redirects_and_wrong_content_types(
    budget_factory: Callable[..., RequestBudget], sleeps: SleepRecorder
) -> None:
    cases: list[tuple[httpx.Response, type[Exception]]] = [
        (httpx.Response(404, text="404"), UpstreamNotFound),
        (httpx.Response(301, headers={"Location": "https://evil.test/"}), UpstreamBadPayload),
        (
            httpx.Response(200, text="<html>", headers={"Content-Type": "text/html"}),
            UpstreamBadPayload,
        ),
        (httpx.Response(403, text="403"), UpstreamBadPayload),
    ]
    for response, error in cases:

        def answer(request: httpx.Request, response: httpx.Response = response) -> httpx.Response:
            return response

        client, seen = recording_client(answer, budget_factory(), sleeps)
        with pytest.raises(error):
            client.series("overall", "demo-pkg")
        assert len(seen) == 1  # none of these is retried (and redirects are never followed)


def test_against_the_demo_upstream(
    demo: DemoUpstream, client_for: Callable[..., UpstreamClient]
) -> None:
    client = client_for(demo)
    for endpoint in upstream.SERIES_ENDPOINTS:
        assert client.series(endpoint, "Django").package == "django"
    assert client.recent("django").last_month > 0
    with pytest.raises(UpstreamNotFound):
        client.series("overall", "nosuchpkg")
    assert client.series("system", "nosuchpkg").rows == []
    demo.set_faults(truncate=True)
    with pytest.raises(UpstreamFailure, match="transport"):
        client.series("overall", "django")


def test_retry_after_parsing() -> None:
    assert upstream.parse_retry_after("7") == 7.0
    assert upstream.parse_retry_after("999999") == 3600.0
    assert upstream.parse_retry_after("soon") is None
    assert upstream.parse_retry_after(None) is None
    assert upstream.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0


# What each refusal says (it is what a refresh records as the package's last error), written
# out by hand from the payloads above.
BAD_SERIES_MESSAGES = {
    "a list": "overall: the document is not an object",
    "extra key": "overall: unexpected keys ['data', 'package', 'type', 'x']",
    "wrong type": "overall: type is 'system_downloads', expected 'overall_downloads'",
    "wrong package": "overall: package is 'other', expected 'demo-pkg'",
    "data not a list": "overall: data is not a list",
    "row not an object": "overall: row 0 is not a 3-key object",
    "missing downloads": "overall: row 0 has no 'downloads'",
    "bool downloads": "overall: row 0: downloads True is not a count",
    "negative downloads": "overall: row 0: downloads -1 is not a count",
    "float downloads": "overall: row 0: downloads 1.5 is not a count",
    "string downloads": "overall: row 0: downloads '5' is not a count",
    "huge downloads": f"overall: row 0: downloads {2**63} is not a count",
    "bad date": "overall: row 0: '2026-13-01' is not a date",
    "date with time": "overall: row 0: date '2026-11-23T00:00:00' is not YYYY-MM-DD",
    "short date": "overall: row 0: date '2026-1-1' is not YYYY-MM-DD",
    "date not a string": "overall: row 0: date is not a string",
    "unknown overall category": "overall: row 0: unexpected category 'mirrors'",
    "null category": "overall: row 0: category is not a string",
    "duplicate row": "overall: row 1: duplicate with_mirrors 2026-11-23",
}


@pytest.mark.parametrize(
    ("raw", "message"),
    [(BAD_SERIES[case], message) for case, message in BAD_SERIES_MESSAGES.items()],
    ids=list(BAD_SERIES_MESSAGES),
)
def test_a_bad_series_payload_says_what_is_wrong(raw: bytes, message: str) -> None:
    with pytest.raises(UpstreamBadPayload) as caught:
        parse_series("overall", raw, "demo-pkg")
    assert str(caught.value) == message


def test_invalid_json_says_so_with_the_parsers_reason() -> None:
    with pytest.raises(UpstreamBadPayload, match=r"^overall: invalid JSON \(.+\)$"):
        parse_series("overall", b"{nope", "demo-pkg")


def test_a_bad_recent_payload_says_what_is_wrong() -> None:
    def recent(data: object) -> bytes:
        return json.dumps({"data": data, "package": "p", "type": "recent_downloads"}).encode()

    cases = {
        recent(
            {"last_day": 1, "last_week": 2}
        ): "recent: data is not {last_day, last_week, last_month}",
        recent([]): "recent: data is not {last_day, last_week, last_month}",
        recent(
            {"last_day": 1, "last_week": -2, "last_month": 3}
        ): "recent: last_week -2 is not a count",
        body({}, package="p"): "recent: type is 'overall_downloads', expected 'recent_downloads'",
    }
    for raw, message in cases.items():
        with pytest.raises(UpstreamBadPayload) as caught:
            parse_recent(raw, "p")
        assert str(caught.value) == message


def test_a_rate_limited_error_carries_its_retry_after() -> None:
    assert UpstreamRateLimited("overall: 429", retry_after=42.5).retry_after == 42.5
    assert UpstreamRateLimited("overall: 429").retry_after is None
    assert str(UpstreamRateLimited("overall: 429", retry_after=1.0)) == "overall: 429"


def test_the_last_429_raises_with_the_pause_it_set(
    budget_factory: Callable[..., RequestBudget], sleeps: SleepRecorder, settings: Settings
) -> None:
    settings.UPSTREAM_PAUSE_AFTER_429 = 30.0
    throttled = lambda r: httpx.Response(429, headers={"Retry-After": "120"})  # noqa: E731
    client, seen = recording_client(throttled, budget_factory(), sleeps)
    client.max_tries = 1
    with pytest.raises(UpstreamRateLimited, match="^overall: 429$") as caught:
        client.series("overall", "demo-pkg")
    assert caught.value.retry_after == 120.0 and len(seen) == 1


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        # An HTTP date names its zone; "-0000" (no zone known) is read as UTC.
        ("Mon, 30 Nov 2026 05:00:30 GMT", 30.0),
        ("Mon, 30 Nov 2026 05:00:30 -0000", 30.0),
        ("Mon, 30 Nov 2026 06:01:00 +0100", 60.0),
        ("Sun, 29 Nov 2026 23:02:00 -0600", 120.0),
        ("Mon, 30 Nov 2026 04:00:00 GMT", 0.0),  # in the past: now
    ],
)
def test_retry_after_as_an_http_date_in_any_zone(
    header: str, seconds: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A local zone far from UTC, so that a date read in local time would be off by hours.
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        now = dt.datetime(2026, 11, 30, 5, 0, tzinfo=dt.UTC).timestamp()
        assert upstream.parse_retry_after(header, now=now) == seconds
        # Without `now`, the clock's time.
        with time_machine.travel(now, tick=False):
            assert upstream.parse_retry_after(header) == seconds
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_recent_payload_is_parsed_whole() -> None:
    raw = json.dumps(
        {
            "data": {"last_day": 11, "last_week": 222, "last_month": 3333},
            "package": "demo-pkg",
            "type": "recent_downloads",
        }
    ).encode()
    assert parse_recent(raw, "demo-pkg") == upstream.RecentPayload(
        package="demo-pkg", last_day=11, last_week=222, last_month=3333
    )


def test_a_recent_document_that_is_not_an_object_says_so() -> None:
    with pytest.raises(UpstreamBadPayload, match=r"^recent: the document is not an object$"):
        parse_recent(b"[]", "p")
    with pytest.raises(UpstreamBadPayload, match=r"^recent: invalid JSON \("):
        parse_recent(b"{", "p")


def test_the_client_closes_only_the_http_client_it_made(
    budget_factory: Callable[..., RequestBudget],
) -> None:
    given = httpx.Client(transport=httpx.MockTransport(overall_ok))
    with UpstreamClient(base_url="http://upstream.test/api", http=given, budget=budget_factory()):
        pass
    assert not given.is_closed  # the caller's to close
    given.close()
    with UpstreamClient(base_url="http://upstream.test/api", budget=budget_factory()) as own:
        assert own.http is not None and not own.http.is_closed
    assert own.http.is_closed


def test_counts_run_from_zero_to_the_largest_signed_64_bit_integer() -> None:
    for downloads in (0, 2**63 - 1):
        payload = parse_series("overall", body([row(downloads=downloads)]), "demo-pkg")
        assert [n for _, _, n in payload.rows] == [downloads]


def test_unreachable_is_read_back_from_the_recorded_message() -> None:
    assert upstream.is_unreachable("overall: timeout (ReadTimeout)")
    assert upstream.is_unreachable("system: transport error (ConnectError: refused)")
    assert not upstream.is_unreachable("overall: HTTP 503")
    assert not upstream.is_unreachable("overall: 429")
    assert not upstream.is_unreachable("")


# --- What the client raises and logs, exactly (mutation survivors) ----------------------------


def one_try(
    handler: Callable[[httpx.Request], httpx.Response],
    budget_factory: Callable[..., RequestBudget],
    sleeps: SleepRecorder,
) -> tuple[UpstreamClient, list[httpx.Request]]:
    client, seen = recording_client(handler, budget_factory(), sleeps)
    client.max_tries = 1
    return client, seen


def test_the_last_error_of_each_kind_says_what_happened(
    budget_factory: Callable[..., RequestBudget], sleeps: SleepRecorder
) -> None:
    def raising(error: Exception) -> Callable[[httpx.Request], httpx.Response]:
        def handler(request: httpx.Request) -> httpx.Response:
            raise error

        return handler

    cases: list[tuple[Callable[[httpx.Request], httpx.Response], type[Exception], str]] = [
        (raising(httpx.ReadTimeout("slow")), UpstreamFailure, "overall: timeout (ReadTimeout)"),
        (
            raising(httpx.ConnectError("refused")),
            UpstreamFailure,
            "overall: transport error (ConnectError: refused)",
        ),
        (lambda r: httpx.Response(503), UpstreamFailure, "overall: HTTP 503"),
        (lambda r: httpx.Response(404), UpstreamNotFound, "overall: 404 for demo-pkg"),
        (lambda r: httpx.Response(302), UpstreamBadPayload, "overall: unexpected HTTP 302"),
        (
            lambda r: httpx.Response(200, content=b"{}"),
            UpstreamBadPayload,
            "overall: content type ''",
        ),
        (
            lambda r: httpx.Response(200, text="<p>", headers={"Content-Type": "text/html"}),
            UpstreamBadPayload,
            "overall: content type 'text/html'",
        ),
    ]
    for handler, kind, message in cases:
        client, _ = one_try(handler, budget_factory, sleeps)
        with pytest.raises(kind) as caught:
            client.series("overall", "Demo_Pkg")
        assert type(caught.value) is kind and str(caught.value) == message


def test_json_with_parameters_is_json(
    budget_factory: Callable[..., RequestBudget], sleeps: SleepRecorder
) -> None:
    def charset(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            content=body([row()]),
            headers={"Content-Type": "Application/JSON ; charset=utf-8"},
        )

    client, _ = one_try(charset, budget_factory, sleeps)
    payload = client.series("overall", "demo-pkg")
    assert payload == upstream.SeriesPayload(
        "overall", "demo-pkg", [("with_mirrors", dt.date(2026, 11, 23), 5)]
    )


def test_an_endpoint_that_is_not_a_series_is_refused_by_name(
    budget_factory: Callable[..., RequestBudget], sleeps: SleepRecorder
) -> None:
    client, seen = one_try(overall_ok, budget_factory, sleeps)
    with pytest.raises(ValueError, match="^recent$"):
        client.series("recent", "demo-pkg")
    assert seen == []


def test_a_task_bound_client_gives_back_a_budget_that_has_no_slot_in_time(
    budget_factory: Callable[..., RequestBudget], sleeps: SleepRecorder
) -> None:
    budget = budget_factory([(1, 60.0)])
    client, seen = recording_client(overall_ok, budget, sleeps)
    client.max_wait = 5.0
    with time_machine.travel(1_800_000_000, tick=False):
        assert client.series("overall", "demo-pkg").rows
        with pytest.raises(UpstreamRateLimited) as caught:
            client.series("overall", "demo-pkg")
    # The next slot is the period and the budget's 0.25 s margin away; nothing was sent.
    assert str(caught.value) == "overall: the request budget has no slot for 60 s"
    assert caught.value.retry_after == 60.25
    assert len(seen) == 1 and sleeps.delays == []


def test_a_short_429_pause_from_settings_is_kept_short(
    budget_factory: Callable[..., RequestBudget], sleeps: SleepRecorder, settings: Settings
) -> None:
    settings.UPSTREAM_PAUSE_AFTER_429 = 0.5
    budget = budget_factory()
    client, _ = one_try(lambda r: httpx.Response(429), lambda *a, **k: budget, sleeps)
    with time_machine.travel(1_800_000_000, tick=False):
        with pytest.raises(UpstreamRateLimited):
            client.series("overall", "demo-pkg")
        assert budget.paused_for() == 0.5


def test_the_log_names_the_host_the_package_and_the_wait(
    budget_factory: Callable[..., RequestBudget],
    sleeps: SleepRecorder,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.UPSTREAM_PAUSE_AFTER_429 = 30.0
    settings.UPSTREAM_BACKOFF_BASE = 3.0  # the first retry waits random() x 3 s = 1.5 s
    statuses = iter([503, 429, 200])

    def flaky(request: httpx.Request) -> httpx.Response:
        status = next(statuses)
        if status == 200:
            return httpx.Response(
                200,
                content=body([row("3.16")], type_="python_minor_downloads"),
                headers={"Content-Type": "application/json"},
            )
        return httpx.Response(status)

    client, _ = recording_client(flaky, budget_factory(), sleeps, random=lambda: 0.5)
    client.max_tries = 3
    with time_machine.travel(1_800_000_000, tick=False), caplog.at_level(logging.INFO):
        payload = client.series("python_minor", "demo-pkg")
    assert payload.endpoint == "python_minor" and payload.package == "demo-pkg"
    assert [r.getMessage() for r in caplog.records if r.name == upstream.__name__] == [
        "upstream upstream.test: python_minor: HTTP 503; retry 1 in 1.5 s",
        "upstream upstream.test answered 429; pausing all calls 30 s",
        "upstream upstream.test: python_minor: 429; retry 2 in 30.0 s",
        "upstream python_minor for demo-pkg has unknown categories ['3.16'] (accepted)",
    ]


def test_a_client_builds_its_own_http_client_and_budget_from_settings(
    settings: Settings, tmp_path: Path
) -> None:
    settings.UPSTREAM_READ_TIMEOUT = 12.0
    settings.UPSTREAM_CONNECT_TIMEOUT = 3.0
    settings.REDIS_URL = ""
    settings.VAR_DIR = tmp_path
    with UpstreamClient(base_url="http://upstream.test:8080/api/") as client:
        assert client.base_url == "http://upstream.test:8080/api"
        assert client.http is not None
        assert client.http.timeout == httpx.Timeout(12.0, connect=3.0)
        assert client.http.follow_redirects is False
        assert client.http.headers["User-Agent"] == upstream.user_agent()
        assert client.http.headers["Accept"] == "application/json"
        assert client.budget is not None and isinstance(client.budget.store, FileStore)
        assert (
            client.budget.store.path
            == FileStore(tmp_path / "upstream", "upstream-budget:upstream.test:8080").path
        )
    given = httpx.Client(follow_redirects=True, transport=httpx.MockTransport(overall_ok))
    with UpstreamClient(base_url="http://upstream.test/api", http=given) as client:
        assert given.follow_redirects is False
        assert given.headers["User-Agent"] == upstream.user_agent()
    given.close()


def test_a_retry_delay_of_exactly_max_wait_is_waited(
    budget_factory: Callable[..., RequestBudget], sleeps: SleepRecorder, settings: Settings
) -> None:
    settings.UPSTREAM_BACKOFF_BASE = 3.0  # first retry: random() 0.5 x 3 s = 1.5 s
    statuses = iter([503, 200])

    def once_down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503) if next(statuses) == 503 else overall_ok(request)

    client, seen = recording_client(once_down, budget_factory(), sleeps, random=lambda: 0.5)
    client.max_wait = 1.5
    assert client.series("overall", "demo-pkg").rows
    assert sleeps.delays == [1.5] and len(seen) == 2
