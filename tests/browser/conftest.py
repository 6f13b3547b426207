"""Browser tests: Playwright for Python (sync API) driving Debian's Chromium against pytest-django's
live server (in-process, so time_machine moves the server's clock too).

Without /usr/bin/chromium the tests skip with a reason; with PIM_REQUIRE_SERVICES=1 (CI) they fail.
"""

import os
from pathlib import Path

import pytest
from django.db import connections

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture
def chromium():
    """One Chromium per test: a session-wide Playwright would keep an event loop running in this thread
    and break other tests here that start their own (the sync API refuses to nest)."""
    if not CHROMIUM.exists():
        reason = f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("PIM_REQUIRE_SERVICES") == "1":
            pytest.fail(reason + " (PIM_REQUIRE_SERVICES=1: required in CI)")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
        # Django keeps a database connection per thread, but per async context while an event loop runs
        # in the thread, and Playwright's does: the test's own queries went through a connection of their
        # own. Close it while that loop still runs, or it outlives the test database (teardown warning).
        connections.close_all()


@pytest.fixture
def new_page(chromium, live_server):
    """Open a page in a fresh browser context (its own cookies): one per person in the scenario."""
    contexts = []

    def _new_page():
        context = chromium.new_context(base_url=live_server.url)
        context.set_default_timeout(15000)
        contexts.append(context)
        return context.new_page()

    yield _new_page
    for context in contexts:
        context.close()


@pytest.fixture
def sign_in():
    def _sign_in(page, username, password="pw-for-tests-123"):
        page.goto("/accounts/login/")
        page.fill("input[name=login]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]:has-text('Sign in')")
        page.wait_for_url(lambda url: "/accounts/login/" not in url)

    return _sign_in
