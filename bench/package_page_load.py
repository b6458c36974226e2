"""Weight and DOMContentLoaded of the package page in headless Chromium on loopback.

Not a test: it measures. It serves the app with the Dockerfile's command (granian, host and
port aside) against the database and cache the environment configures, loads the package
page of `bench-two-years` (two years x 18 categories of daily points, the package
bench/page_times.py loads) in Debian's Chromium through Playwright, and reports:

- the HTML's size in bytes (uncompressed, as the browser parses it) for each query;
- DOMContentLoaded (navigation start to the end of the DOMContentLoaded handlers, from the
  Navigation Timing entry) over N loads after 3 warm-ups: median and p90, with the page's
  payload cached (the common case), and when the charts had been drawn (charts.js draws
  in a task of its own after DOMContentLoaded). Each load is a fresh page in one browser context, so
  static files come from the browser's cache as for a returning visitor; `--cold-static`
  uses a new context per load instead;
- the renderer's main-thread CPU time from navigation start to DOMContentLoaded, over
  `--traced` more loads recorded with Chromium's tracing (the thread time of its top-level
  tasks): what the page costs the browser, which, unlike the wall times above, a busy
  machine does not inflate (on an idle one, DOMContentLoaded ~ first byte + this).

Usage (PostgreSQL + Redis, as recorded in docs/benchmarks.md):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_charts REDIS_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python bench/package_page_load.py --loads 30 --port 18950

The database must be migrated (`manage.py migrate`); the first run loads the package.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pypistats_site.settings")
os.environ.setdefault("STATIC_MANIFEST", "0")

import page_times  # noqa: E402  (sets Django up; loads the bench package)

from tests.live import CHROMIUM_ARGS  # noqa: E402
from tests.services import CHROMIUM  # noqa: E402

QUERIES = ("", "?range=365", "?agg=week&scale=log")
DCL = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  return { dcl: nav.domContentLoadedEventEnd, bytes: nav.decodedBodySize,
           ttfb: nav.responseStart, interactive: nav.domInteractive,
           drawn: window.__chartsFirstDrawn || null };
}"""


TRACE_CATEGORIES = ["toplevel", "devtools.timeline", "blink.user_timing"]


def main_thread_cpu_ms(trace: bytes, url: str) -> float | None:
    """Thread CPU (ms) of the renderer main thread's top-level tasks between the
    navigation to `url` and its DOMContentLoaded, from a Chromium trace."""
    loaded = json.loads(trace)
    events = loaded["traceEvents"] if isinstance(loaded, dict) else loaded
    start = next(
        (
            e
            for e in events
            if e["name"] == "navigationStart"
            and e.get("args", {}).get("data", {}).get("documentLoaderURL") == url
        ),
        None,
    )
    if start is None:
        return None
    pid, frame = start["pid"], start["args"]["frame"]
    end = next(
        (
            e["ts"]
            for e in events
            if e["name"] == "MarkDOMContent"
            and e["pid"] == pid
            and e.get("args", {}).get("data", {}).get("frame") == frame
            and e["ts"] >= start["ts"]
        ),
        None,
    )
    if end is None:
        return None
    return float(
        sum(
            e.get("tdur", 0)
            for e in events
            if e["name"] == "ThreadControllerImpl::RunTask"
            and e["pid"] == pid
            and e["tid"] == pid
            and e.get("ph") == "X"
            and start["ts"] <= e["ts"] <= end
        )
        / 1000
    )


def dockerfile_command(port: int) -> list[str]:
    match = re.search(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    if match is None:
        raise RuntimeError("the Dockerfile has no CMD [...] line")
    command: list[str] = json.loads(match.group(1))
    command[0] = str(ROOT / ".venv" / "bin" / command[0])
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    return [c for c in command if c != "--access-log"]


def wait_for(url: str, deadline_s: float = 30.0) -> None:
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 (loopback)
                answer.read()
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def spread(values: list[float | None]) -> str:
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return "not recorded"
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return f"median {statistics.median(ordered):.0f} ms, p90 {p90:.0f} ms"


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=30)
    parser.add_argument("--port", type=int, default=18950)
    parser.add_argument("--cold-static", action="store_true")
    parser.add_argument("--traced", type=int, default=5, help="loads recorded with tracing")
    args = parser.parse_args()

    package = page_times.ensure_package(730)
    base = f"http://127.0.0.1:{args.port}/packages/{package.name}/"
    env = {
        **os.environ,
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DEBUG": "0",
        "WHITENOISE_USE_FINDERS": "1",
    }
    server = subprocess.Popen(
        dockerfile_command(args.port), cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    from playwright.sync_api import sync_playwright

    try:
        wait_for(base)
        print(f"load average before: {load_average()}")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for query in QUERIES:
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                times: list[float | None] = []
                drawn: list[float | None] = []
                ttfb: list[float | None] = []
                interactive: list[float | None] = []
                size = 0
                for i in range(args.loads + 3):
                    if args.cold_static and i:
                        context.close()
                        context = browser.new_context(viewport={"width": 1280, "height": 800})
                    page = context.new_page()
                    page.goto(base + query, wait_until="load")
                    page.wait_for_function("() => document.documentElement.dataset.chartsDrawn")
                    figures = page.evaluate(DCL)
                    page.close()
                    size = figures["bytes"]
                    if i >= 3:
                        times.append(figures["dcl"])
                        drawn.append(figures["drawn"])
                        ttfb.append(figures["ttfb"])
                        interactive.append(figures["interactive"])
                cpu: list[float | None] = []
                for _ in range(args.traced):
                    page = context.new_page()
                    browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
                    page.goto(base + query, wait_until="load")
                    page.wait_for_function("() => document.documentElement.dataset.chartsDrawn")
                    cpu.append(main_thread_cpu_ms(browser.stop_tracing(), base + query))
                    page.close()
                context.close()
                print(
                    f"{query or '(default: 180 days, daily)'}: HTML {size:,} bytes; "
                    f"DOMContentLoaded {spread(times)}; charts drawn {spread(drawn)} "
                    f"over {len(times)} loads (first byte {spread(ttfb)}, "
                    f"DOM interactive {spread(interactive)}); renderer main-thread CPU "
                    f"to DOMContentLoaded {spread(cpu)} over {len(cpu)} traced loads"
                )
            browser.close()
        print(f"load average after: {load_average()}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
