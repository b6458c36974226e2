"""The request budget, counted where it matters: at the server."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from pytest_django import Settings

from packages_app.demo.upstream import DemoUpstream
from packages_app.sync.budget import (
    BudgetExceeded,
    FileStore,
    RedisStore,
    RequestBudget,
    Rule,
    earliest_slot,
    rules_from_rates,
)
from packages_app.sync.upstream import UpstreamClient

RULES: list[Rule] = [(3, 0.5), (6, 2.0)]


def assert_never_faster(times: list[float], rules: list[Rule]) -> None:
    """No window of `period` seconds saw more than `limit` requests arrive."""
    times = sorted(times)
    for limit, period in rules:
        for first, later in zip(times, times[limit:], strict=False):
            assert later - first >= period, (limit, period, later - first)


def arrivals(demo: DemoUpstream, endpoint: str) -> list[float]:
    return [r.at for r in demo.requests if r.endpoint == endpoint]


def run_clients(
    demo: DemoUpstream, make_budget: Callable[[], RequestBudget], per_thread: int, threads: int
) -> None:
    def work() -> None:
        # Each thread has its own budget object over the shared store, like separate workers.
        with UpstreamClient(base_url=demo.url, budget=make_budget()) as client:
            for index in range(per_thread):
                client.series("overall" if index % 3 else "system", "django")

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()


def test_file_budget_never_sends_faster_than_configured(demo: DemoUpstream, tmp_path: Path) -> None:
    def make() -> RequestBudget:
        return RequestBudget(FileStore(tmp_path, "shared"), RULES)

    run_clients(demo, make, per_thread=4, threads=3)
    assert len(arrivals(demo, "overall")) == 6 and len(arrivals(demo, "system")) == 6
    assert_never_faster(arrivals(demo, "overall"), RULES)
    assert_never_faster(arrivals(demo, "system"), RULES)
    assert all(r.status == 200 for r in demo.requests)


@pytest.mark.redis
def test_redis_budget_never_sends_faster_than_configured(demo: DemoUpstream) -> None:
    url = os.environ["REDIS_URL"]
    prefix = f"test-budget-{os.getpid()}-{time.time_ns()}"

    def make() -> RequestBudget:
        return RequestBudget(RedisStore(url, prefix), RULES)

    run_clients(demo, make, per_thread=4, threads=3)
    assert len(arrivals(demo, "overall")) == 6
    assert_never_faster(arrivals(demo, "overall"), RULES)
    assert_never_faster(arrivals(demo, "system"), RULES)


def _process_worker(url: str, store_dir: str, count: int) -> None:
    budget = RequestBudget(FileStore(Path(store_dir), "processes"), RULES)
    with httpx.Client() as http:
        for _ in range(count):
            time.sleep(budget.reserve("overall"))
            http.get(f"{url}/packages/django/overall")


def test_the_budget_is_shared_by_separate_processes(demo: DemoUpstream, tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_process_worker, args=(demo.url, str(tmp_path), 4)) for _ in range(3)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    times = arrivals(demo, "overall")
    assert len(times) == 12
    assert_never_faster(times, RULES)


def test_default_budget_keeps_below_upstreams_limit(tmp_path: Path) -> None:
    """Upstream's own limiter (5/s, 30/min, fixed windows) never answers 429 to our default budget."""
    rules = rules_from_rates(1.0, 20.0)
    assert rules == [(1, 1.0), (20, 60.0)]
    # Our default sends at most 20 per 60 s: a sliding log is stricter than any fixed window.
    assert rules_from_rates(0.5, 0) == [(1, 2.0)]
    assert rules_from_rates(0, 0) == []


def test_after_a_429_every_endpoint_pauses(
    demo: DemoUpstream, tmp_path: Path, settings: Settings
) -> None:
    settings.UPSTREAM_PAUSE_AFTER_429 = 1.0
    demo.set_faults(status=429, endpoints=["overall"], times=1)
    store = FileStore(tmp_path, "pause")
    first = UpstreamClient(base_url=demo.url, budget=RequestBudget(store, []), random=lambda: 0.0)
    first.max_tries = 1
    with pytest.raises(Exception, match="429"):
        first.series("overall", "django")
    other = UpstreamClient(
        base_url=demo.url, budget=RequestBudget(FileStore(tmp_path, "pause"), [])
    )
    other.series("system", "django")
    throttled = next(r for r in demo.requests if r.status == 429)
    later = next(r for r in demo.requests if r.endpoint == "system")
    assert later.at - throttled.at >= 1.0


def test_max_wait_reserves_nothing(tmp_path: Path) -> None:
    budget = RequestBudget(FileStore(tmp_path, "wait"), [(1, 10.0)])
    assert budget.reserve("overall") == 0
    with pytest.raises(BudgetExceeded) as caught:
        budget.reserve("overall", max_wait=1.0)
    assert caught.value.wait > 9
    # Still only one slot taken: the next unbounded reservation is ~10 s out, not ~20.
    assert 9 < budget.reserve("overall") <= 10 + budget.margin


def test_earliest_slot() -> None:
    assert earliest_slot([], 100.0, 0.0, RULES, 0.0) == 100.0
    assert earliest_slot([99.0, 99.8, 99.9], 100.0, 0.0, RULES, 0.0) == 100.0
    assert earliest_slot([99.7, 99.8, 99.9], 100.0, 0.0, RULES, 0.0) == pytest.approx(100.2)
    assert earliest_slot([], 100.0, 130.0, RULES, 0.0) == 130.0
