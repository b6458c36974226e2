"""Shared by the browser tests (the `browser` fixture itself is in tests/conftest.py, for
the browser tests of every folder)."""

from __future__ import annotations

from pathlib import Path

# Screenshots land here (gitignored); CI keeps them as artifacts of the run.
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# page.evaluate(PAINTED, selector): how many pixels of that canvas are not transparent (0
# until Chart.js has drawn on it).
PAINTED = """(selector) => {
  const canvas = document.querySelector(selector);
  if (!canvas || !canvas.width || !canvas.height) return 0;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let opaque = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) opaque++;
  return opaque;
}"""
