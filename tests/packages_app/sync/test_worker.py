"""A real Celery worker (prefork, PostgreSQL, Redis) against the demo upstream."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from packages_app.demo.upstream import DemoUpstream
from packages_app.models import Package, RecentDownloads, RefreshRun, UpstreamState
from packages_app.sync import services, tasks
from tests.stored_points import count

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[3]


def wait_for(
    condition: Callable[[], object], timeout: float = 90.0, what: str = "condition"
) -> Any:
    """Poll `condition` until it returns something truthy (returned), or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Workers:
    """Starts `celery worker` subprocesses on the test database; kills them all at teardown.

    They consume a queue of this test's own and keep their cache keys under the test
    run's prefix, so a `make run` on the same Redis database neither receives these tasks
    nor sees their locks; nothing here flushes that database.
    """

    def __init__(self, demo: DemoUpstream, log_dir: Path) -> None:
        self.demo = demo
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen[bytes]] = []
        self.queue = f"pss-test-{secrets.token_hex(6)}"
        self.redis = redis.Redis.from_url(os.environ["REDIS_URL"])

    def start(self, **extra_env: str) -> subprocess.Popen[bytes]:
        db = settings.DATABASES["default"]
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "REDIS_URL": os.environ["REDIS_URL"],
            "CELERY_QUEUE": self.queue,
            "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
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

    def send(self, task: Any, *args: object) -> Any:
        return task.apply_async(args=args, queue=self.queue)

    def unacked(self) -> dict[bytes | str, float]:
        """Our messages a worker took and has not acknowledged: delivery tag -> taken at."""
        ours: dict[bytes | str, float] = {}
        for tag, raw in self.redis.hgetall("unacked").items():
            _, _, routing_key = json.loads(raw)
            if routing_key == self.queue:
                ours[tag] = self.redis.zscore("unacked_index", tag) or 0.0
        return ours

    def idle(self) -> bool:
        """Nothing of ours waits in the queue or in a worker's hands."""
        return not self.redis.llen(self.queue) and not self.unacked()

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill(process)
        # Leave nothing of ours in the shared database: the queue, its bindings (the
        # default exchange is named after the queue), our unacked messages.
        self.redis.delete(
            self.queue,
            f"_kombu.binding.{self.queue}",
            f"_kombu.binding_permanent.{self.queue}",
        )
        for tag in self.unacked():
            self.redis.hdel("unacked", tag)
            self.redis.zrem("unacked_index", tag)


@pytest.fixture
def workers(demo: DemoUpstream, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(demo, tmp_path)
    yield pool
    pool.stop_all()


@contextlib.contextmanager
def table_locked(table: str) -> Iterator[psycopg.Connection[Any]]:
    """Hold an ACCESS EXCLUSIVE lock on `table` from a connection of our own: a refresh
    reaching that table waits there, inside its write transaction."""
    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"]
    ) as blocker:
        blocker.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        yield blocker
        blocker.rollback()


def writer_waiting_after_writing_months(blocker: psycopg.Connection[Any]) -> int | None:
    """The backend (pid) of a refresh that has written months in its open transaction and
    now waits for the recent row's table, if there is one."""
    # Statistics views are a snapshot per transaction, and this connection holds one open.
    blocker.execute("SELECT pg_stat_clear_snapshot()")
    row = blocker.execute(
        """
        SELECT a.pid FROM pg_stat_activity a
        WHERE a.datname = current_database() AND a.wait_event_type = 'Lock'
          AND a.query LIKE '%%packages_app_recentdownloads%%'
          AND EXISTS (
            SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
            WHERE l.pid = a.pid AND l.granted AND l.mode = 'RowExclusiveLock'
              AND c.relname = 'packages_app_downloadmonth')
        """
    ).fetchone()
    return None if row is None else int(row[0])


