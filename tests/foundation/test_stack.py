"""The `make run` stack (honcho + Procfile.dev): web answers, the worker runs a task sent to it,
and stopping honcho stops all three processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Each test starts web, a Celery worker and beat: `make test` runs these serially.
pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _stack_env(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    env.update(
        PATH=f"{BIN}:{env.get('PATH', '')}",
        VAR_DIR=str(tmp_path / "var"),
        DEBUG="1",
        HOST="127.0.0.1",
        PYTHONUNBUFFERED="1",
        CACHE_KEY_PREFIX=f"stack-test-{port}",
    )
    env.update(extra)
    return env


@pytest.fixture
def stack(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[str, dict[str, str], subprocess.Popen[str]]]:
    port = _free_port()
    env = _stack_env(tmp_path, port, **getattr(request, "param", {}))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    log = open(tmp_path / "stack.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [str(BIN / "python"), "bin/run-stack", "-p", str(port)],  # what `make run` starts
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _get(base + "/healthz")[0] == 200, 60, "the web server")
        yield base, env, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in `make run` sends
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def _worker_runs_a_task(base: str, env: dict[str, str]) -> None:
    assert json.loads(_get(base + "/healthz")[1])["worker_heartbeat"] is None
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from packages_app.sync.tasks import worker_heartbeat; worker_heartbeat.delay()",
        ],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "pypistats_site.settings"},
        check=True,
        timeout=60,
    )
    _wait_for(
        lambda: json.loads(_get(base + "/healthz")[1])["worker_heartbeat"] is not None,
        60,
        "the worker to run the task",
    )


def test_the_zero_config_stack_serves_and_runs_tasks(
    stack: tuple[str, dict[str, str], subprocess.Popen[str]], tmp_path: Path
) -> None:
    base, env, process = stack
    assert _get(base + "/")[0] == 200
    status, _ = _get(base + "/admin/")
    assert status == 302  # to the admin login
    health = json.loads(_get(base + "/healthz")[1])
    assert health["broker"]["transport"] == "filesystem"
    assert health["database"]["vendor"] == "sqlite"
    _worker_runs_a_task(base, env)

    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(timeout=60) == 130  # honcho's (and a shell's) status after Ctrl-C
    # Ctrl-C stopped all three: nothing answers on the port any more.
    with pytest.raises(OSError):
        _get(base + "/healthz")
    # Quietly: each process ended on its own, none was killed (issue #13).
    log = (tmp_path / "stack.log").read_text()
    for name in ("web", "worker", "beat"):
        assert f"{name}.1 stopped (rc=0)" in log, log[-3000:]
    assert "exited with" not in log and "SIGKILL" not in log, log[-3000:]
    assert "Traceback" not in log, log[-3000:]


@pytest.mark.redis
@pytest.mark.parametrize("stack", [{"REDIS_URL": os.environ.get("REDIS_URL", "")}], indirect=True)
def test_the_stack_on_redis_runs_tasks(
    stack: tuple[str, dict[str, str], subprocess.Popen[str]],
) -> None:
    base, env, _ = stack
    health = json.loads(_get(base + "/healthz")[1])
    assert health["broker"]["transport"] == "redis"
    _worker_runs_a_task(base, env)
