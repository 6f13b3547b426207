"""The administrators' dashboard renders in Chromium with its three server-side SVG charts: the
SVG elements are in the page (accessible: role="img", <title>), and a screenshot of each chart
shows its bars (pixels of the chart colour), with JavaScript turned off for the portal.

Playwright's sync API driving Debian's Chromium (the `chromium` fixture) against the live server.
"""

import base64
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test

BAR_RGB = (0x1F, 0x5F, 0xBF)  # alerts.charts.PALETTE[0]

pytestmark = pytest.mark.browser


def _arrange():
    from assignments.services import assignment_insert
    from tests.conftest import Directory

    directory = Directory()
    admin = directory.user("carol")
    directory.grant(admin, "privileged-role-administrator")
    eligible = directory.grant(directory.user("alice"), "helpdesk-administrator", kind="eligible")
    now = timezone.now()
    for days_ago in (1, 3, 3, 7):  # past activations (ended), on three different days
        start = now - timedelta(days=days_ago)
        with transaction.atomic():
            assignment_insert(principal=eligible.principal, role=eligible.role, scope=eligible.scope, kind="active",
                              start_at=start, end_at=start + timedelta(hours=1), actor=SETUP, now=now,
                              activated_from=eligible)
    return admin


def _bar_pixels(browser, png: bytes) -> int:
    """Count pixels of the bar colour in a PNG, decoded by the browser's own canvas."""
    page = browser.new_page()
    try:
        return page.evaluate(
            """async ([data, rgb]) => {
                const img = new Image();
                img.src = "data:image/png;base64," + data;
                await img.decode();
                const canvas = document.createElement("canvas");
                canvas.width = img.width; canvas.height = img.height;
                const ctx = canvas.getContext("2d");
                ctx.drawImage(img, 0, 0);
                const px = ctx.getImageData(0, 0, img.width, img.height).data;
                let n = 0;
                for (let i = 0; i < px.length; i += 4) {
                    if (Math.abs(px[i] - rgb[0]) < 8 && Math.abs(px[i + 1] - rgb[1]) < 8
                        && Math.abs(px[i + 2] - rgb[2]) < 8) n++;
                }
                return n;
            }""",
            [base64.b64encode(png).decode(), list(BAR_RGB)],
        )
    finally:
        page.close()


def test_dashboard_renders_its_svg_charts(transactional_db, live_server, chromium, tmp_path):
    _arrange()
    context = chromium.new_context(base_url=live_server.url, java_script_enabled=False,
                                            viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15000)
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        page.fill("input[name=login]", "carol")
        page.fill("input[name=password]", "pw-for-tests-123")
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        response = page.goto("/alerts/dashboard/")
        assert response.status == 200
        assert page.locator("h1").inner_text() == "Dashboard"

        charts = page.locator("svg.chart[role=img]")
        assert charts.count() == 3
        for css in ("chart-activations", "chart-types", "chart-top-roles"):
            chart = page.locator(f"svg.{css}")
            assert chart.count() == 1, css
            assert chart.locator("title").first.text_content().strip(), css
            assert chart.locator("rect.bar").count() >= 1, css
            box = chart.bounding_box()
            assert box and box["width"] > 200 and box["height"] > 60, (css, box)
        assert page.locator("svg.chart-activations rect.bar").count() == 30
        assert "4 in total" in page.locator("svg.chart-activations desc").text_content()

        full = page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        assert full[:8] == b"\x89PNG\r\n\x1a\n" and len(full) > 20_000
        activations = page.locator("svg.chart-activations").screenshot()
        assert _bar_pixels(chromium, activations) > 200  # the activation bars are drawn
        types = page.locator("svg.chart-types").screenshot()
        assert _bar_pixels(chromium, types) > 200  # the first bar (permanent eligible…) is drawn
    finally:
        context.close()
