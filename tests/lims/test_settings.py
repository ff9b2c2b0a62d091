"""Settings come from the environment, with safe production defaults."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_settings(
    env: dict[str, str], code: str = "from django.conf import settings; settings.SECRET_KEY"
) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL", "SECRET_KEY_FILE"}
    }
    return subprocess.run(
        [
            sys.executable,
            "-c",
            f"import django, os; os.environ['DJANGO_SETTINGS_MODULE']='lims.settings'; {code}",
        ],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_missing_secret_key_with_debug_off_stops_startup(tmp_path: Path) -> None:
    result = run_settings({"VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_generates_a_development_key_once(tmp_path: Path) -> None:
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    first = run_settings({"DEBUG": "1", "VAR_DIR": str(tmp_path)}, code)
    second = run_settings({"DEBUG": "1", "VAR_DIR": str(tmp_path)}, code)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout and len(first.stdout.strip()) >= 50
    assert (tmp_path / "secret_key").read_text().strip() == first.stdout.strip()


def test_secret_from_file_and_database_from_url(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("from-a-file\n")
    code = (
        "from django.conf import settings; d = settings.DATABASES['default'];"
        "print(settings.SECRET_KEY, d['ENGINE'], d['NAME'], d['HOST'], settings.DEBUG, settings.ALLOWED_HOSTS)"
    )
    result = run_settings(
        {
            "SECRET_KEY_FILE": str(key),
            "DATABASE_URL": "postgres://lab@db.example:5432/lims",
            "ALLOWED_HOSTS": "lims.example",
        },
        code,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "from-a-file",
        "django.db.backends.postgresql",
        "lims",
        "db.example",
        "False",
        "['lims.example']",
    ]


def test_default_database_is_sqlite_under_var(tmp_path: Path) -> None:
    code = "from django.conf import settings; print(settings.DATABASES['default']['NAME'])"
    result = run_settings({"DEBUG": "1", "VAR_DIR": str(tmp_path)}, code)
    assert result.stdout.strip() == str(tmp_path / "lims.sqlite3")


def test_raw_files_on_s3_compatible_storage_by_settings_alone(tmp_path: Path) -> None:
    secret = tmp_path / "s3-secret"
    secret.write_text("s3-secret-from-a-file\n")
    code = (
        "django.setup(); from django.core.files.storage import storages; s = storages['default'];"
        "print(type(s).__name__, s.bucket_name, s.endpoint_url, s.region_name,"
        " s.access_key, s.secret_key, s.addressing_style, s.file_overwrite, s.default_acl)"
    )
    result = run_settings(
        {
            "SECRET_KEY": "x",
            "STORAGE_BACKEND": "storages.backends.s3.S3Storage",
            "S3_BUCKET": "lims-raw",
            "S3_ENDPOINT_URL": "http://minio.lab:9000",
            "S3_REGION": "eu-central-1",
            "S3_ACCESS_KEY_ID": "lims",
            "S3_SECRET_ACCESS_KEY_FILE": str(secret),
            "S3_ADDRESSING_STYLE": "path",
        },
        code,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "S3Storage",
        "lims-raw",
        "http://minio.lab:9000",
        "eu-central-1",
        "lims",
        "s3-secret-from-a-file",
        "path",
        "False",
        "None",
    ]
