"""The navigation menu: each entry names the permission test that shows it.

Apps add their entries here (one line each); the context processor evaluates the tests once per
request with as few access-check queries as possible.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    needs: str  # "user", "directory_viewer", "any_admin", "auditor"
    section: str = "main"


NAV_ITEMS: list[NavItem] = [
    NavItem("Overview", "portal:home", "user"),
    NavItem("Assignments", "assignments:list", "any_admin"),
    NavItem("Role settings", "assignments:role_settings", "any_admin"),
    NavItem("Directory", "assignments:principals", "directory_viewer"),
    NavItem("API tokens", "api:tokens", "user"),
    NavItem("Audit log", "audit:list", "auditor"),
    NavItem("My audit", "audit:mine", "user"),
    NavItem("My roles", "approvals:my_roles", "user"),
    NavItem("My requests", "approvals:my_requests", "user"),
    NavItem("Approvals", "approvals:queue", "user"),
    NavItem("Security", "accounts:security", "user", section="account"),
    NavItem("Dashboard", "alerts:dashboard", "any_admin"),
    NavItem("Security alerts", "alerts:list", "directory_viewer"),
    NavItem("Discovery", "alerts:discovery", "directory_admin"),
    NavItem("Access reviews", "reviews:list", "any_admin"),
    NavItem("My reviews", "reviews:mine", "user"),
    NavItem("Integrations", "provisioning:index", "directory_admin"),
]
