"""The compose stack's commands, run here as the containers would run them.

No Docker engine runs here. `docker-compose config` (Debian's docker-compose package)
validates the file and resolves it with its defaults; each container's command then runs
locally with that environment and that command line. Only what cannot be the same outside a
container changes: the service host names (`postgres`, `redis`) become the test PostgreSQL
and Redis, paths under /app become this checkout and a temporary VAR_DIR, and a port web
listens on becomes a free local one.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SECRET = "compose-test-secret-key-" + "x" * 40
SITE_DOMAIN = "stats.example.org"
DOCKER_COMPOSE = shutil.which("docker-compose")
needs_docker_compose = pytest.mark.skipif(
    DOCKER_COMPOSE is None,
    reason="docker-compose is not installed (apt-get install docker-compose)",
)


def _free_port() -> int:
    """A free loopback port, from PSS_TEST_PORTS (`first-last`) when set."""
    first, _, last = os.environ.get("PSS_TEST_PORTS", "0-0").partition("-")
    for port in range(int(first), int(last or first) + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise AssertionError("no free port")


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    """`docker-compose config`: the file validated, with its defaults filled in."""
    assert DOCKER_COMPOSE is not None
    result = subprocess.run(
        [DOCKER_COMPOSE, "-f", "docker-compose.yml", "config"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "SECRET_KEY": SECRET, "SITE_DOMAIN": SITE_DOMAIN},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def _local_env(service: dict[str, Any], var_dir: Path) -> dict[str, str]:
    """The service's environment, pointed at this machine's PostgreSQL and Redis."""
    env = {key: str(value) for key, value in service["environment"].items()}
    db = settings.DATABASES["default"]
    auth = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
    assert env["DATABASE_URL"].startswith("postgres://")
    env["DATABASE_URL"] = f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    env["REDIS_URL"] = os.environ["REDIS_URL"]
    return {
        **env,
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "HOME": str(var_dir),
        "VAR_DIR": str(var_dir),  # the image's /app/var
        # The image's keys: its own prefix, so nothing here meets the test run's keys.
        "CACHE_KEY_PREFIX": f"compose-{os.getpid()}",
    }


def _argv(command: str | list[str], port: int | None = None) -> list[str]:
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    return [
        arg.replace("/app/var", "$VAR_DIR").replace(":8000", f":{port}")
        if port is not None
        else arg.replace("/app/var", "$VAR_DIR")
        for arg in argv
    ]


def _healthcheck_argv(service: dict[str, Any], port: int | None = None) -> list[str]:
    test = service["healthcheck"]["test"]
    kind, rest = test[0], test[1:]
    if kind == "CMD-SHELL":
        # `config` prints a literal $ escaped as $$, as the file has it; compose hands the
        # container a single $.
        script = rest[0].replace("$$", "$")
        return ["sh", "-c", script.replace(":8000", f":{port}") if port else script]
    assert kind == "CMD"
    argv = _argv(rest, port)
    # A python -c snippet reads paths under VAR_DIR as the image's /app/var.
    return [arg.replace("'$VAR_DIR", "os.environ['VAR_DIR'] + '") for arg in argv]


def _wait_for_success(
    argv: list[str], env: dict[str, str], what: str, timeout: float = 60.0
) -> None:
    """Run `argv` until it exits 0 (a healthcheck passing), or fail with its last output."""
    deadline = time.monotonic() + timeout
    while True:
        result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
        if result.returncode == 0:
            return
        assert time.monotonic() < deadline, f"{what}: {result.stdout}{result.stderr}"
        time.sleep(0.2)


@pytest.fixture
def var_dir(tmp_path: Path) -> Path:
    path = tmp_path / "var"
    path.mkdir()
    return path


@pytest.fixture
def started(var_dir: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(var_dir / f"process-{len(processes)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, 15)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()


# --- The file ---------------------------------------------------------------------------------


@needs_docker_compose
def test_docker_compose_validates_the_file(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "beat", "proxy"}
    env = services["web"]["environment"]
    assert env["ALLOWED_HOSTS"] == SITE_DOMAIN
    assert env["CSRF_TRUSTED_ORIGINS"] == f"https://{SITE_DOMAIN}"
    assert services["proxy"]["command"][-3:] == [SITE_DOMAIN, "--to", "web:8000"]
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }


@needs_docker_compose
@pytest.mark.postgres  # the web service's environment, pointed at this machine's services
@pytest.mark.redis
def test_the_compose_defaults_pass_check_deploy(resolved: dict[str, Any], var_dir: Path) -> None:
    env = _local_env(resolved["services"]["web"], var_dir)
    result = subprocess.run(
        [str(BIN / "python"), "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


# --- The image's static files -----------------------------------------------------------------

_STATIC_PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.templatetags.static import static
from django.test import Client
url = static("js/charts.js")
response = Client().get(url, HTTP_ACCEPT_ENCODING="gzip")
print(json.dumps({
    "storage": settings.STORAGES["staticfiles"]["BACKEND"],
    "url": url,
    "status": response.status_code,
    "cache_control": response.get("Cache-Control"),
    "encoding": response.get("Content-Encoding"),
}))
"""


