"""Settings for pypistats-site: one file, driven by the environment.

It runs with zero variables (SQLite under var/, a file-system Celery broker, a
file cache); every production knob is an environment variable listed in the
README. Test-only overrides live in tests/conftest.py, not here.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import django_stubs_ext
import environ
from django.utils.csp import CSP

# Lets the classes django-stubs declares generic be subscripted at runtime too
# (`admin.ModelAdmin[Package]`, `forms.ModelForm[Package]`), as strict typing asks; it only
# adds __class_getitem__ and changes no behaviour.
django_stubs_ext.monkeypatch()

env = environ.Env()

BASE_DIR = Path(__file__).resolve().parent.parent
# Local state (SQLite, the file broker and cache, the generated secret key). Settings only
# name these paths; packages_app's AppConfig.ready() creates the folders the configured
# backends need, so importing settings (mypy, tooling) writes nothing.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in var/.

    Zero configuration must still never mean a key that is published in the repo.
    """
    value: str = env.str("SECRET_KEY", default="")
    if value:
        return value
    path = VAR_DIR / "secret_key"
    if not path.exists():
        # The one write settings make, and only with no SECRET_KEY: the key must exist
        # before anything else can run.
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_NAME = env.str("SITE_NAME", default="pypistats-site")
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "axes",
    "packages_app",
    "watchlists",
]

MIDDLEWARE = [
    # A container healthcheck's GET /healthz over loopback, answered before host validation
    # (packages_app/health.py says exactly which requests).
    "packages_app.health.LocalHealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # A NUL or a lone surrogate in the path, query or form: one 400 for every view.
    "pypistats_site.input_guard.InputGuardMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "pypistats_site.urls"
WSGI_APPLICATION = "pypistats_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "packages_app.context_processors.site",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE makes a writer wait for the lock instead of failing with
    # "database is locked" when the web server and the worker write at once.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("OPTIONS", {})
    # Fail fast when PostgreSQL is down instead of hanging requests for 30 s.
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 3)
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# --- Redis, cache and Celery ----------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Every key this site writes starts with it, so several sites can share a Redis: the cache's
# keys and those the JSON API writes itself (packages_app/api/shared_store.py). After it, the
# cache's keys and the API's answers carry the database's own id (a cache shared by two
# databases never mixes them: packages_app/database_identity.py).
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="pss")
# A Redis that hangs costs a request a second, not a hung worker: the cache and the API's
# own client use the same timeouts (seconds).
REDIS_SOCKET_TIMEOUTS = {"socket_connect_timeout": 1, "socket_timeout": 1}

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "KEY_FUNCTION": "packages_app.database_identity.cache_key",
            "OPTIONS": {**REDIS_SOCKET_TIMEOUTS},
        }
    }
else:
    # Shared between the web server and the worker processes, with no server.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "KEY_FUNCTION": "packages_app.database_identity.cache_key",
        }
    }

CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # refresh tasks are idempotent
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# Time limits (seconds) of every task: Celery's default for all of them, and the refresh's
# own (its upstream calls may wait for budget slots and retries). The broker's visibility
# timeout below is derived from the longest hard limit.
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
REFRESH_TASK_SOFT_TIME_LIMIT = 240
REFRESH_TASK_TIME_LIMIT = 300
CELERY_WORKER_MAX_TASKS_PER_CHILD = 1000
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# The queue tasks are sent to and a worker consumes. The tests' real workers use one of
# their own, so a `make run` beside them on the same Redis never sees their tasks.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
# Redis visibility timeout: a message not acknowledged within this is delivered again. A
# pool process that dies is requeued at once (reject_on_worker_lost), but a worker killed as
# a whole leaves its task unacknowledged until then: so it is the longest task's hard time
# limit plus a margin (minutes, not an hour), past which no live run of it can remain. A
# copy that still meets a live run (a countdown longer than this, a worker that was only
# stalled) waits on the per-package lock and skips what that run completed
# (packages_app/sync/tasks.py); notifications are guarded by their lease. Tests shorten it.
CELERY_VISIBILITY_TIMEOUT = env.int(
    "CELERY_VISIBILITY_TIMEOUT",
    default=max(CELERY_TASK_TIME_LIMIT, REFRESH_TASK_TIME_LIMIT) + 60,
)
# The per-package refresh lock expires this long after its holder stops renewing it (a
# killed worker): how long a redelivered refresh waits before it takes over.
REFRESH_LOCK_SECONDS = env.int("REFRESH_LOCK_SECONDS", default=30)
# Folders of kombu's file-system transport (the zero-configuration broker); `control` is
# where it keeps its exchange files (by default it would be the working directory).
CELERY_QUEUE_DIR = VAR_DIR / "celery" / "queue"
CELERY_CONTROL_DIR = VAR_DIR / "celery" / "control"
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object]
if REDIS_URL:
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
else:
    # kombu's server-less file-system transport (see docs/decisions.md).
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_QUEUE_DIR),
        "data_folder_out": str(CELERY_QUEUE_DIR),
        "control_folder": str(CELERY_CONTROL_DIR),
        "store_processed": False,
    }
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")
# Beat writes its schedule file after every task it sends (two a minute at least), so the
# file's age says whether beat is alive: the compose healthcheck of beat reads it.
CELERY_BEAT_SYNC_EVERY = 1

