"""Every page says where its scripts, styles and images may come from (this server only, no inline
script), that it may not be framed, and that it uses no camera, microphone, location and the like."""

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def test_pages_and_api_answers_carry_both_headers(client, directory, global_admin):
    client.force_login(global_admin)
    for path in ("/", "/accounts/login/", "/api/v1/docs/", "/api/v1/ping", "/no-such-page/"):
        response = client.get(path)
        csp = response["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, path
        assert "camera=()" in response["Permissions-Policy"], path


def test_no_template_has_inline_script_handlers_or_styles():
    offenders = []
    for template in TEMPLATES.rglob("*.html"):
        if "email" in template.parts:
            continue  # emails are not served under the portal's CSP (mail clients need inline styles)
        text = template.read_text(encoding="utf-8")
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"\son[a-z]+\s*=", text) \
                or re.search(r"<style\b|\sstyle\s*=", text):
            offenders.append(str(template.relative_to(TEMPLATES)))
    assert offenders == []
