"""The PIM domain: principals, scopes, role definitions, role settings and assignments.

Writes go through `assignments.services`; reads and the access check through `assignments.selectors`.
"""

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models, transaction
from django.db.models import Q
from django.db.models.functions import Upper

from audit.services import audit_event_record
from core.actors import Actor


class PimUserManager(UserManager):
    """Users made outside the directory's service (`manage.py createsuperuser`, `create_user` in a
    shell) get their Principal in the same transaction, audited as the system: every user has one,
    and every page that reads `user.principal` works for them."""

    def _create_user(self, username, email, password, **extra_fields):
        with transaction.atomic(using=self.db):
            user = super()._create_user(username, email, password, **extra_fields)
            Principal.objects.using(self.db).get_or_create(
                user=user, defaults={"kind": Principal.Kind.USER, "email": user.email,
                                     "display_name": user.display_name or user.username})
            audit_event_record(action="user.create", actor=Actor.system("create-user"), target=user,
                               after={"username": user.username, "email": user.email,
                                      "superuser": user.is_superuser})
        return user


class User(AbstractUser):
    """A person who signs in. Every user has exactly one `Principal` (kind=user), created with it.

    `is_active` is the directory's *enabled* flag: a disabled user cannot sign in and holds nothing.
    `last_login` is the last successful sign-in.
    """

    display_name = models.CharField(max_length=200, blank=True)
    is_emergency_access = models.BooleanField(
        default=False, help_text="Break-glass account: permanent Global Administrator, every use alerted."
    )
    # IANA name (`Europe/Paris`) pages show times in; empty until set: the browser's zone is sent once
    # after sign-in, and the person can change it on their Security page. Stored times stay UTC.
    # db_default too: rows written by bulk loads and other raw inserts get an empty zone, not NULL.
    time_zone = models.CharField(max_length=64, blank=True, default="", db_default="")

    objects = PimUserManager()

    class Meta(AbstractUser.Meta):
        indexes = [
            # Usernames compare case-insensitively everywhere (sign-in, intake, SCIM's `userName eq`,
            # which RFC 7643 makes caseExact=false): Django's iexact is UPPER(username) = UPPER(%s).
            models.Index(Upper("username"), name="user_username_upper_idx"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username


class Principal(models.Model):
    """Who can hold a role: a user, a group or a service principal (an application identity).

    Invariants: a user principal has `user` set; other kinds never do. `role_assignable` is only
    meaningful for groups and is fixed at creation (services never change it).
    """

    class Kind(models.TextChoices):
        USER = "user", "User"
        GROUP = "group", "Group"
        SERVICE_PRINCIPAL = "service_principal", "Service principal"

    object_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    display_name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="principal"
    )
    role_assignable = models.BooleanField(default=False, help_text="Groups only; fixed at creation.")
    app_id = models.UUIDField(null=True, blank=True, unique=True, help_text="Service principals only.")
    # Where a user or group came from, when the organisation's directory sent it: the source
    # ("scim:<client id>", "ldap:<source id>", "oidc:<provider>") and the source's own stable id for it
    # (SCIM externalId or id, LDAP objectGUID / entryUUID, OIDC subject). Blank: made in the portal.
    external_source = models.CharField(max_length=64, blank=True, default="", db_default="")
    external_id = models.CharField(max_length=255, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["display_name"]
        constraints = [
            models.CheckConstraint(
                name="principal_user_iff_kind_user",
                condition=(Q(kind="user", user__isnull=False) | (~Q(kind="user") & Q(user__isnull=True))),
            ),
            models.CheckConstraint(
                name="principal_role_assignable_only_groups",
                condition=Q(kind="group") | Q(role_assignable=False),
            ),
            models.UniqueConstraint(
                fields=["external_source", "external_id"], condition=~Q(external_id=""),
                name="principal_one_per_external_id",
            ),
        ]
        indexes = [models.Index(fields=["kind", "display_name"])]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_user(self) -> bool:
        return self.kind == self.Kind.USER

    @property
    def is_group(self) -> bool:
        return self.kind == self.Kind.GROUP

    @property
    def is_service_principal(self) -> bool:
        return self.kind == self.Kind.SERVICE_PRINCIPAL


class Scope(models.Model):
    """Where a role applies: one tree rooted at the directory `/`.

    `path` is the Azure-style id (`/subscriptions/s1/resourceGroups/rg1`). A group's scope is
    `/groups/<object id>` and hangs under the root. Ancestors come from `ScopeClosure` in one indexed
    lookup; the closure rows are written by `scope_create` and `scope_move` only.
    """

    class Kind(models.TextChoices):
        DIRECTORY = "directory", "Directory"
        MANAGEMENT_GROUP = "management_group", "Management group"
        SUBSCRIPTION = "subscription", "Subscription"
        RESOURCE_GROUP = "resource_group", "Resource group"
        RESOURCE = "resource", "Resource"
        GROUP = "group", "Group"

    path = models.CharField(max_length=512, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    display_name = models.CharField(max_length=200)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    group = models.OneToOneField(
        Principal, null=True, blank=True, on_delete=models.CASCADE, related_name="group_scope"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(
                name="scope_root_has_no_parent", condition=Q(kind="directory") | Q(parent__isnull=False)
            ),
            models.CheckConstraint(
                name="scope_group_iff_kind_group",
                condition=(Q(kind="group", group__isnull=False) | (~Q(kind="group") & Q(group__isnull=True))),
            ),
        ]

    def __str__(self) -> str:
        return self.path

    @property
    def is_root(self) -> bool:
        return self.kind == self.Kind.DIRECTORY


class ScopeClosure(models.Model):
    """Closure table of the scope tree: one row per (ancestor, descendant), itself included (depth 0)."""

    ancestor = models.ForeignKey(Scope, on_delete=models.CASCADE, related_name="descendant_links")
    descendant = models.ForeignKey(Scope, on_delete=models.CASCADE, related_name="ancestor_links")
    depth = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["descendant", "ancestor"], name="scope_closure_unique")]
        indexes = [models.Index(fields=["ancestor", "depth"])]

    def __str__(self) -> str:
        return f"{self.ancestor_id} → {self.descendant_id} ({self.depth})"


class RoleDefinition(models.Model):
    """A named set of permissions of one kind. Directory roles apply at `/`, resource roles at
    management groups and below, group roles (Member, Owner) at group scopes."""

    class Kind(models.TextChoices):
        DIRECTORY = "directory", "Directory role"
        RESOURCE = "resource", "Resource role"
        GROUP = "group", "Group role"

    # Stable names the code refers to; the display name may be edited.
    GLOBAL_ADMINISTRATOR = "global-administrator"
    PRIVILEGED_ROLE_ADMINISTRATOR = "privileged-role-administrator"
    SECURITY_ADMINISTRATOR = "security-administrator"
    SECURITY_READER = "security-reader"
    GLOBAL_READER = "global-reader"
    OWNER = "owner"
    CONTRIBUTOR = "contributor"
    READER = "reader"
    USER_ACCESS_ADMINISTRATOR = "user-access-administrator"
    GROUP_MEMBER = "group-member"
    GROUP_OWNER = "group-owner"

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    description = models.TextField(blank=True)
    is_builtin = models.BooleanField(default=False)
    is_privileged = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class RolePermission(models.Model):
    """One action pattern of a role (`microsoft.directory/users/*`). `*` matches any run of
    characters. A `not_action` pattern removes matching actions from the role's grants (Azure's
    NotActions). `like_pattern` is the SQL LIKE form, maintained by `role_permission_pattern`."""

    role = models.ForeignKey(RoleDefinition, on_delete=models.CASCADE, related_name="permissions")
    pattern = models.CharField(max_length=300)
    like_pattern = models.CharField(max_length=400, editable=False)
    is_not_action = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["role", "pattern", "is_not_action"], name="role_permission_unique")
        ]

    def __str__(self) -> str:
        return ("not " if self.is_not_action else "") + self.pattern