# --- Upstream (the PyPI Stats API) ------------------------------------------------
PYPISTATS_API_URL = env.str("PYPISTATS_API_URL", default="https://pypistats.org/api").rstrip("/")
UPSTREAM_CONTACT = env.str("UPSTREAM_CONTACT", default=SITE_URL)
# Upstream allows 5/s and 30/min per endpoint and IP; we stay a margin below.
UPSTREAM_RATE_PER_SECOND = env.float("UPSTREAM_RATE_PER_SECOND", default=1.0)
UPSTREAM_RATE_PER_MINUTE = env.float("UPSTREAM_RATE_PER_MINUTE", default=20.0)
UPSTREAM_CONNECT_TIMEOUT = env.float("UPSTREAM_CONNECT_TIMEOUT", default=5.0)
UPSTREAM_READ_TIMEOUT = env.float("UPSTREAM_READ_TIMEOUT", default=10.0)
UPSTREAM_MAX_TRIES = env.int("UPSTREAM_MAX_TRIES", default=5)
UPSTREAM_BACKOFF_BASE = env.float("UPSTREAM_BACKOFF_BASE", default=2.0)
UPSTREAM_BACKOFF_CAP = env.float("UPSTREAM_BACKOFF_CAP", default=600.0)
UPSTREAM_PAUSE_AFTER_429 = env.float("UPSTREAM_PAUSE_AFTER_429", default=60.0)
# Shown on every page that displays data fetched from the bundled demo upstream.
DEMO_UPSTREAM = env.bool("DEMO_UPSTREAM", default=False)

# --- ClickHouse, the second source (packages_app/history/) ------------------------------
# ClickPy's public read-only instance by default; an empty CLICKHOUSE_URL turns the source
# off and the site works on upstream alone. Under pytest the default is off, so no test can
# reach the internet (a test that wants the source points it at the local stand-in), and
# `make run` passes an empty default too (docs/decisions.md, "ClickHouse with zero config").
CLICKPY_URL = "https://clickpy-clickhouse.clickhouse.com"
CLICKHOUSE_URL = env.str(
    "CLICKHOUSE_URL", default="" if "PYTEST_VERSION" in os.environ else CLICKPY_URL
).rstrip("/")
CLICKHOUSE_USER = env.str("CLICKHOUSE_USER", default="play")
CLICKHOUSE_PASSWORD = env.str("CLICKHOUSE_PASSWORD", default="")
CLICKHOUSE_DATABASE = env.str("CLICKHOUSE_DATABASE", default="pypi")
# ClickPy's play user has quotas of its own; a whole backfill is 5 queries.
CLICKHOUSE_RATE_PER_SECOND = env.float("CLICKHOUSE_RATE_PER_SECOND", default=2.0)
CLICKHOUSE_RATE_PER_MINUTE = env.float("CLICKHOUSE_RATE_PER_MINUTE", default=60.0)
CLICKHOUSE_CONNECT_TIMEOUT = env.float("CLICKHOUSE_CONNECT_TIMEOUT", default=5.0)
CLICKHOUSE_READ_TIMEOUT = env.float("CLICKHOUSE_READ_TIMEOUT", default=30.0)
CLICKHOUSE_MAX_TRIES = env.int("CLICKHOUSE_MAX_TRIES", default=4)
CLICKHOUSE_BACKOFF_BASE = env.float("CLICKHOUSE_BACKOFF_BASE", default=2.0)
CLICKHOUSE_BACKOFF_CAP = env.float("CLICKHOUSE_BACKOFF_CAP", default=300.0)
# A quota error (code 201) pauses every ClickHouse query in every process this long.
CLICKHOUSE_PAUSE_AFTER_QUOTA = env.float("CLICKHOUSE_PAUSE_AFTER_QUOTA", default=300.0)
# The weekly job re-reads this many weeks (ClickPy's sync can lag, then catch up or restate).
CLICKHOUSE_REREAD_WEEKS = env.int("CLICKHOUSE_REREAD_WEEKS", default=4)
# Days whose without_mirrors differ by more than this share are marked (the cross-check).
CLICKHOUSE_AGREEMENT_TOLERANCE = env.float("CLICKHOUSE_AGREEMENT_TOLERANCE", default=0.01)

