"""No Docker engine runs here, so the production stack is checked by reading its files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    # Parsed YAML of the compose file: Any, because checking its shape is these tests' job.
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def _command(service: dict[str, Any]) -> str:
    command = service["command"]
    return " ".join(command) if isinstance(command, list) else command


APP_SERVICES = ("migrate", "web", "worker", "beat")


def test_it_has_its_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {
        "postgres",
        "redis",
        "migrate",
        "web",
        "worker",
        "beat",
        "proxy",
    }


@pytest.mark.parametrize("name", ["postgres", "redis", "web", "worker", "beat"])
def test_long_running_services_have_healthchecks(compose: dict[str, Any], name: str) -> None:
    healthcheck = compose["services"][name]["healthcheck"]
    assert healthcheck["test"], name
    assert {"interval", "timeout", "retries"} <= set(healthcheck)


def test_app_services_share_settings_through_an_anchor(compose: dict[str, Any]) -> None:
    raw = (ROOT / "docker-compose.yml").read_text()
    assert "x-app: &app" in raw
    anchor = compose["x-app"]
    envs = [compose["services"][name]["environment"] for name in APP_SERVICES]
    assert all(env == anchor["environment"] for env in envs)
    env = anchor["environment"]
    assert (
        env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
    )
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert env["DEBUG"] == "0"
    assert "SECRET_KEY" in env
    # Behind the bundled TLS proxy, the only peer web has.
    assert env["SECURE_PROXY_SSL_HEADER"] == "1" and env["PROXY_COUNT"] == "1"
    assert env["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"


def test_migrations_run_once_before_web_worker_and_beat(compose: dict[str, Any]) -> None:
    services = compose["services"]
    healthy = {"condition": "service_healthy"}
    assert services["migrate"]["depends_on"] == {"postgres": healthy, "redis": healthy}
    assert services["migrate"]["restart"] == "no"
    migrate = _command(services["migrate"])
    assert migrate.index("manage.py migrate --noinput") < migrate.index("manage.py track __all__")
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"] == {
            "postgres": healthy,
            "redis": healthy,
            "migrate": {"condition": "service_completed_successfully"},
        }, name
        assert "migrate" not in _command(services[name]), name


def test_commands(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "granian --interface wsgi" in _command(services["web"])
    assert "pypistats_site.wsgi:application" in _command(services["web"])
    assert "celery -A pypistats_site worker" in _command(services["worker"])
    assert "celery -A pypistats_site beat" in _command(services["beat"])
    assert services["beat"]["deploy"]["replicas"] == 1
    assert "noeviction" in _command(services["redis"])
    # Only the TLS proxy is published; web is reachable from it alone.
    assert "ports" not in services["web"]
    assert set(services["proxy"]["ports"]) == {"80:80", "443:443"}
    assert "--to web:8000" in _command(services["proxy"])


def test_dockerfile_installs_the_lock_and_runs_unprivileged() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --no-cache-dir --require-hashes -r requirements/lock.txt" in dockerfile
    assert "collectstatic" in dockerfile
    assert "\nUSER app\n" in dockerfile
    assert dockerfile.startswith("# ") and "FROM python:3.12" in dockerfile


def test_every_setup_tracks_all_of_pypi() -> None:
    """The compare page's share of all PyPI needs __all__: make run/demo and compose track it."""
    makefile = (ROOT / "Makefile").read_text()
    migrate = makefile[makefile.index("\nmigrate:") :].split("\n\n", 1)[0]
    assert "migrate --noinput" in migrate and "track __all__" in migrate
    assert "run: migrate" in makefile
    # make demo migrates its own database and tracks __all__ there (bin/demo.py).
    assert "demo: install" in makefile
    assert '"__all__"' in (ROOT / "bin" / "demo.py").read_text()