def default_notification_matrix() -> dict:
    """Events × recipients; each cell: default recipients on, extra addresses, critical only."""
    cell = {"default_recipients": True, "extra_addresses": [], "critical_only": False}
    return {event: {recipient: dict(cell) for recipient in NOTIFICATION_RECIPIENTS} for event in NOTIFICATION_EVENTS}


NOTIFICATION_EVENTS = ("eligible_assigned", "active_assigned", "eligible_activated")
NOTIFICATION_RECIPIENTS = ("admins", "assignee", "approvers")


class RoleSetting(models.Model):
    """The policy of a role at a scope. Directory roles have one at `/`; resource roles may have one
    per scope (the nearest ancestor's applies); group roles one per group scope. When no row
    exists, the built-in defaults of `RoleSetting()` apply.

    Expiration fields: `expire_*_after` is an ISO-8601 period from `EXPIRATION_CHOICES`, used when
    permanent assignments are not allowed.

    `allow_service_principal_activation`: only where it is set may a service principal hold an eligible
    assignment (time-bound, like all it holds), and its activation requests always need `approvals_required`
    approvals by people, even when `require_approval` is off.
    """

    EXPIRATION_CHOICES = [
        ("P15D", "15 days"),
        ("P1M", "1 month"),
        ("P3M", "3 months"),
        ("P6M", "6 months"),
        ("P1Y", "1 year"),
    ]

    role = models.ForeignKey(RoleDefinition, on_delete=models.CASCADE, related_name="settings")
    scope = models.ForeignKey(Scope, on_delete=models.CASCADE, related_name="role_settings")
    # Activation
    max_activation_minutes = models.PositiveIntegerField(default=8 * 60)
    require_mfa_on_activation = models.BooleanField(default=True)
    require_justification_on_activation = models.BooleanField(default=True)
    require_ticket_on_activation = models.BooleanField(default=False)
    require_approval = models.BooleanField(default=False)
    approvers = models.ManyToManyField(Principal, blank=True, related_name="approver_for_settings")
    approvals_required = models.PositiveSmallIntegerField(default=1)
    approval_window_minutes = models.PositiveIntegerField(default=24 * 60)
    trusted_networks = models.TextField(
        blank=True, help_text="CIDR ranges, one per line; empty means activation from anywhere."
    )
    allowed_time_windows = models.TextField(
        blank=True,
        help_text="One window per line: 'Mon-Fri 08:00-18:00', in allowed_time_windows_zone; empty means any time.",
    )
    allowed_time_windows_zone = models.CharField(
        max_length=64, default="UTC", help_text="The time zone the allowed time windows are read in.")
    # Service principals (pipelines) may be made eligible and ask for activation through the API. Their
    # activation always waits for a person's approval, whatever `require_approval` says: that approval
    # stands in for the MFA step-up a service principal cannot make (jit-groups#139).
    allow_service_principal_activation = models.BooleanField(
        default=False, help_text="Service principals may be eligible and request activation; a person always "
                                 "approves it.")
    # Assignment
    allow_permanent_eligible = models.BooleanField(default=True)
    expire_eligible_after = models.CharField(max_length=5, choices=EXPIRATION_CHOICES, default="P1Y")
    allow_permanent_active = models.BooleanField(default=True)
    expire_active_after = models.CharField(max_length=5, choices=EXPIRATION_CHOICES, default="P6M")
    require_mfa_on_active_assignment = models.BooleanField(default=False)
    require_justification_on_active_assignment = models.BooleanField(default=True)
    # Notification: {event: {recipient: {default_recipients, extra_addresses, critical_only}}}
    notifications = models.JSONField(default=default_notification_matrix)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["role", "scope"], name="role_setting_unique_per_scope"),
            models.CheckConstraint(
                name="role_setting_max_activation_1_to_24h",
                condition=Q(max_activation_minutes__gte=60) & Q(max_activation_minutes__lte=24 * 60),
            ),
            models.CheckConstraint(
                name="role_setting_approvals_required_positive", condition=Q(approvals_required__gte=1)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} @ {self.scope}"


