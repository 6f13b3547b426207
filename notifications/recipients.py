"""Who gets an email: the role setting's notification matrix and the fallbacks of DESIGN §3.

Matrix rows are the kind of change (eligible assigned, active assigned, eligible activated); columns
are who (admins of the role, the assignee, the approvers). Each cell: `default_recipients` (the
people that column names), `extra_addresses` (always added) and `critical_only` (the cell applies
only to privileged roles). Reads only; everything is decided from committed state at `at`.
"""

from datetime import datetime

from django.db import connection
from django.utils import timezone

from assignments import selectors as assignment_selectors
from assignments.access import access_role_holders, access_role_holders_by_scope, ids_in_sql
from assignments.batches import PrincipalRow, principal_row_of, principal_rows
from assignments.models import (
    NOTIFICATION_EVENTS,
    NOTIFICATION_RECIPIENTS,
    Assignment,
    Principal,
    RoleDefinition,
    RoleSetting,
    Scope,
    ScopeClosure,
    default_notification_matrix,
)

# DESIGN §3: with no approver named, who approves an activation of a role of this kind.
FALLBACK_APPROVER_ROLES = {
    RoleDefinition.Kind.DIRECTORY: assignment_selectors.DIRECTORY_ADMIN_ROLES,
    RoleDefinition.Kind.RESOURCE: assignment_selectors.RESOURCE_ADMIN_ROLES,
    RoleDefinition.Kind.GROUP: [RoleDefinition.GROUP_OWNER],
}
DIGEST_ROLES = [
    RoleDefinition.PRIVILEGED_ROLE_ADMINISTRATOR,
    RoleDefinition.SECURITY_ADMINISTRATOR,
    RoleDefinition.GLOBAL_ADMINISTRATOR,
]


def matrix_row_for(assignment: Assignment) -> str:
    """The matrix row an assignment's notices follow."""
    if assignment.activated_from_id is not None:
        return "eligible_activated"
    return "eligible_assigned" if assignment.kind == Assignment.Kind.ELIGIBLE else "active_assigned"


# Read only (each cell is copied below): building the default matrix for every cell asked cost a sweep
# batch a fifth of its CPU.
_DEFAULT_MATRIX = default_notification_matrix()


def matrix_cell(setting: RoleSetting, row: str, column: str) -> dict:
    default = _DEFAULT_MATRIX[row][column]
    matrix = setting.notifications if isinstance(setting.notifications, dict) else {}
    cell = (matrix.get(row) or {}).get(column) or {}
    return {**default, **{k: v for k, v in cell.items() if k in default}}


def _user_emails(principals) -> list[str]:
    """The addresses of the user principals among `principals` (a Principal queryset) that may be
    mailed: enabled, active, not emergency access accounts (break-glass mailboxes are not read, and
    their use is alerted separately)."""
    rows = principals.filter(kind=Principal.Kind.USER, user__is_active=True, user__is_emergency_access=False
                             ).values_list("email", "user__email")
    return sorted({p_email or u_email for p_email, u_email in rows if p_email or u_email})


def _emails_of_principals(principal_ids, at: datetime) -> list[str]:
    """Emails of these principals: users themselves; groups expanded to their active user members at
    `at` (enabled users only). Emergency access accounts are left out. One query."""
    principal_ids = set(principal_ids)
    if not principal_ids:
        return []
    return _user_emails(assignment_selectors.principals_and_members(principal_ids=principal_ids, at=at))


def holders_emails(*, role_slugs: list[str], scope: Scope | int | str, at: datetime | None = None) -> list[str]:
    """Emails of the users who hold any of `role_slugs` at `scope` or above at `at`, directly or
    through a group they are an active member of (`assignments.access.access_role_holders`; the same
    rule as `_user_emails`). One query."""
    rows = access_role_holders(role_slugs=role_slugs, scope=scope, at=at)
    return sorted({row.email or row.user_email for row in rows
                   if row.kind == Principal.Kind.USER and row.user_active and not row.user_emergency
                   and (row.email or row.user_email)})


