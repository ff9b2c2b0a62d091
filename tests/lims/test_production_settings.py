"""Point 9: production settings pass Django's deployment checks and send the security headers;
logins are rate-limited per account and per address."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from tests.lims.test_settings import run_settings

HOST = "lims.lab.example"


def _production(tmp_path: Path) -> dict[str, str]:
    key = tmp_path / "secret_key"
    key.write_text(secrets.token_urlsafe(60))
    return {
        "SECRET_KEY_FILE": str(key),
        "BEHIND_TLS_PROXY": "1",
        "ALLOWED_HOSTS": HOST,
        "CSRF_TRUSTED_ORIGINS": f"https://{HOST}",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "VAR_DIR": str(tmp_path),
        "DEBUG": "0",
    }


def test_check_deploy_passes_at_warning_level_0_warnings(tmp_path: Path) -> None:
    result = run_settings(
        _production(tmp_path),
        "django.setup(); from django.core.management import call_command; "
        "call_command('check', deploy=True, fail_level='WARNING')",
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout + result.stderr


def test_production_headers_hsts_ssl_redirect_and_csp(tmp_path: Path) -> None:
    code = (
        "django.setup(); from django.test import Client; c = Client();"
        f"r = c.get('/login/', HTTP_HOST='{HOST}');"
        "print(r.status_code, r['Location']);"
        f"r = c.get('/login/', HTTP_HOST='{HOST}', HTTP_X_FORWARDED_PROTO='https');"
        "print(r.status_code);"
        "print(r['Strict-Transport-Security']);"
        "print(r['Content-Security-Policy']);"
        "print(r['X-Frame-Options'], r['X-Content-Type-Options'])"
    )
    result = run_settings(_production(tmp_path), code)
    assert result.returncode == 0, result.stderr
    redirect, ok, hsts, csp, frames = result.stdout.strip().splitlines()
    assert redirect == f"301 https://{HOST}/login/"
    assert ok == "200"
    assert hsts == "max-age=31536000; includeSubDomains; preload"
    assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp.split("style-src")[0]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert frames == "DENY nosniff"


@pytest.mark.django_db
def test_pages_have_no_inline_scripts(client: Client, users: Any) -> None:
    """The CSP forbids inline scripts, so no page may rely on one."""
    import re

    client.force_login(users["admin"])
    for url in ("/", "/login/", "/api/docs/", "/admin/"):
        body = client.get(url).content.decode()
        inline = [m for m in re.findall(r"<script([^>]*)>\s*\S", body) if "src=" not in m]
        assert not inline, f"{url} has an inline script"


@pytest.fixture
def clean_counts() -> Any:
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
@override_settings(LOGIN_FAILURE_LIMIT_ACCOUNT=5, LOGIN_FAILURE_LIMIT_ADDRESS=12)
def test_login_rate_limited_per_account_5_then_refused(users: Any, clean_counts: None) -> None:
    client = Client(REMOTE_ADDR="10.0.0.1")
    for _ in range(5):
        response = client.post("/login/", {"username": "scientist", "password": "wrong"})
        assert (
            response.status_code == 200
            and "Wrong username or password" in response.content.decode()
        )
    # The right password is refused now, from anywhere, with the reason.
    response = Client(REMOTE_ADDR="10.0.0.2").post(
        "/login/", {"username": "scientist", "password": "pw-for-tests"}
    )
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in Client().session
    # Another account from the first address still logs in, and that clears nothing else.
    ok = Client(REMOTE_ADDR="10.0.0.1").post(
        "/login/", {"username": "operator", "password": "pw-for-tests"}
    )
    assert ok.status_code == 302
    cache.clear()
    assert (
        Client().post("/login/", {"username": "scientist", "password": "pw-for-tests"}).status_code
        == 302
    )


@pytest.mark.django_db
@override_settings(LOGIN_FAILURE_LIMIT_ACCOUNT=100, LOGIN_FAILURE_LIMIT_ADDRESS=12)
def test_login_rate_limited_per_address_12_then_refused(users: Any, clean_counts: None) -> None:
    attacker = Client(REMOTE_ADDR="10.0.0.9")
    for n in range(12):
        attacker.post("/login/", {"username": f"guess{n}", "password": "wrong"})
    refused = attacker.post("/login/", {"username": "operator", "password": "pw-for-tests"})
    assert "Too many failed logins" in refused.content.decode()
    # The same account from another address is fine: the address was blocked, not the user.
    elsewhere = Client(REMOTE_ADDR="10.0.0.10").post(
        "/login/", {"username": "operator", "password": "pw-for-tests"}
    )
    assert elsewhere.status_code == 302