class ApprovalStage(models.Model):
    """One ordered stage of a role setting's approval (issue 18). When a setting has stages and requires
    approval, an activation waits at stage 1, then 2, …: stage k+1 opens only when stage k has
    `approvals_required` approvals, a denial at any stage ends the request, and a stage nobody decided
    within `timeout_minutes` either times the request out or, with `escalate_on_timeout`, is handed once
    to its `fallback_approvers` (who then need `fallback_approvals_required` approvals in all) for
    another `timeout_minutes`. Without stages the setting's own approvers, approvals needed and window
    are its single stage (`approvals.stages.stage_plan`).

    Approvers of a stage: the users and the active members of the groups in `approvers`, and with
    `owners_of_scope` whoever holds Owner (resource or group Owner) at or above the request's scope.
    Invariants: positions are 1..n without gaps (`role_setting_stages_set` writes them); a stage that
    escalates names at least one fallback approver; a pending request's stage is never deleted (PROTECT).
    """

    setting = models.ForeignKey(RoleSetting, on_delete=models.CASCADE, related_name="stages")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=100, blank=True)
    approvers = models.ManyToManyField(Principal, blank=True, related_name="approver_for_stages")
    owners_of_scope = models.BooleanField(default=False)
    approvals_required = models.PositiveSmallIntegerField(default=1)
    timeout_minutes = models.PositiveIntegerField(default=24 * 60)
    escalate_on_timeout = models.BooleanField(default=False)
    fallback_approvers = models.ManyToManyField(Principal, blank=True, related_name="fallback_for_stages")
    fallback_approvals_required = models.PositiveSmallIntegerField(default=1)
    # Minutes between reminders to who has not decided; null: PIM_APPROVAL_REMINDER_MINUTES; 0: none.
    reminder_every_minutes = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["setting", "position"]
        constraints = [
            models.UniqueConstraint(fields=["setting", "position"], name="approval_stage_one_per_position"),
            models.CheckConstraint(name="approval_stage_quorum_positive",
                                   condition=Q(approvals_required__gte=1) & Q(fallback_approvals_required__gte=1)),
            models.CheckConstraint(name="approval_stage_position_positive", condition=Q(position__gte=1)),
        ]

    def __str__(self) -> str:
        return f"Stage {self.position}{f' ({self.name})' if self.name else ''} of {self.setting_id}"

    @property
    def label(self) -> str:
        return f"Stage {self.position}" + (f": {self.name}" if self.name else "")