# --- The compatible JSON API (packages_app/api/) ------------------------------------
# Requests per minute per client IP across all API endpoints, shared by every
# worker through the cache; 0 turns the limit off. Upstream allows 30/min.
API_RATE_LIMIT_PER_MINUTE = env.int("API_RATE_LIMIT_PER_MINUTE", default=600)
# Cache-Control max-age of API answers (upstream data changes once a day).
API_CACHE_MAX_AGE = env.int("API_CACHE_MAX_AGE", default=3600)
# How long a pre-serialised answer stays in the cache (keys die with data_version anyway).
API_CACHE_TIMEOUT = env.int("API_CACHE_TIMEOUT", default=7 * 24 * 3600)
# With REDIS_URL set the API keeps counters and answers in Redis through a client of its own;
# without it, in this Django cache.
API_CACHE_ALIAS = env.str("API_CACHE_ALIAS", default="default")
# Queue a valid but unknown package for tracking when the API is asked for it.
# Off by default: anyone could otherwise make the site track arbitrary names.
API_TRACK_UNKNOWN_PACKAGES = env.bool("API_TRACK_UNKNOWN_PACKAGES", default=False)
# Answer API hits (cached answers, 304s, 429s for held packages) in the WSGI fast path
# (packages_app/api/fastpath.py) instead of Django's full request handling. Same bytes
# either way; 0 sends every request through Django.
API_FAST_PATH = env.bool("API_FAST_PATH", default=True)
# Package, compare, home and public-watchlist pages from cache (packages_app/page_cache.py):
# entries are keyed by what decides their bytes, so they need no invalidation; they expire
# PAGE_CACHE_TIMEOUT seconds after they were stored.
PAGE_CACHE = env.bool("PAGE_CACHE", default=True)
PAGE_CACHE_TIMEOUT = env.int("PAGE_CACHE_TIMEOUT", default=6 * 3600)

# --- Package pages, search and badges (packages_app/pages/) ----------------------------
# How many new packages one signed-in user may start tracking per day (UTC), from
# the package page; the watchlists flow applies the same limit.
TRACK_LIMIT_PER_USER_PER_DAY = env.int("TRACK_LIMIT_PER_USER_PER_DAY", default=20)
# Badges and their endpoint JSON: how long browsers and shields.io may reuse them.
BADGE_MAX_AGE = env.int("BADGE_MAX_AGE", default=3600)

# --- Auth ---------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# After logging in, land on the dashboard of one's watchlists.
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"

# django-axes: lock out (username, IP) pairs, so one attacker cannot lock a
# victim out from everywhere.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Submissions per client IP per hour of the forms that tell whether a name or address
# exists (watchlists/throttle.py); 0 turns a limit off.
SIGNUP_LIMIT_PER_IP_PER_HOUR = env.int("SIGNUP_LIMIT_PER_IP_PER_HOUR", default=10)
PASSWORD_RESET_LIMIT_PER_IP_PER_HOUR = env.int("PASSWORD_RESET_LIMIT_PER_IP_PER_HOUR", default=5)
# Cut to the length axes can store (an over-long login name answered 500).
AXES_USERNAME_CALLABLE = "watchlists.lockout.lockout_username"
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
AXES_IPWARE_PROXY_COUNT = env.int("PROXY_COUNT", default=0)
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]

