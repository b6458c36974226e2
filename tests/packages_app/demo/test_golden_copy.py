"""The checked-in golden captures (used where shared/ is not beside the checkout) are the
shared ones, byte for byte, so the two can never drift apart."""

from __future__ import annotations

from tests.packages_app import golden


def test_the_checked_in_captures_are_the_shared_ones() -> None:
    local = golden.LOCAL_COPY.read_bytes()
    if golden.GOLDEN_PATH.exists():
        assert golden.GOLDEN_PATH.read_bytes() == local
    captures = golden.captures(golden.LOCAL_COPY)
    assert len(captures) == 49
    assert captures[0].target == "/api/packages/demo-pkg/recent" and captures[0].status == 200
