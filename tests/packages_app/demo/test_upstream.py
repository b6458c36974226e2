from __future__ import annotations

import datetime as dt
import http.client
import json
from collections.abc import Iterator
from typing import TypedDict
from urllib.parse import urlsplit

import httpx
import pytest

from packages_app.api import wire
from packages_app.demo import data as demo_data
from packages_app.demo.upstream import CORRECTION_DELTA, DemoUpstream
from tests.packages_app.golden import CAPTURED_HOST, GOLDEN_TODAY, Capture, load_captures

CAPTURES = load_captures()


@pytest.fixture(scope="module")
def golden() -> Iterator[DemoUpstream]:
    with DemoUpstream.running(today=GOLDEN_TODAY, dataset="golden", rate_limit=False) as demo:
        yield demo


def raw_get(
    demo: DemoUpstream, path: str, headers: dict[str, str] | None = None
) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection(demo.host, demo.port, timeout=10)
    connection.request("GET", path, headers=headers or {})
    return connection.getresponse()


@pytest.mark.parametrize("capture", CAPTURES, ids=[c.target for c in CAPTURES])
def test_golden_dataset_answers_every_capture_byte_for_byte(
    golden: DemoUpstream, capture: Capture
) -> None:
    host = f"{golden.host}:{golden.port}"
    response = raw_get(golden, capture.target, {"Host": host})
    body = response.read()
    expected_body = capture.body.replace(CAPTURED_HOST.encode(), host.encode())
    assert response.status == capture.status
    assert response.reason.upper() == capture.reason
    assert body == expected_body
    assert response.getheader("Content-Type") == capture.headers["content-type"]
    assert response.getheader("Content-Length") == str(len(expected_body))
    if "location" in capture.headers:
        assert response.getheader("Location") == capture.headers["location"].replace(
            CAPTURED_HOST, host
        )


def test_golden_json_bodies_are_wire_dumps(golden: DemoUpstream) -> None:
    """The captures themselves are what packages_app.api.wire writes: the demo and our API share it."""
    for capture in CAPTURES:
        if capture.headers["content-type"] == wire.CONTENT_TYPE:
            assert wire.dumps(json.loads(capture.body)) == capture.body


def test_recent_is_upstreams_update_recent_stats(golden: DemoUpstream) -> None:
    rows = golden.series("demo-pkg", "overall")
    assert demo_data.recent_from_overall(rows, GOLDEN_TODAY) == {
        "day": 100,
        "week": 160,
        "month": 167,
    }


def test_upstream_rate_limit_is_per_endpoint_fixed_window() -> None:
    with DemoUpstream.running(today=GOLDEN_TODAY, dataset="golden") as demo:
        statuses = [raw_get(demo, "/api/packages/demo-pkg/recent").status for _ in range(7)]
        assert statuses == [200, 200, 200, 200, 200, 429, 429]
        assert [raw_get(demo, "/api/packages/demo-pkg/overall").status for _ in range(2)] == [
            200,
            200,
        ]
        limited = raw_get(demo, "/api/packages/zope-interface/recent")
        assert limited.status == 429
        assert limited.read() == b'<a href="/api/#etiquette">429 RATE LIMIT EXCEEDED</a>'
        assert limited.getheader("Retry-After") is None
        assert limited.getheader("Content-Type") == "text/html; charset=utf-8"


def test_options_head_and_forwarded_proto(golden: DemoUpstream) -> None:
    connection = http.client.HTTPConnection(golden.host, golden.port, timeout=10)
    connection.request("OPTIONS", "/api/packages/demo-pkg/recent", headers={"Origin": "http://x"})
    response = connection.getresponse()
    assert response.status == 200 and response.getheader("Allow") == "HEAD, OPTIONS, GET"
    assert response.read() == b""
    assert response.getheader("Access-Control-Allow-Origin") is None
    connection.request("HEAD", "/api/packages/demo-pkg/recent")
    head = connection.getresponse()
    assert head.status == 200 and head.getheader("Content-Length") == "106" and head.read() == b""
    redirect = raw_get(
        golden, "/api/packages/demo-pkg/recent", {"X-Forwarded-Proto": "http", "Host": "h.example"}
    )
    assert redirect.status == 301
    assert redirect.getheader("Location") == "https://h.example/api/packages/demo-pkg/recent"


# --- synthetic data -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic() -> Iterator[DemoUpstream]:
    with DemoUpstream.running(today=GOLDEN_TODAY, rate_limit=False) as demo:
        yield demo


class Row(TypedDict):
    """One row of a series answer, as the API sends it."""

    category: str
    date: str  # ISO date
    downloads: int