# --- Email --------------------------------------------------------------------------
# Django 6.1's MAILERS (the EMAIL_* settings are deprecated). Console by default;
# EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend plus EMAIL_* for SMTP.
EMAIL_BACKEND_PATH = env.str(
    "EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
_mail_options: dict[str, object] = {}
if EMAIL_BACKEND_PATH.endswith("smtp.EmailBackend"):
    _mail_options = {
        "host": env.str("EMAIL_HOST", default="localhost"),
        "port": env.int("EMAIL_PORT", default=25),
        "username": env.str("EMAIL_HOST_USER", default=""),
        "password": env.str("EMAIL_HOST_PASSWORD", default=""),
        "use_tls": env.bool("EMAIL_USE_TLS", default=False),
        "timeout": env.int("EMAIL_TIMEOUT", default=10),
    }
MAILERS = {"default": {"BACKEND": EMAIL_BACKEND_PATH, "OPTIONS": _mail_options}}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="pypistats-site <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- I18N, static ----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Hashed, compressed names (served with far-future cache headers) once collectstatic has
# written its manifest; plain files otherwise (dev, tests). The default is read when a process
# starts, so the collectstatic that writes the manifest must be told: the Dockerfile runs it
# with STATIC_MANIFEST=1, and every process of the image then finds staticfiles.json.
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", default=(STATIC_ROOT / "staticfiles.json").exists())
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "pypistats_site.static_storage.HashedStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Serve straight from the source folders when collectstatic has not run (dev, tests); with
# the manifest, only the collected (hashed, compressed) files.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=not STATIC_MANIFEST)
WHITENOISE_AUTOREFRESH = DEBUG

# --- Security -----------------------------------------------------------------------------
# HTTPS is on by default whenever DEBUG is off; set HTTPS=0 only behind
# something that is not a browser (a loopback benchmark, say).
# Under pytest (which sets PYTEST_VERSION) the default is off: the test client and the
# session-wide live server speak plain HTTP, and settings load before any conftest runs.
HTTPS = env.bool("HTTPS", default=not DEBUG and "PYTEST_VERSION" not in os.environ)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # htmx reads the token from <body hx-headers>, not the cookie
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=14 * 24 * 3600)
# Health probes come over plain HTTP from inside the deployment.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if HTTPS:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# No inline scripts or styles anywhere: every script is a static file.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# --- Upstream sync (issue 3): refresh scheduling and backoff ---------------------------------
# A failing package is retried after base * 2^(failures-1) seconds, capped; a package
# upstream does not know (404) is looked at again after this many days.
REFRESH_FAILURE_BACKOFF_BASE = env.float("REFRESH_FAILURE_BACKOFF_BASE", default=300.0)
REFRESH_FAILURE_BACKOFF_CAP = env.float("REFRESH_FAILURE_BACKOFF_CAP", default=86400.0)
REFRESH_NOT_FOUND_RETRY_DAYS = env.int("REFRESH_NOT_FOUND_RETRY_DAYS", default=7)
# How long one upstream call inside a Celery task may wait for a budget slot or a retry
# before the task gives the worker back and retries later with a countdown.
UPSTREAM_TASK_MAX_WAIT = env.float("UPSTREAM_TASK_MAX_WAIT", default=30.0)
# A sweep claims each package it enqueues for this long (next_attempt_at), so the
# frequent sweep and the hourly daily-sweep repeats do not enqueue it again while its
# task waits in the queue; the refresh itself then sets the real next attempt.
REFRESH_CLAIM_SECONDS = env.int("REFRESH_CLAIM_SECONDS", default=3600)

# --- Teams and watchlists (watchlists app) --------------------------------------------------
# Limits that keep one account from flooding the upstream budget (docs/decisions.md).
WATCHLIST_MAX_PACKAGES = env.int("WATCHLIST_MAX_PACKAGES", default=200)
WATCHLIST_MAX_PER_OWNER = env.int("WATCHLIST_MAX_PER_OWNER", default=50)
# TRACK_LIMIT_PER_USER_PER_DAY (above, with the package pages) applies here too.

# --- Digests, alerts and webhooks (watchlists/notify/) -----------------------------------
# Webhooks to private, loopback, link-local or reserved addresses are refused (SSRF)
# unless an operator allows them (an intranet receiver; the tests' loopback server).
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# A message is tried this many times (email or webhook) before it is marked dead.
NOTIFY_MAX_ATTEMPTS = env.int("NOTIFY_MAX_ATTEMPTS", default=5)
