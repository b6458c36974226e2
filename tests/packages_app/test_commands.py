from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.core.management import CommandError, call_command
from pytest_django import Settings

from packages_app.demo.upstream import DemoUpstream
from packages_app.models import Package, UpstreamState
from tests.stored_points import count

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_track_canonicalises_and_untrack_keeps_history() -> None:
    out, _ = run("track", "Django", "zope.interface", "__all__")
    assert "django: now tracking" in out and "zope-interface: now tracking" in out
    assert set(Package.objects.values_list("name", flat=True)) == {
        "django",
        "zope-interface",
        "__all__",
    }
    out, _ = run("track", "django")
    assert "django: already tracked" in out
    out, _ = run("untrack", "DJANGO")
    assert "django: no longer tracked" in out
    assert Package.objects.get(name="django").tracked is False


def test_track_rejects_an_invalid_name_and_tracks_nothing() -> None:
    with pytest.raises(CommandError, match="not a valid package name: 'foo/bar'"):
        run("track", "requests", "foo/bar")
    assert not Package.objects.exists()
    with pytest.raises(CommandError, match="not a valid package name"):
        run("untrack", "../x")
    with pytest.raises(CommandError, match="not tracked: never-seen"):
        run("untrack", "never-seen")


def test_refresh_named_packages_prints_a_summary(
    upstream_settings: Settings, demo: DemoUpstream
) -> None:
    out, err = run("refresh", "Requests", "httpx")
    points = count()
    assert points > 0
    assert f"2 packages, 10 upstream calls, {points} points written, 0 errors" in out
    assert "refresh" in err  # the tqdm progress bar goes to stderr
    out, _ = run("refresh", "requests", "--no-progress")
    assert "1 packages, 5 upstream calls, 0 points written, 0 errors" in out


def test_refresh_without_names_refreshes_everything_due(
    upstream_settings: Settings, demo: DemoUpstream
) -> None:
    run("track", "flask", "nosuchpkg")
    Package.objects.create(name="paused-pkg", paused=True)
    out, _ = run("refresh", "--no-progress")
    assert "2 packages, 6 upstream calls" in out
    assert "not on PyPI Stats: nosuchpkg" in out
    assert Package.objects.get(name="flask").upstream_state == UpstreamState.OK
    out, _ = run("refresh", "--no-progress")
    assert out.strip().endswith("0 packages, 0 upstream calls, 0 points written, 0 errors")


def test_refresh_reports_errors_and_exits_non_zero(
    upstream_settings: Settings, demo: DemoUpstream
) -> None:
    demo.set_faults(status=500)
    err = io.StringIO()
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 of 1 refreshes failed"):
        call_command("refresh", "django", "--no-progress", stdout=out, stderr=err)
    assert "error: django: UpstreamFailure: overall: HTTP 500" in err.getvalue()
    assert "1 packages, 1 upstream calls, 0 points written, 1 errors" in out.getvalue()
    with pytest.raises(CommandError, match="not a valid package name"):
        run("refresh", "bad name")


# `manage.py demo_upstream` as a process: serially (make test).
@pytest.mark.stack
def test_demo_upstream_command_serves_until_interrupted() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "demo_upstream",
            "--port",
            "0",
            "--dataset",
            "golden",
            "--today",
            "2026-11-24",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.split(" on ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/api")
        response = httpx.get(f"{url}/packages/demo-pkg/recent")
        assert (
            response.content
            == b'{"data":{"last_day":100,"last_month":167,"last_week":160},"package":"demo-pkg","type":"recent_downloads"}\n'
        )
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
    assert process.returncode == 0


def test_demo_upstream_command_needs_a_port() -> None:
    with pytest.raises(CommandError):
        call_command("demo_upstream")


def test_demo_module_is_importable_for_other_tests() -> None:
    with DemoUpstream.running(today=None, dataset="synthetic") as demo:
        assert httpx.get(f"{demo.url}/packages/django/overall").status_code == 200


@pytest.mark.stack
def test_bin_demo_setup_tracks_refreshes_and_prints_a_login(tmp_path: Path) -> None:
    """`make demo` up to the point where it hands over to honcho (same code path)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        {
            "VAR_DIR": str(tmp_path),
            "DEMO_PORT": "0",
            # Below the demo upstream's own 5/s and 30/min per endpoint (it answers
            # 429 past them), yet fast enough for a test.
            "UPSTREAM_RATE_PER_SECOND": "4",
            "UPSTREAM_RATE_PER_MINUTE": "25",
        }
    )
    done = subprocess.run(
        [sys.executable, "bin/demo.py", "--setup-only"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "6 packages, 30 upstream calls" in done.stdout
    assert "0 errors" in done.stdout
    login = next(line for line in done.stdout.splitlines() if line.startswith("Demo login"))
    password = login.rsplit(" / ", 1)[1]
    assert len(password) >= 12
    assert "Demo upstream stopped." in done.stdout
    # Its own state, in demo/ under VAR_DIR: `make run`'s database is never touched (issue #13).
    assert (tmp_path / "demo" / "db.sqlite3").exists()
    assert not (tmp_path / "db.sqlite3").exists()
