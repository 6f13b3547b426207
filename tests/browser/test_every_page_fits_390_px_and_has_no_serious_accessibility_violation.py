"""Every page of the inventory (tests/browser/every_page.py), as its persona, at 1366 px and at 390 px:
axe-core (tests/browser/node_modules, installed by `npm ci` there) reports no serious or critical
violation, and at 390 px the document is no wider than the viewport (nothing scrolls sideways)."""

import json
import os
from pathlib import Path

import pytest

from tests.browser import every_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = [1366, 390]
# PIM_PAGES=approvals:queue,assignments:list limits the walk while fixing a page.
ONLY = {name for name in os.environ.get("PIM_PAGES", "").split(",") if name}

# Pages that render late, and what to wait for before looking at them.
WAIT_FOR = {"api:docs": ".swagger-ui .opblock"}
# Rules not checked on a page, and why: only for third-party markup the portal does not write (none now:
# the API docs run Swagger UI without deep links, which nested an <a> in each operation's <button>).
AXE_SKIPPED: dict[str, dict[str, str]] = {}

RUN_AXE = """async (skipped) => {
  const rules = Object.fromEntries(skipped.map(id => [id, {enabled: false}]));
  const result = await axe.run(document, {resultTypes: ["violations"], rules});
  return result.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + (n.failureSummary || "").split("\\n")[1]),
  }));
}"""
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll("main *, header *, footer *")]
    .filter(e => e.getBoundingClientRect().right > width + 1 && getComputedStyle(e).position !== "absolute"
                 && !e.closest(".table-wrap, .visually-hidden, .skip-link, .default-submit"))
    .slice(0, 3).map(e => e.tagName.toLowerCase() + (e.className ? "." + String(e.className).split(" ").join(".") : "")
                    + " " + Math.round(e.getBoundingClientRect().right) + "px");
  return {scroll: document.documentElement.scrollWidth, width, wide};
}"""


def _axe_source() -> str:
    if not AXE.exists():
        message = f"axe-core is missing: run `npm ci` in {AXE.parents[2]}"
        if os.environ.get("PIM_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return AXE.read_text()


def test_every_page_fits_390_px_and_has_no_serious_accessibility_violation(directory, chromium, live_server):
    axe = _axe_source()
    world = every_page.build_world()
    cookies = {persona: every_page.session_client(user).cookies["sessionid"].value
               for persona, user in world.users.items()}
    visits = [v for v in every_page.visits(world) if not ONLY or v[1] in ONLY]
    problems = []
    for width in WIDTHS:
        contexts = {}
        for persona, name, path in visits:
            if persona not in contexts:
                # axe is injected as a script tag: the page's CSP (checked by another test) would refuse it.
                context = chromium.new_context(base_url=live_server.url, bypass_csp=True,
                                               viewport={"width": width, "height": 900})
                context.set_default_timeout(15000)
                if persona is not None:
                    context.add_cookies([{"name": "sessionid", "value": cookies[persona], "url": live_server.url}])
                contexts[persona] = context.new_page()
            page = contexts[persona]
            page.goto(path)
            if name in WAIT_FOR:
                page.wait_for_selector(WAIT_FOR[name])
            where = f"{width}px {name} ({path}, {persona or 'anonymous'})"
            if width <= 390:
                overflow = page.evaluate(OVERFLOW)
                if overflow["scroll"] > overflow["width"]:
                    problems.append(f"{where}: document {overflow['scroll']}px wide > {overflow['width']}px; "
                                    f"{overflow['wide']}")
            page.add_script_tag(content=axe)
            for violation in page.evaluate(RUN_AXE, list(AXE_SKIPPED.get(name, {}))):
                problems.append(f"{where}: {json.dumps(violation)}")
        for page in contexts.values():
            page.context.close()
    assert problems == [], "\n".join(problems)
