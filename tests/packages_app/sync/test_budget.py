"""The request budget, counted where it matters: at the server."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import secrets
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import time_machine
from pytest_django import Settings

from packages_app.demo.upstream import DemoUpstream
from packages_app.sync.budget import (
    DEFAULT_MARGIN,
    BudgetExceeded,
    FileStore,
    RedisStore,
    RequestBudget,
    Rule,
    budget_prefix,
    default_budget,
    earliest_slot,
    make_store,
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


# --- the parts the request budget is built from (mutation survivors, docs/testing.md) ----------


def test_budget_exceeded_says_when_the_next_slot_is() -> None:
    assert str(BudgetExceeded(12.345)) == "next slot in 12.3 s"
    assert BudgetExceeded(12.345).wait == 12.345


def test_rules_from_rates_each_rate_on_its_own() -> None:
    # No per-second limit still leaves the per-minute one.
    assert rules_from_rates(0, 20.0) == [(20, 60.0)]
    # A rate of 1 or more is a count per window, rounded down; below 1, one per longer window.
    assert rules_from_rates(1.5, 30.0) == [(1, 1.0), (30, 60.0)]
    assert rules_from_rates(0.25, 0.5) == [(1, 4.0), (1, 120.0)]


def test_a_file_pause_is_never_shortened(tmp_path: Path) -> None:
    store = FileStore(tmp_path, "pauses")
    with time_machine.travel(FROZEN, tick=False):
        store.pause(100.0)
        store.pause(10.0)
        assert store.paused_for() == 100.0
        store.pause(200.0)
        assert store.paused_for() == 200.0


@pytest.mark.parametrize("seconds", [0.0, -5.0, float("inf"), float("nan")])
def test_a_pause_of_no_time_or_of_no_finite_time_holds_nothing(
    tmp_path: Path, seconds: float
) -> None:
    store = FileStore(tmp_path, "nothing")
    budget = RequestBudget(store, RULES, margin=MARGIN)
    with time_machine.travel(FROZEN, tick=False):
        budget.pause(seconds)
        assert budget.paused_for() == 0.0
        assert budget.reserve("overall") == 0.0
    # Nothing was written for it: the only state is the one reservation.
    assert json.loads(store.path.read_text()) == {"logs": {"overall": [FROZEN]}}


def test_one_budget_per_upstream_host_and_port() -> None:
    assert budget_prefix("https://pypistats.org/api") == "upstream-budget:pypistats.org"
    assert budget_prefix("http://127.0.0.1:8123/api/") == "upstream-budget:127.0.0.1:8123"
    assert budget_prefix("pypistats") == "upstream-budget:pypistats"


def test_without_redis_the_budget_is_a_file_under_var_dir(
    settings: Settings, tmp_path: Path
) -> None:
    settings.REDIS_URL = ""
    settings.VAR_DIR = tmp_path
    store = make_store("upstream-budget:example.org")
    assert isinstance(store, FileStore)
    digest = hashlib.sha1(b"upstream-budget:example.org").hexdigest()[:16]
    assert store.path == tmp_path / "upstream" / f"budget-{digest}.json"
    assert store.lock_path == tmp_path / "upstream" / f"budget-{digest}.lock"


def test_with_redis_the_budget_is_in_redis_under_the_hosts_prefix(settings: Settings) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/3"  # building the store connects to nothing
    store = make_store("upstream-budget:example.org")
    assert isinstance(store, RedisStore)
    assert store.prefix == "upstream-budget:example.org"
    kwargs = store.client.connection_pool.connection_kwargs
    assert (kwargs["port"], kwargs["db"]) == (1, 3)
    assert (kwargs["socket_connect_timeout"], kwargs["socket_timeout"]) == (2, 5)


def test_the_default_budget_takes_its_rates_and_upstream_from_settings(
    settings: Settings, tmp_path: Path
) -> None:
    settings.REDIS_URL = ""
    settings.VAR_DIR = tmp_path
    settings.UPSTREAM_RATE_PER_SECOND = 2.0
    settings.UPSTREAM_RATE_PER_MINUTE = 25.0
    settings.PYPISTATS_API_URL = "https://stats.example.org/api"
    for base_url, host in [(None, "stats.example.org"), ("http://10.0.0.1:81/api", "10.0.0.1:81")]:
        budget = default_budget(base_url)
        assert budget.rules == [(2, 1.0), (25, 60.0)]
        assert budget.margin == DEFAULT_MARGIN == 0.25
        assert isinstance(budget.store, FileStore)
        digest = hashlib.sha1(f"upstream-budget:{host}".encode()).hexdigest()[:16]
        assert budget.store.path.name == f"budget-{digest}.json"


# --- the Redis store: its own clock (TIME), so bounds rather than exact waits ------------------


@pytest.fixture
def redis_store() -> Any:
    store = RedisStore(os.environ["REDIS_URL"], f"test-budget-{secrets.token_hex(6)}")
    yield store
    store.client.delete(*store.client.keys(f"{store.prefix}:*") or ["-"])


@pytest.mark.redis
def test_a_redis_pause_holds_every_endpoint_and_is_never_shortened(redis_store: Any) -> None:
    budget = RequestBudget(redis_store, RULES, margin=MARGIN)
    assert budget.paused_for() == 0.0
    budget.pause(600.0)
    budget.pause(10.0)
    assert 590.0 < budget.paused_for() <= 600.0
    # The pause lives under the budget's prefix, for the pause and a second more.
    key = f"{redis_store.prefix}:paused-until"
    assert 590_000 < redis_store.client.pttl(key) <= 601_000
    for endpoint in ("overall", "system"):
        assert 590.0 < budget.reserve(endpoint) <= 600.0


@pytest.mark.redis
def test_redis_max_wait_reserves_nothing(redis_store: Any) -> None:
    budget = RequestBudget(redis_store, [(1, 60.0)], margin=MARGIN)
    log = f"{redis_store.prefix}:log:overall"
    assert budget.reserve("overall", max_wait=0.0) == 0.0
    with pytest.raises(BudgetExceeded) as caught:
        budget.reserve("overall", max_wait=1.0)
    assert 59.0 < caught.value.wait <= 60.25
    assert redis_store.client.zcard(log) == 1
    # Unbounded, the same call takes the slot a period and the margin after the first.
    wait = budget.reserve("overall")
    assert 59.0 < wait <= 60.25
    assert redis_store.client.zcard(log) == 2
    # The log outlives its last slot by the longest period, the margin and a second.
    assert 119_000 < redis_store.client.pttl(log) <= 121_500


@pytest.mark.redis
def test_redis_forgets_slots_older_than_the_longest_period(redis_store: Any) -> None:
    budget = RequestBudget(redis_store, [(1, 60.0)], margin=MARGIN)
    log = f"{redis_store.prefix}:log:overall"
    seconds, micros = redis_store.client.time()
    now = seconds + micros / 1e6
    # Two slots older than 60 s + the margin + 1 s, one just inside the window.
    redis_store.client.zadd(log, {"old-1": now - 500, "old-2": now - 62, "recent": now - 30})
    assert 29.0 < budget.reserve("overall") <= 30.25
    members = {m.decode() for m in redis_store.client.zrange(log, 0, -1)}
    assert "old-1" not in members and "old-2" not in members and "recent" in members
    assert len(members) == 2


def test_slots_are_handed_out_in_increasing_order() -> None:
    # A slot already reserved further out than any rule needs: the next one is not before it.
    assert earliest_slot([105.0], 100.0, 0.0, [(3, 1.0)], 0.0) == 105.0
    assert earliest_slot([99.0, 105.0], 100.0, 0.0, [], 0.0) == 105.0


def test_the_file_store_makes_its_folder_and_a_private_lock(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "var" / "upstream", "private")
    budget = RequestBudget(store, RULES, margin=MARGIN)
    with time_machine.travel(FROZEN, tick=False):
        assert budget.reserve("overall") == 0.0
    assert store.path.parent == tmp_path / "var" / "upstream"
    assert stat.S_IMODE(store.lock_path.stat().st_mode) == 0o600


def test_a_file_pause_holds_a_budget_with_rules_too(tmp_path: Path) -> None:
    budget = RequestBudget(FileStore(tmp_path, "rules-paused"), RULES, margin=MARGIN)
    with time_machine.travel(FROZEN, tick=False):
        budget.pause(30.0)
        assert budget.reserve("overall") == 30.0


@pytest.mark.parametrize("rules", [[], RULES], ids=["no rules", "rules"])
def test_a_wait_of_exactly_max_wait_is_granted(tmp_path: Path, rules: list[Rule]) -> None:
    budget = RequestBudget(FileStore(tmp_path, "exact"), rules, margin=MARGIN)
    with time_machine.travel(FROZEN, tick=False):
        budget.pause(5.0)
        assert budget.reserve("overall", max_wait=5.0) == 5.0
        with pytest.raises(BudgetExceeded) as caught:
            budget.reserve("system", max_wait=4.0)
        assert caught.value.wait == 5.0


def test_the_file_keeps_the_slots_within_reach_of_a_rule_and_a_seconds_grace(
    tmp_path: Path,
) -> None:
    store = FileStore(tmp_path, "grace")
    # One rule of 3 per 10 s with the 0.25 s margin: a slot older than 11.25 s is forgotten.
    old = [FROZEN - 11.5, FROZEN - 11.25, FROZEN - 11.0]
    store.path.write_text(json.dumps({"logs": {"overall": old}}))
    with time_machine.travel(FROZEN, tick=False):
        assert RequestBudget(store, [(3, 10.0)], margin=MARGIN).reserve("overall") == 0.0
    assert json.loads(store.path.read_text()) == {"logs": {"overall": [FROZEN - 11.0, FROZEN]}}


def test_a_slot_forgotten_too_early_would_send_too_soon(tmp_path: Path) -> None:
    store = FileStore(tmp_path, "soon")
    # Sent 10 s ago under 1 per 10 s (+ 0.25 s margin): the next send is 0.25 s out.
    store.path.write_text(json.dumps({"logs": {"overall": [FROZEN - 10.0]}}))
    with time_machine.travel(FROZEN, tick=False):
        assert RequestBudget(store, [(1, 10.0)], margin=MARGIN).reserve("overall") == 0.25


def test_a_state_file_that_is_not_an_object_counts_as_empty(tmp_path: Path) -> None:
    store = FileStore(tmp_path, "list")
    store.path.write_text("[1, 2]")
    with time_machine.travel(FROZEN, tick=False):
        assert RequestBudget(store, RULES, margin=MARGIN).reserve("overall") == 0.0
    assert json.loads(store.path.read_text()) == {"logs": {"overall": [FROZEN]}}
