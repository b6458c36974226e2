#!/usr/bin/env python
"""`make demo`: the whole app against the bundled demo upstream.

1. starts the demo upstream (synthetic data) on 127.0.0.1:$DEMO_PORT and the ClickHouse
   stand-in (ClickPy's schema over chdb, ten years of demo data that agrees with the demo
   upstream) on 127.0.0.1:$DEMO_CLICKHOUSE_PORT, both in this process;
2. points the app at them (PYPISTATS_API_URL; CLICKHOUSE_URL, _USER=play, _PASSWORD="",
   _DATABASE=pypi; DEMO_UPSTREAM=1 shows "synthetic data");
3. keeps its own state under var/demo/ (VAR_DIR/demo), apart from `make run`'s var/;
   migrates it, tracks a handful of packages and refreshes them in-process, so the pages
   have data at once;
4. creates (or resets) the `demo` login and prints its password;
5. runs web + Celery worker + beat exactly like `make run` (bin/run-stack, Procfile.dev).
Ctrl-C stops everything, the demo upstream and the stand-in included. The stand-in's data
is built once (the first run takes a while; docs/benchmarks.md) and kept under
var/clickhouse-demo/; a new day only adds that day. DEMO_CLICKHOUSE_PACKAGES (comma-separated)
replaces its preloaded packages.

`--setup-only` stops after step 4 (the test suite uses it).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PACKAGES = ["django", "requests", "numpy", "httpx", "flask", "__all__"]
DEMO_USER = "demo"


def main(argv: list[str]) -> int:
    setup_only = "--setup-only" in argv
    # Its own state (database, secret key, file broker and cache) in demo/ under VAR_DIR, apart
    # from `make run`'s: the demo's synthetic numbers and its `demo` superuser never show up
    # there, and a demo can be thrown away with `rm -rf var/demo`.
    var_dir = Path(os.environ.get("VAR_DIR") or ROOT / "var") / "demo"
    os.environ["VAR_DIR"] = str(var_dir)
    # Keys of its own too, should the demo share a Redis with `make run` (REDIS_URL).
    os.environ.setdefault("CACHE_KEY_PREFIX", "pss-demo")
    demo_port = int(os.environ.get("DEMO_PORT", "8765"))
    # Any free port for the stand-in too when the upstream's is any free port (the tests).
    clickhouse_port = int(os.environ.get("DEMO_CLICKHOUSE_PORT", "0" if demo_port == 0 else "8766"))
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")

    from packages_app.demo.clickhouse import DEMO_PACKAGES, DemoClickHouse
    from packages_app.demo.upstream import DemoUpstream

    print("Loading the ClickHouse stand-in's data…", flush=True)
    preload = os.environ.get("DEMO_CLICKHOUSE_PACKAGES")
    clickhouse = DemoClickHouse(
        port=clickhouse_port,
        packages=preload.split(",") if preload else DEMO_PACKAGES,
    ).start()
    build = clickhouse.engine.last_build
    print(
        f"ClickHouse stand-in (ClickPy's schema, demo data through {clickhouse.latest}) on "
        f"{clickhouse.url}"
        + (f" (built {build.rows:,} rows in {build.seconds:.0f} s)" if build.rows else ""),
        flush=True,
    )
    try:
        demo = DemoUpstream(port=demo_port).start()
    except BaseException:
        clickhouse.stop()
        raise
    print(f"Demo upstream (synthetic data) on {demo.url}", flush=True)
    os.environ["PYPISTATS_API_URL"] = demo.url
    os.environ["CLICKHOUSE_URL"] = clickhouse.url
    os.environ["CLICKHOUSE_USER"] = clickhouse.user
    os.environ["CLICKHOUSE_PASSWORD"] = clickhouse.password
    os.environ["CLICKHOUSE_DATABASE"] = "pypi"
    os.environ["DEMO_UPSTREAM"] = "1"
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pypistats_site.settings")
    bin_dir = str(Path(sys.executable).parent)
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    try:
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
        call_command("track", *PACKAGES)
        try:
            call_command("refresh", *PACKAGES)
        except Exception as exc:  # the demo still starts; the worker retries
            print(f"warning: initial refresh incomplete: {exc}", file=sys.stderr)
        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username=DEMO_USER)
        user.set_password(password)
        user.is_staff = user.is_superuser = True
        user.save()
        print(
            f"\nDemo login (also admin): {DEMO_USER} / {password}\n"
            f"Site: http://{host}:{port}/   Admin: http://{host}:{port}/admin/\n",
            flush=True,
        )
        if setup_only:
            return 0
        honcho = subprocess.Popen(
            [sys.executable, str(ROOT / "bin" / "run-stack"), "-p", port],
            cwd=ROOT,
            env=os.environ.copy(),
        )
        try:
            return honcho.wait()
        except KeyboardInterrupt:
            # The terminal sent SIGINT to honcho too; give it time to stop its children.
            try:
                return honcho.wait(timeout=30)
            except subprocess.TimeoutExpired:
                honcho.send_signal(signal.SIGTERM)
                return honcho.wait()
    finally:
        demo.stop()
        print("Demo upstream stopped.", flush=True)
        clickhouse.stop()
        print("ClickHouse stand-in stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
