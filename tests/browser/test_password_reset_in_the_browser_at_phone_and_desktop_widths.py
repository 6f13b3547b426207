"""Forgot your password → email → new password → sign in, in Chromium, at 390 px and 1366 px: the pages
are the portal's, fit the screen (no sideways scrolling) and raise no Content Security Policy violation."""

import re

import pytest
from django.core import mail

from notifications.outbox import outbox_relay_once


@pytest.mark.parametrize("width", [390, 1366])
def test_reset_and_sign_in_with_the_new_password(directory, new_page, settings, width):
    settings.PIM_PASSWORD_RESET = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    directory.user("resetter")
    page = new_page()
    page.set_viewport_size({"width": width, "height": 800})
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)

    page.goto("/accounts/login/")
    page.click("text=Forgot your password?")
    page.fill("input[name=email]", "resetter@example.com")
    page.click("button:has-text('Email me a reset link')")
    page.wait_for_selector("h1:has-text('Check your mailbox')")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    outbox_relay_once(limit=100)
    [message] = [m for m in mail.outbox if m.to == ["resetter@example.com"]]
    link = re.search(r"http\S+/accounts/password/reset/key/\S+/", message.body).group(0)
    page.goto("/accounts/" + link.split("/accounts/", 1)[1])  # the live server's address, not PIM_SITE_URL
    page.wait_for_selector("h1:has-text('Set a new password')")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.fill("input[name=password1]", "correct-horse-battery-9")
    page.fill("input[name=password2]", "correct-horse-battery-9")
    page.click("button:has-text('Set the new password')")
    page.wait_for_selector("h1:has-text('Password changed')")

    page.click("a:has-text('Sign in')")
    page.fill("input[name=login]", "resetter")
    page.fill("input[name=password]", "correct-horse-battery-9")
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    assert violations == []
