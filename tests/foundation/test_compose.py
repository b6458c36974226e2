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


def test_it_has_the_five_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "redis", "web", "worker", "beat"}


@pytest.mark.parametrize("name", ["postgres", "redis"])
def test_backing_services_have_healthchecks(compose: dict[str, Any], name: str) -> None:
    healthcheck = compose["services"][name]["healthcheck"]
    assert healthcheck["test"], name
    assert {"interval", "timeout", "retries"} <= set(healthcheck)


def test_app_services_share_settings_through_an_anchor(compose: dict[str, Any]) -> None:
    raw = (ROOT / "docker-compose.yml").read_text()
    assert "x-app: &app" in raw
    anchor = compose["x-app"]
    envs = [compose["services"][name]["environment"] for name in ("web", "worker", "beat")]
    assert envs[0] == envs[1] == envs[2] == anchor["environment"]
    env = anchor["environment"]
    assert (
        env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
    )
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert env["DEBUG"] == "0"
    assert "SECRET_KEY" in env


@pytest.mark.parametrize("name", ["web", "worker", "beat"])
def test_app_services_wait_for_healthy_backing_services(compose: dict[str, Any], name: str) -> None:
    depends = compose["services"][name]["depends_on"]
    assert depends == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }


def test_commands(compose: dict[str, Any]) -> None:
    services = compose["services"]
    web = _command(services["web"])
    assert (
        web.index("manage.py migrate")
        < web.index("manage.py track __all__")
        < web.index("granian --interface wsgi")
    )
    assert "pypistats_site.wsgi:application" in web
    assert "celery -A pypistats_site worker" in _command(services["worker"])
    assert "celery -A pypistats_site beat" in _command(services["beat"])
    assert services["beat"]["deploy"]["replicas"] == 1
    assert "noeviction" in _command(services["redis"])


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
    assert "run: migrate" in makefile and "demo: migrate" in makefile
