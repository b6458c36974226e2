"""The refresh task's retry countdown: exponential, fully jittered, at least Retry-After, capped.

random.uniform is replaced by a recorder, so the window the jitter is drawn from is
seen exactly; the expected windows are written out by hand (30 s doubling, cap 300 s).
"""

from __future__ import annotations

import random

import pytest

from packages_app.sync import tasks


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, float]]:
    """Every (low, high) the countdown draws from; the draw returns the upper end."""
    drawn: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        drawn.append((low, high))
        return high

    monkeypatch.setattr(random, "uniform", uniform)
    return drawn


def test_the_jitter_window_doubles_from_30_seconds_up_to_the_cap(
    windows: list[tuple[float, float]],
) -> None:
    countdowns = [tasks.retry_countdown(retries, None) for retries in range(7)]
    assert windows == [
        (15, 30),
        (30, 60),
        (60, 120),
        (120, 240),
        (150, 300),
        (150, 300),
        (150, 300),
    ]
    assert countdowns == [30, 60, 120, 240, 300, 300, 300]


def test_retry_after_is_a_floor_and_the_cap_still_holds(
    windows: list[tuple[float, float]],
) -> None:
    assert tasks.retry_countdown(0, 100.0) == 100.0
    assert tasks.retry_countdown(0, 10.0) == 30  # shorter than the backoff: the backoff wins
    assert tasks.retry_countdown(1, 5_000.0) == 300
    assert windows == [(15, 30), (15, 30), (30, 60)]