def held_at_q(at, prefix: str = "") -> Q:
    """"Held at `at`": the time predicate of the access check (`assignments.access._held`) in the ORM —
    live, started at or before `at`, and not ended at `at` (end null, or after `at`). The one place
    it is spelled out for querysets; `prefix` reaches it through a relation (`"assignment__"`)."""
    return Q(**{f"{prefix}status": Assignment.Status.LIVE, f"{prefix}start_at__lte": at}) & (
        Q(**{f"{prefix}end_at__isnull": True}) | Q(**{f"{prefix}end_at__gt": at}))


def not_over_q(at, prefix: str = "") -> Q:
    """Live and not ended at `at`: held at `at`, or scheduled to start later."""
    return Q(**{f"{prefix}status": Assignment.Status.LIVE}) & (
        Q(**{f"{prefix}end_at__isnull": True}) | Q(**{f"{prefix}end_at__gt": at}))


class AssignmentQuerySet(models.QuerySet):
    def held_at(self, at) -> "AssignmentQuerySet":
        """The assignments in effect at `at` (`held_at_q`), of either kind."""
        return self.filter(held_at_q(at))

    def not_over_at(self, at) -> "AssignmentQuerySet":
        return self.filter(not_over_q(at))


class Assignment(models.Model):
    """Eligibility for, or holding of, a role at a scope.

    Invariants:
    - `kind=active` with `activated_from` set is an *activation* of that eligible assignment;
      without it, an *assignment* made active by an administrator.
    - `end_at` null means permanent. `start_at` is never null (a future start is a schedule).
    - Held at T ⇔ status=live ∧ start_at ≤ T < end_at (or end_at null). The status only turns to
      `ended` when an assignment is removed, deactivated or swept after expiry; the access check
      never waits for the sweep.
    - At most one live assignment per (principal, role, scope, kind): a database constraint.
    """

    class Kind(models.TextChoices):
        ELIGIBLE = "eligible", "Eligible"
        ACTIVE = "active", "Active"

    class Status(models.TextChoices):
        LIVE = "live", "Live"
        ENDED = "ended", "Ended"

    class EndReason(models.TextChoices):
        EXPIRED = "expired", "Expired"
        REMOVED = "removed", "Removed by an administrator"
        DEACTIVATED = "deactivated", "Deactivated by the holder"
        MADE_ACTIVE = "made_active", "Converted to an active assignment"
        MADE_ELIGIBLE = "made_eligible", "Converted to an eligible assignment"
        REVIEW_DENIED = "review_denied", "Removed by an access review"
        ELIGIBILITY_ENDED = "eligibility_ended", "The eligible assignment ended"
        MEMBERSHIP_ENDED = "membership_ended", "The group membership it came through ended"
        PRINCIPAL_DISABLED = "disabled", "The user was disabled"

    class Origin(models.TextChoices):
        PIM = "pim", "Through PIM"
        OUTSIDE = "outside", "Outside PIM"
        # A static group membership received from the organisation's directory (SCIM, LDAP, OIDC
        # claims). Only the directory intake adds or ends these; it never touches the others.
        DIRECTORY = "directory", "From the directory"

    # Indexes: every index on this table gets a new entry whenever a row's status changes (the expiry
    # sweep does that 100,000 times in a run), so there are few and the status-specific ones are partial.
    # `principal` and `role` are the leading columns of the composite indexes below.
    principal = models.ForeignKey(Principal, on_delete=models.CASCADE, related_name="assignments", db_index=False)
    role = models.ForeignKey(RoleDefinition, on_delete=models.PROTECT, related_name="assignments", db_index=False)
    scope = models.ForeignKey(Scope, on_delete=models.PROTECT, related_name="assignments")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.LIVE)
    start_at = models.DateTimeField()
    end_at = models.DateTimeField(null=True, blank=True)
    activated_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="activations", db_index=False
    )
    justification = models.TextField(blank=True)
    ticket_system = models.CharField(max_length=100, blank=True)
    ticket_number = models.CharField(max_length=100, blank=True)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.PIM)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    created_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True)
    # Reminder bookkeeping for the jobs (each reminder is sent once).
    reminded_14d_at = models.DateTimeField(null=True, blank=True)
    reminded_1d_at = models.DateTimeField(null=True, blank=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["principal", "role", "scope", "kind"],
                condition=Q(status="live"),
                name="assignment_one_live_per_principal_role_scope_kind",
            ),
            models.CheckConstraint(
                name="assignment_end_after_start", condition=Q(end_at__isnull=True) | Q(end_at__gt=models.F("start_at"))
            ),
            models.CheckConstraint(
                name="assignment_activation_is_active", condition=Q(activated_from__isnull=True) | Q(kind="active")
            ),
        ]
        indexes = [
            # The access check: principal → role → scope, then time predicates on the few rows left.
            models.Index(fields=["principal", "role", "scope", "kind", "status"], name="assignment_check_idx"),
            # Holders of a role at a scope (recipients, approvers, reviews).
            models.Index(fields=["role", "scope", "kind", "status"], name="assignment_role_scope_idx"),
            # Sweeps, reminders and "held now": live rows by end and by start time.
            models.Index(fields=["end_at"], condition=Q(status="live"), name="assignment_live_end_idx"),
            models.Index(fields=["start_at"], condition=Q(status="live"), name="assignment_live_start_idx"),
            # Foreign keys that are mostly null: only the rows that have one are indexed.
            models.Index(fields=["activated_from"], condition=Q(activated_from__isnull=False),
                         name="assignment_activated_from_idx"),
            models.Index(fields=["created_by"], condition=Q(created_by__isnull=False),
                         name="assignment_created_by_idx"),
        ]

    def __str__(self) -> str:
        return self.label_of(principal=self.principal, role=self.role, scope=self.scope, kind=self.kind)

    @staticmethod
    def label_of(*, principal, role, scope, kind: str) -> str:
        """An assignment's label from its parts' labels (set-based jobs build it without models)."""
        return f"{principal} · {role} @ {scope} ({kind})"

    @property
    def is_permanent(self) -> bool:
        return self.end_at is None

    @property
    def is_activation(self) -> bool:
        return self.activated_from_id is not None

    @property
    def assignment_type_label(self) -> str:
        duration = "Permanent" if self.end_at is None else "Time-bound"
        return f"{duration} {self.get_kind_display().lower()}"

    def is_held_at(self, when) -> bool:
        """Python mirror of the access check's time predicate (`held_at_q`), for display only."""
        return (
            self.status == self.Status.LIVE
            and self.start_at <= when
            and (self.end_at is None or self.end_at > when)
        )


