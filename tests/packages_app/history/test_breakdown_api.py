"""`/api/ext/packages/<name>/{versions,installers,countries}` (issue #16, item 5): the
breakdowns as JSON in the compatible API's style, documented in /api/openapi.yml, fuzzed
with schemathesis against the live app on the ClickHouse stand-in."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator

import orjson
import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client
from pytest_django import Settings
from schemathesis import GenerationMode

from packages_app.api import fastpath as api_fastpath
from packages_app.demo.clickhouse import DemoClickHouse
from packages_app.demo.clickhouse_data import model
from tests.packages_app.api import wsgi_live
from tests.packages_app.api.test_clients import CHECKS, fuzz
from tests.packages_app.demo.clickhouse_support import LATEST
from tests.packages_app.history.test_breakdowns import expected

pytestmark = pytest.mark.django_db
ONE_DAY = dt.timedelta(days=1)


def test_installers_json_matches_the_model(ch_settings: Settings, client: Client) -> None:
    start = LATEST - 13 * ONE_DAY
    response = client.get(
        f"/api/ext/packages/SQLAlchemy/installers?start_date={start}&end_date={LATEST}"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["ETag"] and "max-age" in response["Cache-Control"]
    body = response.content
    assert body.endswith(b"}\n") and b": " not in body  # compact, one trailing newline
    answer = orjson.loads(body)
    assert answer["package"] == "sqlalchemy" and answer["type"] == "installers_downloads"
    assert list(answer) == sorted(answer)
    rows = answer["data"]
    assert rows == sorted(rows, key=lambda r: (r["category"].casefold(), r["date"]))
    model_days = expected("sqlalchemy", start, LATEST)
    for day, installers in zip(model_days.days, model_days.installers, strict=True):
        uv = next(r for r in rows if r["category"] == "uv" and r["date"] == day.isoformat())
        assert uv["downloads"] == installers["uv"]
    assert {r["category"] for r in rows} <= {
        "pip",
        "uv",
        "poetry",
        "pdm",
        "pipenv",
        "conda",
        "other",
    }


def test_countries_json_with_names_and_the_default_window(
    ch_settings: Settings, client: Client
) -> None:
    answer = orjson.loads(client.get("/api/ext/packages/httpx/countries?top=3").content)
    dates = sorted({r["date"] for r in answer["data"]})
    assert dates[0] == (LATEST - 180 * ONE_DAY).isoformat() and dates[-1] == LATEST.isoformat()
    categories = {r["category"] for r in answer["data"]}
    assert len(categories - {"other"}) == 3
    assert answer["names"] == {
        code: model.COUNTRY_NAMES[code] for code in categories - {"other", "null"}
    }
    last = expected("httpx", LATEST, LATEST).countries[0]
    us = next(r for r in answer["data"] if r["category"] == "US" and r["date"] == str(LATEST))
    assert us["downloads"] == last["US"]


def test_versions_json_grouped(ch_settings: Settings, client: Client) -> None:
    answer = orjson.loads(
        client.get(f"/api/ext/packages/httpx/versions?grouping=minor&start_date={LATEST}").content
    )
    whole: Counter[str] = Counter()
    for version, n in expected("httpx", LATEST, LATEST).versions[0].items():
        whole[".".join(version.split(".")[:2]) + ".*"] += n
    assert {r["category"]: r["downloads"] for r in answer["data"]} == dict(whole)


def test_conditional_get_and_errors(
    ch_settings: Settings, ch: DemoClickHouse, client: Client
) -> None:
    first = client.get("/api/ext/packages/httpx/installers")
    again = client.get(
        "/api/ext/packages/httpx/installers", headers={"If-None-Match": first["ETag"]}
    )
    assert again.status_code == 304 and again.content == b""
    for url, status in [
        ("/api/ext/packages/httpx/versions?grouping=patch", 400),
        ("/api/ext/packages/httpx/countries?top=0", 400),
        ("/api/ext/packages/httpx/countries?top=21", 400),
        ("/api/ext/packages/httpx/installers?start_date=2026-13-01", 400),
        (f"/api/ext/packages/httpx/installers?start_date={LATEST}&end_date=2020-01-01", 400),
        ("/api/ext/packages/never-seen-this/versions", 404),
        ("/api/ext/packages/__all__/versions", 404),
        ("/api/ext/packages/httpx/licences", 404),
    ]:
        response = client.get(url)
        assert (response.status_code, response.content) == (status, str(status).encode()), url
    ch.set_faults(status=503)
    failing = client.get("/api/ext/packages/sqlalchemy/countries?top=5&start_date=2025-01-01")
    assert failing.status_code == 503 and failing["Retry-After"]


def test_off_is_a_404(settings: Settings, client: Client) -> None:
    settings.CLICKHOUSE_URL = ""
    assert client.get("/api/ext/packages/httpx/versions").status_code == 404


def test_rate_limited_like_the_compatible_api(ch_settings: Settings, client: Client) -> None:
    ch_settings.API_RATE_LIMIT_PER_MINUTE = 2
    codes = [client.get("/api/ext/packages/httpx/installers").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


@pytest.fixture
def live_ext(transactional_db: None, ch_settings: Settings) -> Iterator[str]:
    with wsgi_live.serving(api_fastpath.wrap(WSGIHandler())) as url:
        yield url + "/api/"


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_schemathesis_against_the_ext_operations(
    live_ext: str, ch_settings: Settings, mode: GenerationMode
) -> None:
    ch_settings.API_RATE_LIMIT_PER_MINUTE = 0
    schema = schemathesis.openapi.from_url(live_ext + "openapi.yml")
    operations = [
        op
        for op in (result.ok() for result in schema.get_all_operations())  # type: ignore[union-attr]
        if op.path.startswith("/ext/")
    ]
    assert len(operations) == 3
    for operation in operations:
        # The packages the stand-in holds, so a 200 with data is validated too (generated
        # names are mostly unknown: 404).
        for package in ("httpx", "SQLAlchemy"):
            operation.Case(
                path_parameters={"package": package}, query={"start_date": "2025-01-01"}
            ).call_and_validate(base_url=live_ext.rstrip("/"), checks=CHECKS)

        fuzz(operation, live_ext, mode, max_examples=25)
