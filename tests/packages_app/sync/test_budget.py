"""The request budget, counted where it matters: at the server."""

from __future__ import annotations

import multiprocessing
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import time_machine
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
MARGIN = 0.25  # budget.DEFAULT_MARGIN, added to every period
# Twelve sends on one endpoint asked for at one frozen instant, by hand: three at once, the
# next three once the first three are 0.5 + 0.25 s old, then the 6-per-2 s rule (the
# first send + 2.25) holds the seventh to ninth, and the 3-per-0.5 s rule the last three.
TWELVE_WAITS = [0.0] * 3 + [0.75] * 3 + [2.25] * 3 + [3.0] * 3
FROZEN = 1_800_000_000.0


def assert_never_faster(times: list[float], rules: list[Rule]) -> None:
    """No window of `period` seconds holds more than `limit` of the send slots."""
    times = sorted(times)
    for limit, period in rules:
        for first, later in zip(times, times[limit:], strict=False):
            assert later - first >= period, (limit, period, later - first)


def test_the_hand_computed_schedule_keeps_the_rules() -> None:
    assert_never_faster(TWELVE_WAITS, RULES)
    # ... with the margin added to every period, and no slot earlier than that allows.
    with_margin = [(limit, period + MARGIN) for limit, period in RULES]
    assert_never_faster(TWELVE_WAITS, with_margin)
    with pytest.raises(AssertionError):
        assert_never_faster([0.0] * 3 + [0.7] + TWELVE_WAITS[4:], with_margin)


def run_clients(
    demo: DemoUpstream,
    make_budget: Callable[[], RequestBudget],
    per_thread: int,
    threads: int,
    endpoints: Callable[[int], str] = lambda index: "overall",
) -> list[float]:
    """Threads (each its own client and budget object over one store, like separate
    workers) call the demo upstream; return every wait the budget imposed (recorded,
    not slept)."""
    waits: list[float] = []
    lock = threading.Lock()

    def record(seconds: float) -> None:
        with lock:
            waits.append(seconds)

    def work() -> None:
        with UpstreamClient(base_url=demo.url, budget=make_budget(), sleep=record) as client:
            for index in range(per_thread):
                client.series(endpoints(index), "django")

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return waits


def test_file_budget_hands_out_exactly_the_slots_the_rules_allow(
    demo: DemoUpstream, tmp_path: Path
) -> None:
    def make() -> RequestBudget:
        return RequestBudget(FileStore(tmp_path, "shared"), RULES, margin=MARGIN)

    with time_machine.travel(FROZEN, tick=False):
        waits = run_clients(demo, make, per_thread=4, threads=3)
    assert sorted(waits) == [w for w in TWELVE_WAITS if w]  # a zero wait sleeps not at all
    assert len(demo.requests) == 12 and all(r.status == 200 for r in demo.requests)


def test_each_endpoint_has_its_own_budget(demo: DemoUpstream, tmp_path: Path) -> None:
    def make() -> RequestBudget:
        return RequestBudget(FileStore(tmp_path, "endpoints"), RULES, margin=MARGIN)

    with time_machine.travel(FROZEN, tick=False):
        waits = run_clients(
            demo, make, per_thread=4, threads=3, endpoints=lambda i: ("overall", "system")[i % 2]
        )
    # Six on each endpoint: each gets the first six slots of its own schedule.
    assert sorted(waits) == [w for w in sorted(TWELVE_WAITS[:6] * 2) if w]
    assert {r.endpoint for r in demo.requests} == {"overall", "system"}


@pytest.mark.redis
def test_redis_budget_never_schedules_faster_than_configured(demo: DemoUpstream) -> None:
    """Redis keeps its own clock (TIME), which no test can freeze: the slots it handed out,
    read back from Redis, keep every rule whenever they were asked for."""
    url = os.environ["REDIS_URL"]
    prefix = f"test-budget-{secrets.token_hex(6)}"
    store = RedisStore(url, prefix)

    def make() -> RequestBudget:
        return RequestBudget(RedisStore(url, prefix), RULES, margin=MARGIN)

    try:
        run_clients(demo, make, per_thread=4, threads=3)
        logged = store.client.zrange(f"{prefix}:log:overall", 0, -1, withscores=True)
        slots = [float(entry[1]) for entry in logged if isinstance(entry, tuple)]
        assert len(slots) == 12 and len(demo.requests) == 12
        assert_never_faster(slots, [(limit, period + MARGIN) for limit, period in RULES])
    finally:
        store.client.delete(f"{prefix}:log:overall", f"{prefix}:paused-until")


def _process_worker(url: str, store_dir: str, count: int, out: Any) -> None:
    waits: list[float] = []
    budget = RequestBudget(FileStore(Path(store_dir), "processes"), RULES, margin=MARGIN)
    with UpstreamClient(base_url=url, budget=budget, sleep=waits.append) as client:
        for _ in range(count):
            client.series("overall", "django")
    out.put(waits)


def test_the_budget_is_shared_by_separate_processes(demo: DemoUpstream, tmp_path: Path) -> None:
    """Three forked processes (time stays frozen in them) share one file store, through
    the upstream client, and together get the twelve slots of one schedule."""
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    with time_machine.travel(FROZEN, tick=False):
        processes = [
            context.Process(target=_process_worker, args=(demo.url, str(tmp_path), 4, out))
            for _ in range(3)
        ]
        for process in processes:
            process.start()
        waits = [wait for _ in processes for wait in out.get(timeout=60)]
        for process in processes:
            process.join(timeout=60)
            assert process.exitcode == 0
    assert sorted(waits) == [w for w in TWELVE_WAITS if w]
    assert len(demo.requests) == 12


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
    with time_machine.travel(FROZEN, tick=False):
        first = UpstreamClient(
            base_url=demo.url, budget=RequestBudget(store, []), random=lambda: 0.0
        )
        first.max_tries = 1
        with pytest.raises(Exception, match="429"):
            first.series("overall", "django")
        waits: list[float] = []
        other = UpstreamClient(
            base_url=demo.url,
            budget=RequestBudget(FileStore(tmp_path, "pause"), []),
            sleep=waits.append,
        )
        other.series("system", "django")
    # Another client, another endpoint: it waited out the whole pause before sending.
    assert waits == [1.0]
    assert [(r.endpoint, r.status) for r in demo.requests] == [("overall", 429), ("system", 200)]


def test_max_wait_reserves_nothing(tmp_path: Path) -> None:
    budget = RequestBudget(FileStore(tmp_path, "wait"), [(1, 10.0)], margin=MARGIN)
    with time_machine.travel(FROZEN, tick=False):
        assert budget.reserve("overall") == 0
        with pytest.raises(BudgetExceeded) as caught:
            budget.reserve("overall", max_wait=1.0)
        assert caught.value.wait == 10.25
        # Still only one slot taken: the next unbounded reservation is 10.25 s out, not 20.5.
        assert budget.reserve("overall") == 10.25


def test_earliest_slot() -> None:
    assert earliest_slot([], 100.0, 0.0, RULES, 0.0) == 100.0
    assert earliest_slot([99.0, 99.8, 99.9], 100.0, 0.0, RULES, 0.0) == 100.0
    assert earliest_slot([99.7, 99.8, 99.9], 100.0, 0.0, RULES, 0.0) == pytest.approx(100.2)
    assert earliest_slot([], 100.0, 130.0, RULES, 0.0) == 130.0