@pytest.mark.stack
def test_the_image_serves_hashed_compressed_static_files_with_far_future_headers(
    var_dir: Path,
) -> None:
    """The Dockerfile's own collectstatic line, then a process of the image asking for a
    static file: a hashed name, gzip, and a year-long immutable Cache-Control.

    `stack`: it runs the image's collectstatic (compressing every static file) and a
    process of the image, seconds of CPU and of waiting, as the other image commands here."""
    dockerfile = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    match = re.search(r"^RUN (.*?manage\.py collectstatic --noinput)", dockerfile, re.M)
    assert match is not None
    base = {"PATH": f"{BIN}:{os.environ['PATH']}", "HOME": str(var_dir), "VAR_DIR": str(var_dir)}
    subprocess.run(["sh", "-c", match.group(1)], cwd=ROOT, env=base, check=True)
    assert (var_dir / "staticfiles" / "staticfiles.json").exists()
    runtime = {**base, "SECRET_KEY": SECRET, "DEBUG": "0", "HTTPS": "0"}
    probe = subprocess.run(
        [str(BIN / "python"), "-c", _STATIC_PROBE],
        cwd=ROOT,
        env={**runtime, "DJANGO_SETTINGS_MODULE": "pypistats_site.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    answer = json.loads(probe.stdout.strip().splitlines()[-1])
    assert answer["storage"] == "pypistats_site.static_storage.HashedStaticFilesStorage"
    assert re.fullmatch(r"/static/js/charts\.[0-9a-f]{12}\.js", answer["url"]), answer
    assert answer["status"] == 200
    assert answer["encoding"] == "gzip"
    assert "immutable" in answer["cache_control"]
    assert int(re.search(r"max-age=(\d+)", answer["cache_control"])[1]) >= 365 * 24 * 3600  # type: ignore[index]


# --- Each container's command, run here -----------------------------------------------------


@needs_docker_compose
@pytest.mark.stack
@pytest.mark.django_db(transaction=True)
def test_migrate_then_web_with_its_healthcheck(
    resolved: dict[str, Any],
    var_dir: Path,
    started: Callable[..., subprocess.Popen[bytes]],
) -> None:
    """migrate's command exits 0; web's command serves; web's healthcheck, sent over loopback
    with ALLOWED_HOSTS set to the real domain, passes (it failed with a 400 before)."""
    services = resolved["services"]
    env = _local_env(services["web"], var_dir)
    migrate = subprocess.run(
        _argv(services["migrate"]["command"]), cwd=ROOT, env=env, capture_output=True, check=False
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    port = _free_port()
    argv = _argv(services["web"]["command"], port)
    # Here: loopback only, on a free port.
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    assert argv[argv.index("--port") + 1] == "8000"
    argv[argv.index("--host") + 1] = "127.0.0.1"
    argv[argv.index("--port") + 1] = str(port)
    started(argv, env)
    _wait_for_success(_healthcheck_argv(services["web"], port), env, "web's healthcheck")


@needs_docker_compose
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_and_beat_with_their_healthchecks(
    resolved: dict[str, Any],
    var_dir: Path,
    started: Callable[..., subprocess.Popen[bytes]],
) -> None:
    services = resolved["services"]
    env = _local_env(services["worker"], var_dir)
    # Docker sets HOSTNAME to the container's host name, which names the worker's node.
    env["HOSTNAME"] = socket.gethostname()
    started(_argv(services["worker"]["command"]), env)
    _wait_for_success(
        _healthcheck_argv(services["worker"]), env, "the worker's healthcheck", timeout=90
    )

    beat_check = _healthcheck_argv(services["beat"])
    assert subprocess.run(beat_check, cwd=ROOT, env=env, capture_output=True).returncode == 1
    started(_argv(services["beat"]["command"]), env)

    _wait_for_success(beat_check, env, "beat's healthcheck")