def fetch(demo: DemoUpstream, name: str, endpoint: str) -> list[Row]:
    response = httpx.get(f"{demo.url}/packages/{name}/{endpoint}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    assert response.content == wire.dumps(document)
    rows: list[Row] = document["data"]
    return rows


@pytest.mark.parametrize("name", ["django", "requests", "tiny-lib", "__all__"])
def test_synthetic_series_are_consistent(synthetic: DemoUpstream, name: str) -> None:
    yesterday = GOLDEN_TODAY - dt.timedelta(days=1)
    overall = fetch(synthetic, name, "overall")
    by_day: dict[str, dict[str, int]] = {}
    for row in overall:
        by_day.setdefault(row["date"], {})[row["category"]] = row["downloads"]
    dates = sorted(by_day)
    assert len(dates) == 181
    assert dates[-1] == yesterday.isoformat()
    assert dates[0] == (yesterday - dt.timedelta(days=180)).isoformat()
    for values in by_day.values():
        assert values["with_mirrors"] >= values["without_mirrors"] > 0
    for endpoint in ("python_major", "python_minor", "system"):
        sums: dict[str, int] = {}
        for row in fetch(synthetic, name, endpoint):
            assert row["downloads"] > 0  # zero counts are absent, as upstream's GROUP BY
            sums[row["date"]] = sums.get(row["date"], 0) + row["downloads"]
        assert sums == {d: v["without_mirrors"] for d, v in by_day.items()}, endpoint


def test_synthetic_data_is_realistic_and_deterministic(synthetic: DemoUpstream) -> None:
    rows = fetch(synthetic, "__all__", "overall")
    without = {
        dt.date.fromisoformat(r["date"]): r["downloads"]
        for r in rows
        if r["category"] == "without_mirrors"
    }
    weekday = [v for d, v in without.items() if d.weekday() < 5]
    weekend = [v for d, v in without.items() if d.weekday() >= 5]
    assert sum(weekend) / len(weekend) < 0.95 * sum(weekday) / len(weekday)  # weekend dips
    minor = fetch(synthetic, "__all__", "python_minor")
    categories = {r["category"] for r in minor}
    assert {"2.7", "3.9", "3.12", "3.13", "3.14", "null"} <= categories
    systems = {r["category"] for r in fetch(synthetic, "__all__", "system")}
    assert systems == {"Darwin", "Linux", "Windows", "other", "null"}
    # Same name, same numbers, in another server instance.
    with DemoUpstream.running(today=GOLDEN_TODAY, rate_limit=False) as other:
        assert fetch(other, "__all__", "overall") == rows
    assert fetch(synthetic, "django", "overall") != fetch(synthetic, "flask", "overall")


def test_adoption_curves_move_towards_newer_pythons() -> None:
    early = demo_data.synthetic_series("__all__", dt.date(2024, 1, 1))["python_minor"]
    late = demo_data.synthetic_series("__all__", dt.date(2026, 11, 24))["python_minor"]

    def share(rows: list[demo_data.Row], version: str) -> float:
        total = sum(n for _, _, n in rows)
        return sum(n for c, _, n in rows if c == version) / total

    assert share(early, "3.14") == 0
    assert share(late, "3.14") > 0
    assert share(late, "3.8") < share(early, "3.8")
    assert share(late, "2.7") < share(early, "2.7")


@pytest.mark.parametrize("name", sorted(demo_data.NOT_FOUND_NAMES) + ["Django", "zope--interface"])
def test_not_found_names_404_like_upstream(synthetic: DemoUpstream, name: str) -> None:
    assert httpx.get(f"{synthetic.url}/packages/{name}/overall").status_code == 404
    assert httpx.get(f"{synthetic.url}/packages/{name}/recent").status_code == 404
    empty = httpx.get(f"{synthetic.url}/packages/{name}/system")
    assert empty.status_code == 200 and empty.json()["data"] == []


def test_advance_adds_a_day_drops_the_oldest_and_corrects_one_value() -> None:
    with DemoUpstream.running(today=GOLDEN_TODAY, rate_limit=False) as demo:
        before = {
            (r["category"], r["date"]): r["downloads"] for r in fetch(demo, "django", "overall")
        }
        demo.advance()
        after = {
            (r["category"], r["date"]): r["downloads"] for r in fetch(demo, "django", "overall")
        }
    new_day = GOLDEN_TODAY.isoformat()
    oldest = (GOLDEN_TODAY - dt.timedelta(days=181)).isoformat()
    corrected = (GOLDEN_TODAY + dt.timedelta(days=1) - dt.timedelta(days=3)).isoformat()
    assert ("with_mirrors", new_day) in after and ("with_mirrors", new_day) not in before
    assert ("with_mirrors", oldest) in before and ("with_mirrors", oldest) not in after
    assert (
        after[("with_mirrors", corrected)] == before[("with_mirrors", corrected)] + CORRECTION_DELTA
    )
    changed = {k for k in before.keys() & after.keys() if before[k] != after[k]}
    assert changed == {("with_mirrors", corrected)}


def test_control_endpoint_sets_faults_and_advances() -> None:
    with DemoUpstream.running(today=GOLDEN_TODAY, rate_limit=False) as demo:
        control = f"http://{demo.host}:{demo.port}/_control"
        state = httpx.post(
            control, json={"faults": {"status": 503, "times": 1}, "advance_days": 1}
        ).json()
        assert state["today"] == "2026-11-25" and state["faults"]["status"] == 503
        assert httpx.get(f"{demo.url}/packages/django/overall").status_code == 503
        assert httpx.get(f"{demo.url}/packages/django/overall").status_code == 200
        bad = httpx.post(control, json={"nonsense": 1})
        assert bad.status_code == 400
        assert httpx.get(control).json()["faults"]["times"] == 0
        assert [r.status for r in demo.requests] == [503, 200]


def test_fault_modes_on_the_wire() -> None:
    with DemoUpstream.running(today=GOLDEN_TODAY, rate_limit=False) as demo:
        url = f"{demo.url}/packages/django/overall"
        demo.set_faults(status=429, retry_after="7")
        limited = httpx.get(url)
        assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
        demo.set_faults(malformed=True)
        malformed = httpx.get(url)
        assert malformed.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(malformed.content)
        demo.set_faults(truncate=True)
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(url)
        demo.set_faults(delay=0.5)
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(url, timeout=httpx.Timeout(0.1))
        demo.set_faults(status=500, endpoints=["system"])
        assert httpx.get(url).status_code == 200
        assert httpx.get(f"{demo.url}/packages/django/system").status_code == 500


def test_url_ends_in_api_and_binds_loopback() -> None:
    with DemoUpstream.running() as demo:
        assert demo.url.endswith("/api")
        assert urlsplit(demo.url).hostname == "127.0.0.1"
        assert demo.port != 0


# --- a demo that looks like PyPI (#14 item 8) ----------------------------------------------------

# Real 30-day totals from shared/upstream/samples (recent_pip.json, recent_python-dotenv_wire.json).
SAMPLE_LAST_MONTH = {"pip": 67_759_913, "python-dotenv": 259_462_935}


def _last_month(name: str, today: dt.date = dt.date(2026, 11, 24)) -> int:
    rows = demo_data.synthetic_series(name, today)["overall"]
    return demo_data.recent_from_overall(rows, today)["month"]


def test_demo_packages_rank_as_on_pypi() -> None:
    months = {
        name: _last_month(name)
        for name in ("requests", "boto3", "numpy", "flask", "django", "httpx", "pip")
    }
    # requests is among the most downloaded packages: far above the web frameworks and
    # within a factor of two of boto3, the top one.
    assert months["requests"] > 20 * months["django"]
    assert months["requests"] > 5 * months["flask"]
    assert months["boto3"] / 2 < months["requests"] < months["boto3"]
    assert months["numpy"] > months["httpx"] > months["flask"] > months["django"]
    # The numbers are PyPI-sized: requests near a billion a month, django near 15 million.
    assert 500_000_000 < months["requests"] < 2_000_000_000
    assert 5_000_000 < months["django"] < 40_000_000
    # And every package is a small share of all of PyPI.
    assert months["requests"] < _last_month("__all__") / 20


@pytest.mark.parametrize("name", sorted(SAMPLE_LAST_MONTH))
def test_demo_magnitudes_match_the_real_samples(name: str) -> None:
    assert SAMPLE_LAST_MONTH[name] / 2 < _last_month(name) < SAMPLE_LAST_MONTH[name] * 2


def test_demo_weekend_dips_differ_by_kind_of_package() -> None:
    # CI-driven infrastructure dips little at weekends, a web framework more.
    def weekend_ratio(name: str) -> float:
        rows = demo_data.synthetic_series(name, dt.date(2026, 11, 24))["overall"]
        days = [(d, n) for c, d, n in rows if c == "without_mirrors"]
        weekend = [n for d, n in days if d.weekday() >= 5]
        weekday = [n for d, n in days if d.weekday() < 5]
        return (sum(weekend) / len(weekend)) / (sum(weekday) / len(weekday))

    assert weekend_ratio("requests") > 0.7 > 0.6 > weekend_ratio("django")


def test_unknown_names_keep_their_drawn_size() -> None:
    # Only the listed packages are sized by hand: any other name is still drawn from its seed.
    assert "tiny-lib" not in demo_data.KNOWN_PACKAGES
    assert 20 * 0.5 < _last_month("tiny-lib") / 30 < 2_000_000 * 2
