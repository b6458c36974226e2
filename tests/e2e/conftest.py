"""Shared by the browser tests (the `browser` fixture itself is in tests/conftest.py, for
the browser tests of every folder)."""

from __future__ import annotations

from pathlib import Path

# Screenshots land here (gitignored); CI keeps them as artifacts of the run.
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
