"""A real Celery worker (prefork, PostgreSQL, Redis) against the demo upstream."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from packages_app.demo.upstream import DemoUpstream
from packages_app.models import Package, RefreshRun, UpstreamState
from packages_app.sync import services, tasks
from tests.stored_points import count

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[3]


def wait_for(condition: Callable[[], bool], timeout: float = 90.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Workers:
    """Starts `celery worker` subprocesses on the test database; kills them all at teardown."""

    def __init__(self, demo: DemoUpstream, log_dir: Path) -> None:
        self.demo = demo
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, **extra_env: str) -> subprocess.Popen[bytes]:
        db = settings.DATABASES["default"]
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "REDIS_URL": os.environ["REDIS_URL"],
            "PYPISTATS_API_URL": self.demo.url,
            "UPSTREAM_RATE_PER_SECOND": "0",
            "UPSTREAM_RATE_PER_MINUTE": "0",
            # A killed worker's refresh lock lapses in 2 s (30 by default): the redelivered
            # copy waits that long before it takes over.
            "REFRESH_LOCK_SECONDS": "2",
            **extra_env,
        }
        log = open(self.log_dir / f"worker-{len(self.processes)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/celery"),
                "-A",
                "pypistats_site",
                "worker",
                "-P",
                "prefork",
                "-c",
                "1",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill parent and pool together
        )
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.kill(process)


@pytest.fixture
def workers(demo: DemoUpstream, tmp_path: Path) -> Iterator[Workers]:
    # This Redis DB is ours alone: start from an empty broker (no stale messages).
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    pool = Workers(demo, tmp_path)
    yield pool
    pool.stop_all()


def served_count(demo: DemoUpstream, name: str) -> int:
    return sum(
        len(demo.series(name, endpoint))
        for endpoint in ("overall", "python_major", "python_minor", "system")
    )


def test_a_worker_processes_a_sweep_end_to_end(workers: Workers, demo: DemoUpstream) -> None:
    names = ["django", "requests", "nosuchpkg"]
    for name in names:
        services.package_track(name=name)
    workers.start()
    tasks.sweep_new_and_failed_packages.delay()

    def settled() -> bool:
        return not Package.objects.filter(upstream_state=UpstreamState.NEW).exists()

    wait_for(settled, what="every package refreshed")
    states = dict(Package.objects.values_list("name", "upstream_state"))
    assert states == {"django": "ok", "requests": "ok", "nosuchpkg": "not_found"}
    for name in ("django", "requests"):
        package = Package.objects.get(name=name)
        assert count(package) == served_count(demo, name)
        assert package.data_version == 1
    assert RefreshRun.objects.filter(status="ok").count() == 2


def test_a_worker_killed_mid_refresh_leaves_data_intact_and_the_task_is_redelivered(
    workers: Workers, demo: DemoUpstream
) -> None:
    package, _ = services.package_track(name="numpy")
    demo.set_faults(delay=1.5)  # every call slow: the refresh takes several seconds
    first = workers.start()
    tasks.refresh_package.delay(package.pk)
    wait_for(lambda: len(demo.requests) >= 2, what="the refresh to be under way")
    workers.kill(first)
    # Killed between upstream calls: nothing of the package changed.
    package.refresh_from_db()
    assert package.upstream_state == UpstreamState.NEW
    assert (package.data_version, package.latest_date) == (0, None)
    assert not count(package)
    assert RefreshRun.objects.get(package=package).status == "running"
    demo.clear_faults()
    calls_before_redelivery = len(demo.requests)
    # A new worker: with a short visibility timeout the unacknowledged message comes back.
    # kombu scans for expired messages when a worker starts and then only every tenth
    # periodic tick (minutes apart), so start it once the message is surely past the
    # 3-second timeout: otherwise its start-up scan can come a moment too early.
    time.sleep(4)
    workers.start(CELERY_VISIBILITY_TIMEOUT="3")

    def refreshed() -> bool:
        package.refresh_from_db()
        return package.upstream_state == UpstreamState.OK

    wait_for(refreshed, what="the redelivered refresh")
    assert len(demo.requests) - calls_before_redelivery == 5
    assert count(package) == served_count(demo, "numpy")
    assert package.data_version == 1
    runs = dict(RefreshRun.objects.filter(package=package).values_list("status", "error"))
    assert set(runs) == {"ok", "failed"}
    assert "interrupted" in runs["failed"]


def test_a_pool_process_killed_mid_refresh_is_rejected_and_redelivered(
    workers: Workers, demo: DemoUpstream
) -> None:
    """Only the pool child dies: reject_on_worker_lost requeues at once (no visibility wait)."""
    package, _ = services.package_track(name="pandas")
    demo.set_faults(delay=1.5)
    parent = workers.start()
    tasks.refresh_package.delay(package.pk)
    wait_for(lambda: len(demo.requests) >= 2, what="the refresh to be under way")
    children = subprocess.run(
        ["pgrep", "-P", str(parent.pid)], capture_output=True, text=True
    ).stdout.split()
    assert children, "no pool process found"
    demo.clear_faults()
    for child in children:
        os.kill(int(child), signal.SIGKILL)

    def refreshed() -> bool:
        package.refresh_from_db()
        return package.upstream_state == UpstreamState.OK

    wait_for(refreshed, what="the requeued refresh")
    assert count(package) == served_count(demo, "pandas")
    assert parent.poll() is None  # the worker itself lived on


def _past_visibility(seconds: float) -> Callable[[], bool]:
    """True once every unacknowledged message in the broker is older than `seconds`
    (kombu's Redis transport indexes them by delivery time in `unacked_index`)."""
    client = redis.Redis.from_url(os.environ["REDIS_URL"])

    def past() -> bool:
        oldest = client.zrange("unacked_index", 0, 0, withscores=True)
        return bool(oldest) and float(oldest[0][1]) < time.time() - seconds

    return past


def test_a_killed_workers_task_comes_back_and_completes_once_never_beside_a_live_run(
    workers: Workers, demo: DemoUpstream
) -> None:
    """Issue #13: the whole worker SIGKILLed mid-refresh leaves its message unacknowledged;
    it comes back after the visibility timeout (3 s here; by default the longest task time
    limit plus a minute). The copy first reaches a second worker while the first run is
    still alive: it waits on the per-package lock instead of running beside it. Once the
    first worker is killed, its lock lapses (nobody renews it) and the copy runs the
    refresh, which completes exactly once."""
    short = {"CELERY_VISIBILITY_TIMEOUT": "3"}
    package, _ = services.package_track(name="scipy")
    demo.set_faults(delay=6)  # every call slow: the first run lasts ~30 s unless killed
    first = workers.start(**short)
    sent = tasks.refresh_package.delay(package.pk)
    wait_for(lambda: len(demo.requests) >= 1, what="the first run to be under way")
    # kombu looks for expired messages when a worker starts: start the second once the
    # message is past the timeout, so that its start-up scan hands it the copy.
    wait_for(_past_visibility(3.5), what="the message to pass the visibility timeout")
    second = workers.start(**short)
    second_log = workers.log_dir / "worker-1.log"
    received = f"Task packages_app.tasks.refresh_package[{sent.id}] received"
    waits = f"refresh task {sent.id} waits for its earlier delivery's lock"

    def copy_waits_or_runs() -> bool:
        return waits in second_log.read_text() or RefreshRun.objects.count() > 1

    wait_for(copy_waits_or_runs, what="the copy to reach the lock at the second worker")
    assert received in second_log.read_text()
    assert first.poll() is None  # the first run is alive: the copy must not start another
    assert list(RefreshRun.objects.filter(package=package).values_list("status", flat=True)) == [
        "running"
    ]
    killed_at = timezone.now()
    workers.kill(first)
    demo.clear_faults()

    def refreshed() -> bool:
        package.refresh_from_db()
        return package.upstream_state == UpstreamState.OK

    wait_for(refreshed, what="the copy's refresh")
    runs = list(RefreshRun.objects.filter(package=package).order_by("started_at"))
    assert [run.status for run in runs] == ["failed", "ok"]
    assert "interrupted" in runs[0].error
    # The copy's run began only after the first worker was gone: never two at once.
    assert runs[1].started_at >= killed_at
    assert count(package) == served_count(demo, "scipy")
    assert package.data_version == 1
    wait_for(lambda: "succeeded" in second_log.read_text(), what="the copy to be acknowledged")
    assert second_log.read_text().count(f"[{sent.id}] succeeded") == 1
    assert second.poll() is None
