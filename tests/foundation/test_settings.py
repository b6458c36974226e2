"""Settings run with zero variables, switch to PostgreSQL/Redis by env, and pass check --deploy."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'db': s.DATABASES['default']['ENGINE'], 'broker': s.CELERY_BROKER_URL, "
    "'cache': s.CACHES['default']['BACKEND'], 'debug': s.DEBUG, 'key': bool(s.SECRET_KEY)}))"
)


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    keep = {"PATH", "HOME", "LANG", "SYSTEMROOT"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        {"DJANGO_SETTINGS_MODULE": "pypistats_site.settings", "VAR_DIR": str(tmp_path / "var")}
    )
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.stack  # starts manage.py processes
def test_it_runs_with_zero_variables(tmp_path: Path) -> None:
    result = _run([sys.executable, "-c", PROBE], _clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe == {
        "db": "django.db.backends.sqlite3",
        "broker": "filesystem://",
        "cache": "django.core.cache.backends.filebased.FileBasedCache",
        "debug": False,
        "key": True,
    }
    # The generated secret key is kept private under VAR_DIR and reused.
    key_file = tmp_path / "var" / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    again = _run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)",
        ],
        _clean_env(tmp_path),
    )
    assert again.stdout.strip() == key_file.read_text().strip()


@pytest.mark.stack  # starts manage.py processes
def test_database_and_redis_urls_switch_backends(tmp_path: Path) -> None:
    env = _clean_env(
        tmp_path,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/test",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    result = _run([sys.executable, "-c", PROBE], env)
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["db"] == "django.db.backends.postgresql"
    assert probe["broker"] == "redis://127.0.0.1:6379/0"
    assert probe["cache"] == "django.core.cache.backends.redis.RedisCache"


@pytest.mark.stack  # starts manage.py processes
def test_check_deploy_is_clean_with_production_env(tmp_path: Path) -> None:
    env = _clean_env(
        tmp_path,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="stats.example.org",
        CSRF_TRUSTED_ORIGINS="https://stats.example.org",
        # Production sends real mail: the console backend is flagged (mail.E001).
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="smtp.example.org",
    )
    result = _run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.stack  # starts manage.py processes
def test_check_deploy_flags_an_insecure_setup(tmp_path: Path) -> None:
    """The check is real: without HTTPS settings it fails, so the clean run above means something."""
    env = _clean_env(tmp_path, DEBUG="0", HTTPS="0", SECRET_KEY=secrets.token_urlsafe(50))
    result = _run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env
    )
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout


@pytest.mark.parametrize(
    "path", ["docker-compose.yml", "Dockerfile", "Makefile", ".ci/run", "README.md"]
)
def test_top_level_files_exist(path: str) -> None:
    assert (ROOT / path).is_file()
