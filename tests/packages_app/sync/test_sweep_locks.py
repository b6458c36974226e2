"""Two sweeps at once on PostgreSQL: the second skips the packages the first has locked.

enqueue_refreshes claims with SELECT ... FOR UPDATE SKIP LOCKED where the database has
it; SQLite serialises writers instead, so this is a PostgreSQL test.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from packages_app.models import Package
from packages_app.sync import services, tasks

# How long the other "sweep" holds its lock at most: without SKIP LOCKED the sweep under
# test waits for it, and then claims the held package too (the assertion then fails).
HOLD_SECONDS = 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_sweep_skips_a_package_another_transaction_has_locked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[int] = []  # what the sweep enqueues once its claim commits
    monkeypatch.setattr(tasks.refresh_package, "delay", sent.append)
    held, _ = services.package_track(name="held-one")
    free, _ = services.package_track(name="free-one")
    locked, release = threading.Event(), threading.Event()

    def other_sweep() -> None:
        try:
            with transaction.atomic():
                Package.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(HOLD_SECONDS)
        finally:
            connection.close()

    thread = threading.Thread(target=other_sweep)
    thread.start()
    try:
        assert locked.wait(HOLD_SECONDS)
        assert tasks.sweep_new_and_failed_packages() == 1
    finally:
        release.set()
        thread.join()
    held.refresh_from_db()
    free.refresh_from_db()
    assert free.next_attempt_at is not None and held.next_attempt_at is not None
    assert free.next_attempt_at > held.next_attempt_at  # claimed: pushed past the sweep
    assert sent == [free.pk]
