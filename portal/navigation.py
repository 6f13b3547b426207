"""The navigation menu: each entry names the capability that shows it and the section it sits in.

Capabilities come from `assignments.capabilities.user_capabilities` (computed once per request):
"user", "directory_viewer", "directory_admin", "any_admin", "assignments_viewer", "auditor".
"""

from dataclasses import dataclass

SECTIONS = ["My access", "Administration", "Audit", "Account"]


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    needs: str
    section: str = "My access"


NAV_ITEMS: list[NavItem] = [
    NavItem("Overview", "portal:home", "user"),
    NavItem("My roles", "approvals:my_roles", "user"),
    NavItem("My requests", "approvals:my_requests", "user"),
    NavItem("Request roles", "selfservice:catalogue", "user"),  # eligibility for roles one does not hold
    NavItem("Approvals", "approvals:queue", "user"),
    NavItem("My reviews", "reviews:mine", "user"),
    NavItem("Dashboard", "alerts:dashboard", "any_admin", "Administration"),
    NavItem("Assignments", "assignments:list", "assignments_viewer", "Administration"),
    NavItem("Role settings", "assignments:role_settings", "any_admin", "Administration"),
    NavItem("Directory", "assignments:principals", "directory_viewer", "Administration"),
    NavItem("Scopes", "directory:scopes", "assignments_viewer", "Administration"),
    NavItem("Roles", "directory:roles", "assignments_viewer", "Administration"),
    NavItem("Bulk import", "directory:import", "directory_admin", "Administration"),
    NavItem("Access reviews", "reviews:list", "any_admin", "Administration"),
    NavItem("Break-glass reviews", "selfservice:reviews", "any_admin", "Administration"),
    NavItem("Security alerts", "alerts:list", "directory_viewer", "Administration"),
    NavItem("Discovery", "alerts:discovery", "directory_admin", "Administration"),
    NavItem("What-if", "governance:whatif", "directory_viewer", "Administration"),
    NavItem("Separation of duties", "governance:separation", "directory_viewer", "Administration"),
    NavItem("Right-sizing", "governance:rightsizing", "directory_viewer", "Administration"),
    NavItem("Connectors", "connectors:index", "directory_admin", "Administration"),
    NavItem("Policy as code", "policy:index", "directory_viewer", "Administration"),  # versions, dual control, YAML
    NavItem("SCIM provisioning", "directory_scim:client_list", "directory_admin", "Administration"),  # inbound
    NavItem("Directory sources", "ldap_sources:list", "directory_admin", "Administration"),  # LDAP / AD sync
    NavItem("Audit log", "audit:list", "auditor", "Audit"),
    NavItem("My audit", "audit:mine", "user", "Audit"),
    NavItem("Security", "accounts:security", "user", "Account"),
    NavItem("Delegation", "approvals:delegation", "user", "Account"),
    NavItem("API tokens", "api:tokens", "user", "Account"),
]
