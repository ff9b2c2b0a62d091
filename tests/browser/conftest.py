"""Browser fixtures: Debian's Chromium, driven by Playwright, against pytest-django's live server.

The browser is never downloaded (no ``playwright install``): the system Chromium is used. When it
is missing the tests skip, except under ``CI=true``, where a missing browser is a broken build.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "pw-for-tests"  # tests/conftest.py gives every role's user this password
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium_args() -> list[str]:
    """Flags added to ``CHROMIUM_ARGS`` for a module's browser (override in the module, e.g.
    for a fake camera)."""
    return []


@pytest.fixture(scope="module")
def browser(chromium_args: list[str]) -> Iterator[Any]:
    # Module scope, not session: Playwright's sync API keeps an asyncio loop on the main thread
    # while it runs, and Django refuses ORM calls under a running loop in every later test.
    chromium = shutil.which("chromium")
    if chromium is None:
        _unavailable("Chromium is not installed (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("The playwright package is not installed (requirements-dev.txt)")
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        # Fixtures, tests and the database flush after each test use the ORM while Playwright's
        # loop is alive on this thread; Django's async-safety check would refuse them although
        # nothing here runs concurrently. Set for as long as the loop lives, no longer.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        launched = playwright.chromium.launch(
            executable_path=chromium, args=[*CHROMIUM_ARGS, *chromium_args]
        )
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser: Any, live_server: Any) -> Iterator[Callable[..., Any]]:
    """``new_page(viewport=..., has_touch=True)``: a page in a fresh context (own cookies).

    Requests that leave the live server are aborted, so a page that silently depends on the
    internet (a CDN script) fails here the way it would on the lab's offline network.
    """
    contexts = []

    def keep_local(route: Any) -> None:
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            route.abort()

    def make(**options: Any) -> Any:
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(10_000)
        context.route("**/*", keep_local)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        # Let each page finish loading (a plot it is drawing) before the test's
        # database is flushed: on SQLite a live-server thread inside a request holds a lock
        # the flush needs ("database table is locked").
        for page in context.pages:
            with contextlib.suppress(Exception):
                page.wait_for_load_state("load", timeout=10_000)
        context.close()


@pytest.fixture
def log_in() -> Callable[..., None]:
    """Fill the login form the page is on and submit it."""

    def submit(page: Any, username: str, password: str = PASSWORD) -> None:
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()

    return submit