def admins_emails(*, role: RoleDefinition, scope: Scope | int, at: datetime | None = None) -> list[str]:
    return holders_emails(role_slugs=assignment_selectors.admin_roles_for(role=role), scope=scope, at=at)


# The reference product's table of who hears of a directory-role activation: Privileged Role
# Administrators, Global Administrators (the admins above) and Security Administrators, who do not
# manage assignments but watch privileged use. They are told of activations only, as admins are:
# the matrix's admins cell (on/off, critical only) applies to them too.
ACTIVATION_WATCHER_ROLES = {RoleDefinition.Kind.DIRECTORY: [RoleDefinition.SECURITY_ADMINISTRATOR]}


def activation_admins_emails(*, role: RoleDefinition, scope: Scope | int,
                             at: datetime | None = None) -> list[str]:
    """Who is told of an activation of `role` as its admins: the admins, and for directory roles the
    Security Administrators too. One query, like `admins_emails`."""
    slugs = assignment_selectors.admin_roles_for(role=role) + ACTIVATION_WATCHER_ROLES.get(role.kind, [])
    return holders_emails(role_slugs=slugs, scope=scope, at=at)


def approvers_emails(*, setting: RoleSetting, role: RoleDefinition, scope: Scope | int,
                     at: datetime | None = None) -> list[str]:
    """Named approvers (users, and active members of named groups), or the fallback of DESIGN §3."""
    at = at or timezone.now()
    named = assignment_selectors.role_setting_approver_ids(setting=setting)
    if named:
        return _emails_of_principals(named, at)
    return holders_emails(role_slugs=FALLBACK_APPROVER_ROLES[role.kind], scope=scope, at=at)


STAGE_OWNER_ROLES = [RoleDefinition.OWNER, RoleDefinition.GROUP_OWNER]


def stage_approvers_emails(*, stage, scope: Scope | int, escalated: bool, at: datetime | None = None) -> list[str]:
    """Who decides a request waiting at `stage` (an `ApprovalStage`): its named users and the active
    members of its named groups, and with `owners_of_scope` the Owners at or above `scope`; once
    escalated, its fallback approvers instead. A couple of queries."""
    at = at or timezone.now()
    if escalated:
        return _emails_of_principals(stage.fallback_approvers.values_list("pk", flat=True), at)
    emails = set(_emails_of_principals(stage.approvers.values_list("pk", flat=True), at))
    if stage.owners_of_scope:
        emails |= set(holders_emails(role_slugs=STAGE_OWNER_ROLES, scope=scope, at=at))
    return sorted(emails)


def assignee_emails(*, principal: Principal | int, at: datetime | None = None) -> list[str]:
    """The assignee: a user's address; a group's own address, or else its active members';
    a service principal's address if it has one."""
    at = at or timezone.now()
    principal_id = getattr(principal, "pk", principal)
    row = principal_rows([principal_id]).get(principal_id)  # one query, with the user's fields
    if row is None:
        return []
    emails = assignee_emails_of_row(row)
    return emails if emails is not None else _emails_of_principals([principal_id], at)


def assignee_emails_of_row(row: PrincipalRow) -> list[str] | None:
    """`assignee_emails` from a principal's row, without a query; None for a group without its own
    address (its members are looked up)."""
    if row.kind == Principal.Kind.USER:
        address = row.email or row.user_email
        usable = row.enabled and row.user_active and not row.user_emergency and address
        return [address] if usable else []
    if row.kind == Principal.Kind.GROUP:
        return [row.email] if row.email else None
    return [row.email] if row.email else []


def _setting_candidates(*, role_ids, scope_ids) -> list[tuple[int, int, int, int]]:
    """(setting id, role id, scope id, depth) for every setting of `role_ids` at one of `scope_ids` or
    above it (depth: how far above). One statement, its ids as array parameters on PostgreSQL."""
    if not role_ids or not scope_ids:
        return []
    params: dict = {}
    roles_in = ids_in_sql(params, "r", sorted(role_ids))
    scopes_in = ids_in_sql(params, "s", sorted(scope_ids))
    sql = (f"SELECT rs.id, rs.role_id, c.descendant_id, c.depth FROM {RoleSetting._meta.db_table} rs "  # noqa: S608
           f"JOIN {ScopeClosure._meta.db_table} c ON c.ancestor_id = rs.scope_id "
           f"WHERE rs.role_id {roles_in} AND c.descendant_id {scopes_in}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


class Resolver:
    """Matrix-driven recipients, with the expensive lists cached per (role, scope) — a sweep resolves
    thousands of rows against a handful of policies."""

    def __init__(self, at: datetime | None = None):
        self.at = at or timezone.now()
        self._settings: dict = {}
        self._admins: dict = {}
        self._activation_admins: dict = {}
        self._approvers: dict = {}
        self._assignees: dict = {}
        self._plans: dict = {}
        self._cells: dict = {}

    def setting(self, role: RoleDefinition, scope: Scope) -> RoleSetting:
        key = (role.pk, scope.pk)
        if key not in self._settings:
            self._settings[key] = assignment_selectors.role_setting_effective(role=role, scope=scope)
        return self._settings[key]

    def prime_setting(self, role: RoleDefinition, scope: Scope, setting: RoleSetting) -> None:
        """Use `setting`, the effective one for (role, scope) the caller has read in this transaction."""
        self._settings[(role.pk, scope.pk)] = setting

    def admins(self, role: RoleDefinition, scope: Scope) -> list[str]:
        key = (role.pk, scope.pk)
        if key not in self._admins:
            self._admins[key] = admins_emails(role=role, scope=scope, at=self.at)
        return self._admins[key]

    def activation_admins(self, role: RoleDefinition, scope: Scope) -> list[str]:
        """The admins column of an activation: the role's admins and its activation watchers."""
        key = (role.pk, scope.pk)
        if key not in self._activation_admins:
            self._activation_admins[key] = activation_admins_emails(role=role, scope=scope, at=self.at)
        return self._activation_admins[key]

    def approvers(self, role: RoleDefinition, scope: Scope) -> list[str]:
        key = (role.pk, scope.pk)
        if key not in self._approvers:
            self._approvers[key] = approvers_emails(setting=self.setting(role, scope), role=role, scope=scope,
                                                    at=self.at)
        return self._approvers[key]

    def assignee(self, principal_id: int) -> list[str]:
        if principal_id not in self._assignees:
            self._assignees[principal_id] = assignee_emails(principal=principal_id, at=self.at)
        return self._assignees[principal_id]

    def prefetch_assignees(self, principal_ids) -> None:
        """Fill the assignee cache for many principals in one query (groups without an address of
        their own are looked up one by one, when asked)."""
        missing = set(principal_ids) - set(self._assignees)
        if missing:
            self.prime_assignees(principal_rows(missing).values())

    def prime_principal(self, principal: Principal) -> None:
        """Use a principal instance loaded with its user (the requester's own, read when the request
        was authenticated) for its addresses, instead of reading them again."""
        row = principal_row_of(principal)
        if row is not None:
            self.prime_assignees([row])

    def prime_assignees(self, rows) -> None:
        """Fill the assignee cache from principal rows already loaded (`assignments.batches`)."""
        for row in rows:
            emails = assignee_emails_of_row(row)
            if emails is not None:
                self._assignees[row.pk] = emails

    def prime_policies(self, pairs) -> None:
        """Resolve, for every (role, scope) of `pairs` at once, the effective policy and the admins (and
        activation admins) the per-pair methods would read, in a constant number of queries: one for the
        policies, two per kind of role for the holders. A sweep batch then costs the same number of
        queries whether its rows share one policy or each has its own scope."""
        pairs = {(role.pk, scope.pk): (role, scope) for role, scope in pairs}
        missing = [key for key in pairs if key not in self._settings]
        if missing:
            # Which setting is nearest to each (role, scope): ids and depths only (a batch of 2,000
            # scopes reads thousands of closure rows; loading a setting, its JSON matrix, scope and role
            # for each of them cost more than the rest of the batch), then the few settings chosen.
            nearest: dict = {}
            for setting_id, role_id, for_scope, depth in _setting_candidates(
                    role_ids={r for r, _ in missing}, scope_ids={s for _, s in missing}):
                key = (role_id, for_scope)
                if key in pairs and (key not in nearest or depth < nearest[key][1]):
                    nearest[key] = (setting_id, depth)
            chosen = RoleSetting.objects.select_related("scope", "role").in_bulk(
                {setting_id for setting_id, _ in nearest.values()})
            for key in missing:
                role, scope = pairs[key]
                found = nearest.get(key)
                self._settings[key] = chosen[found[0]] if found else RoleSetting(role=role, scope=scope)
        by_kind: dict = {}
        for key, (role, _) in pairs.items():
            by_kind.setdefault(role.kind, []).append(key)
        for kind, keys in by_kind.items():
            admin_slugs = assignment_selectors.admin_roles_for(role=RoleDefinition(kind=kind))
            self._prime_holders(self._admins, admin_slugs, keys)
            watchers = ACTIVATION_WATCHER_ROLES.get(kind, [])
            if watchers:
                self._prime_holders(self._activation_admins, admin_slugs + watchers, keys)
            else:  # the same roles: the same people, without asking again
                for key in keys:
                    self._activation_admins.setdefault(key, self._admins[key])

    def _prime_holders(self, cache: dict, role_slugs: list[str], keys) -> None:
        keys = [key for key in keys if key not in cache]
        if not keys:
            return
        ancestors, held = access_role_holders_by_scope(role_slugs=role_slugs, scope_ids={s for _, s in keys},
                                                       at=self.at)
        for key in keys:
            rows = {row.pk: row for ancestor in ancestors.get(key[1], []) for row in held.get(ancestor, [])}
            # The rule of `holders_emails`.
            cache[key] = sorted({row.email or row.user_email for row in rows.values()
                                 if row.kind == Principal.Kind.USER and row.user_active and not row.user_emergency
                                 and (row.email or row.user_email)})

    def recipients(self, *, row: str, columns: tuple[str, ...], role: RoleDefinition, scope: Scope,
                   principal_id: int | None = None) -> list[str]:
        """Addresses for the matrix `row`, over the given columns, honouring each cell."""
        addresses: list[str] = []
        for part in self._plan(row, columns, role, scope):
            if part is _ASSIGNEE:
                if principal_id is not None:
                    addresses += self.assignee(principal_id)
            else:
                addresses += part
        return addresses

    def _plan(self, row: str, columns: tuple[str, ...], role: RoleDefinition, scope: Scope) -> list:
        """The recipients of `row` × `columns` for one policy, as address lists and a marker where
        the assignee goes; worked out once per policy (a sweep asks for every row it expires)."""
        key = (row, columns, role.pk, scope.pk)
        if key in self._plans:
            return self._plans[key]
        assert row in NOTIFICATION_EVENTS
        plan: list = []
        setting = self.setting(role, scope)
        for column in columns:
            assert column in NOTIFICATION_RECIPIENTS
            # One policy serves many scopes of a batch: its cells are read once, not once per scope.
            cell_key = (id(setting), row, column)
            cell = self._cells.get(cell_key)
            if cell is None:
                cell = self._cells[cell_key] = matrix_cell(setting, row, column)
            if cell["critical_only"] and not role.is_privileged:
                continue
            if cell["default_recipients"]:
                if column == "admins":
                    plan.append(self.activation_admins(role, scope) if row == "eligible_activated"
                                else self.admins(role, scope))
                elif column == "approvers":
                    plan.append(self.approvers(role, scope))
                else:
                    plan.append(_ASSIGNEE)
            plan.append([str(a) for a in cell["extra_addresses"] or []])
        self._plans[key] = plan
        return plan


_ASSIGNEE = object()  # in a recipients plan: the assignee's addresses go here