class ElevatedAccess(models.Model):
    """A Global Administrator's "elevate access": User Access Administrator at `/`, audited.
    The grant itself is an ordinary assignment; this row records who elevated and when."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="elevation")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Elevated access of {self.user_id} at {self.created_at}"


class Request(models.Model):
    """One requested change to an assignment: the record every assignment transition writes in its own
    transaction (`assignments.services`), whether an administrator made it at once or a requester's
    activation waited for approval in the request pipeline (`approvals`, which adds the decisions).
    `id` is also the correlation id of every audit event it causes.

    Invariants: status moves only forward (pending → approved/denied/canceled/timed_out →
    provisioned/scheduled/failed); transitions are conditional updates on the current status.
    `assignment` is the assignment the request created or acted on.
    """

    class Action(models.TextChoices):
        ADMIN_ASSIGN = "admin_assign", "Assign"
        ADMIN_UPDATE = "admin_update", "Update"
        ADMIN_REMOVE = "admin_remove", "Remove"
        ADMIN_EXTEND = "admin_extend", "Extend"
        ADMIN_RENEW = "admin_renew", "Renew"
        ADMIN_MAKE_ACTIVE = "admin_make_active", "Make active"
        SELF_ACTIVATE = "self_activate", "Activate"
        SELF_DEACTIVATE = "self_deactivate", "Deactivate"
        SELF_EXTEND = "self_extend", "Extend"
        SELF_RENEW = "self_renew", "Renew"
        # From the request catalogue (`selfservice`): eligibility for a role the person does not hold,
        # decided by the role's administrators like an extension or a renewal.
        SELF_REQUEST_ELIGIBILITY = "self_eligibility", "Request eligibility"

    class Status(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", "Pending approval"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        CANCELED = "canceled", "Canceled"
        TIMED_OUT = "timed_out", "Timed out"
        SCHEDULED = "scheduled", "Scheduled"
        PROVISIONED = "provisioned", "Provisioned"
        FAILED = "failed", "Failed"

    OPEN_STATUSES = (Status.PENDING_APPROVAL, Status.APPROVED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    action = models.CharField(max_length=20, choices=Action.choices)
    status = models.CharField(max_length=20, choices=Status.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="pim_requests"
    )
    principal = models.ForeignKey("assignments.Principal", on_delete=models.CASCADE, related_name="requests")
    role = models.ForeignKey("assignments.RoleDefinition", on_delete=models.PROTECT, related_name="requests")
    scope = models.ForeignKey("assignments.Scope", on_delete=models.PROTECT, related_name="requests")
    kind = models.CharField(max_length=10, blank=True, help_text="eligible or active, for admin actions")
    eligible_assignment = models.ForeignKey(
        "assignments.Assignment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignment = models.ForeignKey(
        "assignments.Assignment", null=True, blank=True, on_delete=models.SET_NULL, related_name="requests"
    )
    start_at = models.DateTimeField(null=True, blank=True)
    end_at = models.DateTimeField(null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    justification = models.TextField(blank=True)
    ticket_system = models.CharField(max_length=100, blank=True)
    ticket_number = models.CharField(max_length=100, blank=True)
    approvals_required = models.PositiveSmallIntegerField(default=0)
    approval_deadline = models.DateTimeField(null=True, blank=True)
    # Staged approval (`ApprovalStage`): the stage the request waits at (null: the setting's single
    # stage, or no approval), whether it was handed to the stage's fallback approvers, since when it
    # waits there, and when its undecided approvers were last reminded.
    approval_stage = models.ForeignKey(ApprovalStage, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="requests")
    stage_escalated = models.BooleanField(default=False, db_default=False)
    stage_started_at = models.DateTimeField(null=True, blank=True)
    approvers_reminded_at = models.DateTimeField(null=True, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    status_message = models.TextField(blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    provisioned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "approvals_request"  # created by the approvals app, which held the model at first
        ordering = ["-created_at"]
        constraints = [
            # One open activation per eligible assignment: a double submit cannot queue two.
            models.UniqueConstraint(
                fields=["eligible_assignment", "action"],
                condition=Q(status__in=["pending_approval", "approved"]),
                name="request_one_open_per_eligible_assignment_action",
            ),
            # One open eligibility request per person, role and scope: two identical requests at once
            # cannot both wait (the catalogue also locks the principal's row first).
            models.UniqueConstraint(
                fields=["principal", "role", "scope"],
                condition=Q(action="self_eligibility", status__in=["pending_approval", "approved"]),
                name="request_one_open_eligibility_request",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "approval_deadline"], name="request_pending_idx"),
            # The approver queue asks for the pending requests of a role at the scopes below where the
            # approver has authority (`approvals.selectors.requests_decidable_queryset`): partial, so it
            # holds only what waits for a decision, however long the history.
            models.Index(fields=["role", "scope"], condition=Q(status="pending_approval"),
                         name="request_pending_role_scope_idx"),
            models.Index(fields=["requested_by", "created_at"], name="request_requester_idx"),
            models.Index(fields=["principal", "created_at"], name="request_principal_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.role} @ {self.scope} for {self.principal}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES
