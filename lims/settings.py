"""LiNa LIMS settings: one module, driven by environment variables.

Production defaults are safe (DEBUG off, SECRET_KEY required, hosts explicit); development
conveniences apply only when DEBUG is on. Any secret can also be read from a file named by the
same variable with a ``_FILE`` suffix (``SECRET_KEY_FILE=/run/secrets/key``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envstr(name: str, default: str = "") -> str:
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text(encoding="utf-8").strip()
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in envstr(name, default).split(",") if item.strip()]


DEBUG = envbool("DEBUG", False)
VAR_DIR = Path(envstr("VAR_DIR", str(BASE_DIR / "var")))


def _secret_key() -> str:
    key = envstr("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY (or SECRET_KEY_FILE) in the environment; "
            "a development key is generated only when DEBUG is on."
        )
    # Development only: one random key per checkout, kept so sessions survive restarts.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        key_file.chmod(0o600)
    return key_file.read_text(encoding="utf-8").strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")

#: The lab's own apps: their models get role permissions (lims/roles.py).
LIMS_APPS = ["lims", "processing", "cells", "analysis", "reports"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    *LIMS_APPS,
    "glovebox",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "lims.middleware.NulCharacterMiddleware",
    "lims.middleware.ContentSecurityPolicyMiddleware",
    "lims.middleware.UploadLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "lims.middleware.RequestIdMiddleware",
    "lims.middleware.LoginRequiredEverywhereMiddleware",
]

ROOT_URLCONF = "lims.urls"
WSGI_APPLICATION = "lims.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        envstr("DATABASE_URL", f"sqlite:///{VAR_DIR / 'lims.sqlite3'}"),
        conn_max_age=envint("DB_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT compilation costs more than it saves on this app's short queries: its cost estimates
    # of lineage walks are far too high, and compiling took 25 ms for a 1 ms trace.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's backend, with a flush that respects the append-only history (lims.append_only).
    DATABASES["default"]["ENGINE"] = "lims.db.sqlite3"
    # WAL lets readers proceed while one writer holds the lock; the timeout makes a second
    # writer wait instead of failing at once with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    if DATABASES["default"]["NAME"] and DATABASES["default"]["NAME"] != ":memory:":
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = envstr("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(VAR_DIR / "media")))
# Raw files and cached plots go through Django's storage API: a deployment on several machines
# points STORAGE_BACKEND at S3-compatible storage (django-storages) by settings alone.
STORAGE_BACKEND = envstr("STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage")
STORAGE_OPTIONS: dict[str, object] = {}
if STORAGE_BACKEND == "storages.backends.s3.S3Storage":
    STORAGE_OPTIONS = {
        "bucket_name": envstr("S3_BUCKET"),
        "endpoint_url": envstr("S3_ENDPOINT_URL") or None,
        "region_name": envstr("S3_REGION") or None,
        "access_key": envstr("S3_ACCESS_KEY_ID") or None,
        "secret_key": envstr("S3_SECRET_ACCESS_KEY") or None,
        # "path" for MinIO and most self-hosted S3; boto3 picks the style when unset.
        "addressing_style": envstr("S3_ADDRESSING_STYLE") or None,
        "default_acl": None,
        "file_overwrite": False,
    }
STORAGES = {
    "default": {"BACKEND": STORAGE_BACKEND, "OPTIONS": STORAGE_OPTIONS},
    # Compressed, not hashed: pages render before collectstatic has run (tests, a first start).
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Uploads (lims/uploads.py): every file is checked from its bytes before it is stored or opened.
# A request body larger than the file limit (plus 1 MiB of form fields) is refused with 413 from
# its Content-Length, before it is read (lims.middleware.UploadLimitMiddleware).
MIB = 1024 * 1024
LIMS_UPLOAD_MAX_BYTES = envint("LIMS_UPLOAD_MAX_MB", 64) * MIB
LIMS_ARCHIVE_MAX_MEMBERS = envint("LIMS_ARCHIVE_MAX_MEMBERS", 1000)
LIMS_ARCHIVE_MAX_UNCOMPRESSED_BYTES = envint("LIMS_ARCHIVE_MAX_UNCOMPRESSED_MB", 128) * MIB
LIMS_ARCHIVE_MAX_RATIO = envint("LIMS_ARCHIVE_MAX_RATIO", 100)
LIMS_XLSX_MAX_PART_BYTES = envint("LIMS_XLSX_MAX_PART_MB", 16) * MIB
# Other request bodies (JSON, forms) are read into memory: they are refused above this size.
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * MIB)
# Uploaded files larger than this are streamed to a temporary file, never held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = envint("FILE_UPLOAD_MAX_MEMORY_SIZE", MIB)
FILE_UPLOAD_TEMP_DIR = envstr("FILE_UPLOAD_TEMP_DIR") or None
DATA_UPLOAD_MAX_NUMBER_FILES = envint("DATA_UPLOAD_MAX_NUMBER_FILES", 10)

# Background work runs on Django's task API (the django-tasks backport). The default runs a task
# at once in the process that enqueued it (the one-command demo needs no worker); production sets
# TASKS_BACKEND=django_tasks_db.DatabaseBackend and runs `manage.py db_worker` processes, which
# claim tasks with row locks that skip locked rows, so any number of workers share one queue.
TASKS = {
    "default": {
        "BACKEND": envstr("TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend"),
    }
}
#: A run still "running" this long after it started is taken as lost with its worker: it is
#: marked failed and queued again (up to ANALYSIS_MAX_ATTEMPTS attempts).
ANALYSIS_RUN_TIMEOUT_S = envint("ANALYSIS_RUN_TIMEOUT_S", 900)
ANALYSIS_MAX_ATTEMPTS = envint("ANALYSIS_MAX_ATTEMPTS", 3)
#: How often each worker process looks for lost runs before taking its next one.
ANALYSIS_RECOVER_INTERVAL_S = envint("ANALYSIS_RECOVER_INTERVAL_S", 60)
#: Called with a record's id after a change to it commits (see lims.services).
RECORD_CHANGE_HOOKS = ["analysis.flagging.record_changed"]
#: Sections other apps add to the record page (see lims.selectors.panel_providers).
RECORD_PAGE_PANELS = ["analysis.panels.record_panels"]
#: Sections of the home page, "what needs me today", in order (see lims.selectors.home_panels).
HOME_PANELS = ["analysis.home.home_panels", "lims.selectors.activity_panels"]
#: Extra modules that register analyses (see analysis/registry.py), comma-separated.
ANALYSIS_PLUGINS = envlist("ANALYSIS_PLUGINS")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", not DEBUG)
BEHIND_TLS_PROXY = envbool("BEHIND_TLS_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
# Behind the TLS proxy (production): plain HTTP is redirected and browsers told to stay on HTTPS.
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", BEHIND_TLS_PROXY)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if BEHIND_TLS_PROXY else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", True)
X_FRAME_OPTIONS = "DENY"
# No inline or third-party scripts anywhere (the API docs load their start-up script as a file);
# inline styles stay allowed for the page frame's <style> block.
CONTENT_SECURITY_POLICY = envstr(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)

# Login rate limits (lims.auth), counted in the cache: a file cache is shared by every worker.
AUTHENTICATION_BACKENDS = ["lims.auth.LoginRateLimitBackend"]
LOGIN_FAILURE_LIMIT_ACCOUNT = envint("LOGIN_FAILURE_LIMIT_ACCOUNT", 5)
LOGIN_FAILURE_LIMIT_ADDRESS = envint("LOGIN_FAILURE_LIMIT_ADDRESS", 30)
LOGIN_FAILURE_WINDOW_S = envint("LOGIN_FAILURE_WINDOW_S", 15 * 60)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": envstr("CACHE_DIR", str(VAR_DIR / "cache")),
    }
}

if envbool("FAST_PASSWORD_HASHER", False):
    # Tests only: hashing with PBKDF2 dominates a suite that logs many users in.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an unauthenticated call gets 401 with a WWW-Authenticate header.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["lims.permissions.RolePermission"],
    # Query parameters are read strictly: a malformed one answers 400 naming it (lims/api/query.py).
    "DEFAULT_FILTER_BACKENDS": ["lims.api.query.FilterBackend", "lims.api.query.OrderingFilter"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "lims.api.query.ContentNegotiation",
    # The API reads JSON (refusing NUL, lims/api/parsers.py); views that take a file add multipart.
    "DEFAULT_PARSER_CLASSES": ["lims.api.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "lims.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    # drf-spectacular's, plus the error answers every operation can give (lims/api/schema.py).
    "DEFAULT_SCHEMA_CLASS": "lims.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "lims.api.errors.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "LiNa LIMS API",
    "DESCRIPTION": (
        "Records of a solid-state battery lab (LLZO synthesis, LiNa foils, cells, measurements) "
        "with lineage traces and change history. Units are part of every numeric field name."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from our own static files: the glovebox network has no internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Two models have a "status": name their choice sets, so the schema has no collision.
    "ENUM_NAME_OVERRIDES": {
        "CellStatusEnum": "cells.models.Cell.Status",
        "RunStatusEnum": "analysis.models.runs.AnalysisRun.Status",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
}
