"""The categories upstream reports per metric: the ONE list every folder reads.

Spelled as upstream spells them, in the order the pages list them (legends, the compare
page's category picker), keyed by the metric's slug (`Metric.label`, upstream's endpoint
name). The upstream client takes them as known (anything else plausible is accepted and
logged), the demo upstream answers with them, the pages order and offer them from here;
`Metric.categories` reads them for a metric. No Django import: the demo upstream runs
before Django is set up.

Python minors are an open set (a new CPython every October): the tuple names the ones
seen so far, newest first; the compare page accepts any plausible version besides.
"""

from __future__ import annotations

# Upstream's category for downloads whose Python version or OS was not recorded.
UNKNOWN = "null"

CATEGORIES: dict[str, tuple[str, ...]] = {
    "overall": ("without_mirrors", "with_mirrors"),
    "python_major": ("3", "2", UNKNOWN),
    "python_minor": (
        *(f"3.{minor}" for minor in range(15, -1, -1)),  # 3.15 .. 3.0
        "2.7",
        "2.6",
        UNKNOWN,
    ),
    "system": ("Linux", "Windows", "Darwin", "other", UNKNOWN),
}
