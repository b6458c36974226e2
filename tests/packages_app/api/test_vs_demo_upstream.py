"""The real `pypistats` client prints the same against our API as against the upstream.

Packages are refreshed from the demo upstream (which answers exactly as pypistats.org
does) into our store; then every client call is made twice, once with
`pypistats.BASE_URL` at the demo upstream and once at our live server, and the printed
outputs must be identical.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pypistats
import pytest
from django.utils import timezone
from pypistats import _cache as pypistats_cache

from packages_app.demo.upstream import DemoUpstream
from packages_app.models import Package
from packages_app.sync import services
from packages_app.sync.upstream import UpstreamClient

PACKAGES = ["django", "requests", "zope.interface"]
CALLS: list[tuple[str, Callable[..., Any], dict[str, Any]]] = [
    ("recent", pypistats.recent, {}),
    ("recent week", pypistats.recent, {"period": "week"}),
    ("overall", pypistats.overall, {}),
    ("overall without mirrors daily", pypistats.overall, {"mirrors": False, "total": "daily"}),
    ("overall monthly", pypistats.overall, {"total": "monthly"}),
    ("python_major", pypistats.python_major, {}),
    ("python_major 3", pypistats.python_major, {"version": 3}),
    ("python_minor", pypistats.python_minor, {}),
    ("python_minor 3.12", pypistats.python_minor, {"version": "3.12"}),
    ("system", pypistats.system, {}),
    ("system linux", pypistats.system, {"os": "linux"}),
]


@pytest.fixture
def demo() -> Iterator[DemoUpstream]:
    with DemoUpstream.running(today=timezone.now().date(), rate_limit=False) as server:
        yield server


@pytest.fixture
def refreshed(
    transactional_db: None, demo: DemoUpstream, client_for: Callable[..., UpstreamClient]
) -> None:
    client = client_for(demo)
    for name in PACKAGES:
        package, _ = services.package_track(name=name)
        result = services.refresh_package(package_id=package.pk, client=client)
        assert result.status == "ok" and not result.error, result.error
    assert Package.objects.filter(latest_date__isnull=False).count() == len(PACKAGES)


def _printed(
    base_url: str,
    cache_dir: Path,
    call: Callable[..., Any],
    name: str,
    kwargs: dict[str, Any],
    fmt: str,
) -> str:
    pypistats.BASE_URL = base_url
    pypistats_cache.CACHE_DIR = cache_dir  # a fresh cache per server: no cross-talk
    return str(call(name, format=fmt, color="no", **kwargs))


@pytest.mark.parametrize("fmt", ["json", "markdown"])
def test_the_client_prints_the_same_against_us_and_the_upstream(
    refreshed: None,
    demo: DemoUpstream,
    live_server: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
) -> None:
    monkeypatch.setattr(pypistats, "BASE_URL", pypistats.BASE_URL)
    monkeypatch.setattr(pypistats_cache, "CACHE_DIR", pypistats_cache.CACHE_DIR)
    # One refresh serves every call: the calls only read.
    for label, call, kwargs in CALLS:
        for name in PACKAGES:
            upstream = _printed(demo.url + "/", tmp_path / "upstream", call, name, kwargs, fmt)
            ours = _printed(live_server.url + "/api/", tmp_path / "ours", call, name, kwargs, fmt)
            assert ours == upstream, f"{label} {name} {fmt}"
            assert "No data found" not in ours, f"{label} {name} {fmt}"
