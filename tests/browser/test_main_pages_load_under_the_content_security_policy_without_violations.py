"""The main pages, the live search picker and Swagger UI work under the portal's Content-Security-Policy:
Chromium reports no violation (neither as a securitypolicyviolation event nor in the console)."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = ["/", "/alerts/dashboard/", "/alerts/security/", "/alerts/discovery/", "/manage/assignments/",
         "/manage/role-settings/", "/manage/directory/", "/audit/", "/audit/mine/", "/requests/roles/",
         "/requests/mine/", "/requests/approvals/", "/reviews/", "/provisioning/", "/api/v1/tokens/",
         "/account/security/", "/account/mfa/totp/", "/no-such-page/"]

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile);
});
"""


def test_main_pages_report_no_csp_violation(directory, new_page, sign_in):
    admin = directory.user("carol")
    directory.grant(admin, "global-administrator")
    directory.user("dave.requester")
    page = new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    console = []
    page.on("console", lambda message: console.append(message.text))
    violations = []

    def visit(path):
        response = page.goto(path)
        assert "default-src 'self'" in response.headers["content-security-policy"], path
        violations.extend(f"{path}: {v}" for v in page.evaluate("window.__cspViolations"))

    visit("/accounts/login/")
    sign_in(page, "carol")
    for path in PAGES:
        visit(path)

    # The picker's live search (fetch from picker.js) and the role settings editor.
    visit("/manage/assignments/new/")
    page.fill("input[name=principal_q]", "dave")
    page.wait_for_selector("label.picker-option:has-text('Dave.Requester')")
    violations.extend(f"picker: {v}" for v in page.evaluate("window.__cspViolations"))

    # Swagger UI renders the schema.
    visit("/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .opblock")
    violations.extend(f"docs: {v}" for v in page.evaluate("window.__cspViolations"))

    assert violations == []
    assert [text for text in console if "Content Security Policy" in text or "Permissions-Policy" in text] == []
