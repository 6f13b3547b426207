"""The built-in role catalogue and the seed policies of the reference deployment plan (DESIGN §4).

Actions follow the reference product's naming (`microsoft.directory/...` for directory roles,
`Microsoft.<Provider>/...` for resource roles, `pim.groups/...` for group roles). `*` is a wildcard.
"""

from .models import RoleDefinition

D, R, G = RoleDefinition.Kind.DIRECTORY, RoleDefinition.Kind.RESOURCE, RoleDefinition.Kind.GROUP

# slug, name, kind, privileged, description, actions, not_actions
BUILTIN_ROLES = [
    (RoleDefinition.GLOBAL_ADMINISTRATOR, "Global Administrator", D, True,
     "Can manage all aspects of the directory and the services that use its identities.",
     ["microsoft.directory/*", "microsoft.azure.*/*", "microsoft.office365.*/*", "microsoft.intune/*",
      "pim.portal/*"], []),
    (RoleDefinition.PRIVILEGED_ROLE_ADMINISTRATOR, "Privileged Role Administrator", D, True,
     "Can manage role assignments, role settings and PIM, including PIM for Groups.",
     ["microsoft.directory/roleAssignments/*", "microsoft.directory/roleDefinitions/*",
      "microsoft.directory/privilegedIdentityManagement/*", "microsoft.directory/groups/members/*",
      "microsoft.directory/groups/owners/*", "pim.portal/*"], []),
    (RoleDefinition.SECURITY_ADMINISTRATOR, "Security Administrator", D, True,
     "Can read security information and reports, and manage security policies and alerts.",
     ["microsoft.directory/policies/*", "microsoft.directory/auditLogs/allProperties/read",
      "microsoft.directory/signInReports/allProperties/read", "microsoft.directory/*/read",
      "microsoft.directory/privilegedIdentityManagement/allProperties/read", "pim.portal/audit/read",
      "pim.portal/alerts/*"], []),
    (RoleDefinition.SECURITY_READER, "Security Reader", D, True,
     "Can read security information, reports and the audit log.",
     ["microsoft.directory/auditLogs/allProperties/read", "microsoft.directory/signInReports/allProperties/read",
      "microsoft.directory/privilegedIdentityManagement/allProperties/read", "pim.portal/audit/read",
      "pim.portal/alerts/read"], []),
    (RoleDefinition.GLOBAL_READER, "Global Reader", D, True,
     "Can read everything a Global Administrator can, but not change anything.",
     ["microsoft.directory/*/read", "microsoft.directory/*/allProperties/read", "pim.portal/audit/read",
      "pim.portal/*/read"], []),
    ("user-administrator", "User Administrator", D, True,
     "Can manage users and groups, and reset passwords of non-administrators.",
     ["microsoft.directory/users/*", "microsoft.directory/groups/*", "microsoft.directory/contacts/*"], []),
    ("helpdesk-administrator", "Helpdesk Administrator", D, True,
     "Can reset passwords of non-administrators and Helpdesk Administrators.",
     ["microsoft.directory/users/password/update", "microsoft.directory/users/invalidateAllRefreshTokens",
      "microsoft.directory/users/basic/read"], []),
    ("exchange-administrator", "Exchange Administrator", D, False,
     "Can manage all aspects of Exchange Online.",
     ["microsoft.office365.exchange/*", "microsoft.directory/groups.unified/*"], []),
    ("sharepoint-administrator", "SharePoint Administrator", D, False,
     "Can manage all aspects of SharePoint Online.",
     ["microsoft.office365.sharepoint/*", "microsoft.directory/groups.unified/*"], []),
    ("intune-administrator", "Intune Administrator", D, True,
     "Can manage all aspects of Intune, including devices.",
     ["microsoft.intune/*", "microsoft.directory/devices/*"], []),
    ("application-administrator", "Application Administrator", D, True,
     "Can create and manage all aspects of app registrations and enterprise apps.",
     ["microsoft.directory/applications/*", "microsoft.directory/servicePrincipals/*"], []),
    ("billing-administrator", "Billing Administrator", D, False,
     "Can perform billing tasks such as updating payment information and managing subscriptions.",
     ["microsoft.commerce.billing/*", "microsoft.directory/organization/basic/update"], []),
    ("conditional-access-administrator", "Conditional Access Administrator", D, True,
     "Can manage Conditional Access policies.",
     ["microsoft.directory/conditionalAccessPolicies/*", "microsoft.directory/namedLocations/*"], []),
    ("authentication-administrator", "Authentication Administrator", D, True,
     "Can view, set and reset authentication methods of non-administrator users.",
     ["microsoft.directory/users/authenticationMethods/*", "microsoft.directory/users/password/update"], []),
    # Resource roles (Azure RBAC built-ins).
    (RoleDefinition.OWNER, "Owner", R, True,
     "Full access to manage all resources, including the ability to assign roles.",
     ["*"], []),
    (RoleDefinition.CONTRIBUTOR, "Contributor", R, True,
     "Full access to manage all resources, but cannot assign roles or manage access.",
     ["*"], ["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write",
             "Microsoft.Authorization/elevateAccess/Action"]),
    (RoleDefinition.READER, "Reader", R, False,
     "View all resources, but make no changes.",
     ["*/read"], []),
    (RoleDefinition.USER_ACCESS_ADMINISTRATOR, "User Access Administrator", R, True,
     "Manage user access to resources.",
     ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"], []),
    # Group roles (PIM for Groups).
    (RoleDefinition.GROUP_MEMBER, "Member", G, False,
     "Membership of the group: everything the group holds.",
     ["pim.groups/membership/use"], []),
    (RoleDefinition.GROUP_OWNER, "Owner", G, True,
     "Ownership of the group: manage its members, owners and settings.",
     ["pim.groups/membership/use", "pim.groups/members/*", "pim.groups/owners/*", "pim.groups/settings/*"], []),
]

# Seed policies (DESIGN §4), keyed by role slug. Resource-role seeds apply to the subscriptions
# the demo marks critical / less critical; group seeds are the defaults for every group.
SEED_POLICIES = {
    RoleDefinition.GLOBAL_ADMINISTRATOR: dict(
        max_activation_minutes=60, require_mfa_on_activation=True, require_ticket_on_activation=True,
        require_approval=True, approval_by_role_holders=True,
    ),
    "exchange-administrator": dict(max_activation_minutes=120, require_mfa_on_activation=True),
    "helpdesk-administrator": dict(
        max_activation_minutes=8 * 60, require_mfa_on_activation=False, require_ticket_on_activation=True,
    ),
    RoleDefinition.GROUP_OWNER: dict(max_activation_minutes=60, require_mfa_on_activation=True, require_approval=True),
    RoleDefinition.GROUP_MEMBER: dict(max_activation_minutes=5 * 60, require_mfa_on_activation=True),
}
CRITICAL_SUBSCRIPTION_OWNER_POLICY = dict(
    max_activation_minutes=60, require_mfa_on_activation=True, require_approval=True,
    allow_permanent_eligible=False, expire_eligible_after="P3M", approval_by_role_holders=True,
)
LESS_CRITICAL_UAA_POLICY = dict(
    max_activation_minutes=60, require_mfa_on_activation=True, allow_permanent_eligible=False,
    expire_eligible_after="P3M",
)