def backend_alive(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone() is not None


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
    workers.send(tasks.sweep_new_and_failed_packages)

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


def runs_of(package: Package) -> list[tuple[str, str]]:
    return sorted(RefreshRun.objects.filter(package=package).values_list("status", "error"))


INTERRUPTED = ("failed", "interrupted (worker lost or time limit); redelivered")


def test_a_worker_killed_inside_the_write_commits_nothing_and_the_redelivery_finishes_once(
    workers: Workers, demo: DemoUpstream
) -> None:
    package, _ = services.package_track(name="numpy")
    first = workers.start()
    with table_locked("packages_app_recentdownloads") as blocker:
        workers.send(tasks.refresh_package, package.pk)
        # The refresh has fetched everything and written its months, uncommitted, and
        # waits for the recent row: kill the whole worker there.
        pid = wait_for(
            lambda: writer_waiting_after_writing_months(blocker),
            timeout=30,
            what="the write under way",
        )
        workers.kill(first)
    # The lock is gone: the dead worker's backend finds its client gone and rolls back.
    wait_for(lambda: not backend_alive(pid), what="the dead worker's connection to close")
    package.refresh_from_db()
    assert package.upstream_state == UpstreamState.NEW
    assert (package.data_version, package.latest_date) == (0, None)
    assert not count(package)
    assert not RecentDownloads.objects.filter(package=package).exists()
    assert runs_of(package) == [("running", "")]
    calls_before_redelivery = len(demo.requests)
    # kombu restores an unacknowledged message when a worker starts (then only every few
    # minutes): start the new one once ours is older than its visibility timeout.
    visibility = 2
    wait_for(
        lambda: (
            all(time.time() - taken > visibility + 0.5 for taken in workers.unacked().values())
            and workers.unacked()
        ),
        what="the message to outlive the visibility timeout",
    )
    workers.start(CELERY_VISIBILITY_TIMEOUT=str(visibility))

    def refreshed() -> bool:
        package.refresh_from_db()
        return package.upstream_state == UpstreamState.OK

    wait_for(refreshed, what="the redelivered refresh")
    wait_for(workers.idle, what="the redelivered message to be acknowledged")
    # Exactly once: one more round of upstream calls, one successful write.
    assert len(demo.requests) - calls_before_redelivery == 5
    assert count(package) == served_count(demo, "numpy")
    assert package.data_version == 1
    assert runs_of(package) == [INTERRUPTED, ("ok", "")]


def test_a_pool_process_killed_mid_refresh_is_rejected_and_redelivered(
    workers: Workers, demo: DemoUpstream
) -> None:
    """Only the pool child dies: reject_on_worker_lost requeues at once (no visibility wait)."""
    package, _ = services.package_track(name="pandas")
    demo.set_faults(delay=1.5)
    parent = workers.start()
    workers.send(tasks.refresh_package, package.pk)
    wait_for(lambda: len(demo.requests) >= 2, what="the refresh to be under way")
    children = subprocess.run(
        ["pgrep", "-P", str(parent.pid)], capture_output=True, text=True
    ).stdout.split()
    assert children, "no pool process found"
    calls_before_redelivery = len(demo.requests)
    demo.clear_faults()
    for child in children:
        os.kill(int(child), signal.SIGKILL)

    def refreshed() -> bool:
        package.refresh_from_db()
        return package.upstream_state == UpstreamState.OK

    wait_for(refreshed, what="the requeued refresh")
    wait_for(workers.idle, what="the requeued message to be acknowledged")
    # It ran again, from the start, once: its own five calls (the killed child may have
    # had one more in flight), one successful write, the killed run marked interrupted.
    assert len(demo.requests) - calls_before_redelivery in (5, 6)
    assert count(package) == served_count(demo, "pandas")
    assert package.data_version == 1
    assert runs_of(package) == [INTERRUPTED, ("ok", "")]
    assert parent.poll() is None  # the worker itself lived on


def _past_visibility(workers: Workers, seconds: float) -> Callable[[], bool]:
    """True once every message of ours a worker took unacknowledged is older than `seconds`
    (kombu's Redis transport indexes them by delivery time in `unacked_index`)."""

    def past() -> bool:
        taken = workers.unacked().values()
        return bool(taken) and max(taken) < time.time() - seconds

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
    sent = workers.send(tasks.refresh_package, package.pk)
    wait_for(lambda: len(demo.requests) >= 1, what="the first run to be under way")
    # kombu looks for expired messages when a worker starts: start the second once the
    # message is past the timeout, so that its start-up scan hands it the copy.
    wait_for(_past_visibility(workers, 3.5), what="the message to pass the visibility timeout")
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
