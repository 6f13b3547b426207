"""Readable names of the audit log's action codes ("assignment.activate" → "Role activated"): one mapping,
used by the pages (`{{ event.action|action_name }}`) and, as the same names computed in SQL, by the
CSV export's `action_name` column, so that page and file never disagree.

A code missing here (a new event, an old one) still reads: its first letter upper-cased, dots and
underscores as spaces ("webhook.rotate_secret" → "Webhook rotate secret"), the same in both.
"""

from django.db.models import Case, F, Func, TextField, Value, When

ACTION_NAMES: dict[str, str] = {
    # Assignments
    "assignment.create": "Role assigned",
    "assignment.update": "Assignment updated",
    "assignment.remove": "Assignment removed",
    "assignment.activate": "Role activated",
    "assignment.deactivate": "Role deactivated",
    "assignment.extend": "Assignment extended",
    "assignment.renew": "Assignment renewed",
    "assignment.make_active": "Made active",
    "assignment.make_eligible": "Made eligible",
    "assignment.make_eligible_bulk": "Made eligible (in bulk)",
    "assignment.expire": "Assignment expired",
    "assignment.end": "Assignment ended",
    "assignment.cut": "Activation cut to its eligibility",
    "assignment.change_outside_pim": "Assignment changed outside PIM",
    "access.elevate": "Access elevated",
    "access.elevate_end": "Elevated access ended",
    # Requests and approvals
    "request.self_activate": "Activation requested",
    "request.self_extend": "Extension requested",
    "request.self_renew": "Renewal requested",
    "request.approve": "Request approved",
    "request.deny": "Request denied",
    "request.cancel": "Request canceled",
    "request.time_out": "Request timed out",
    "request.start": "Scheduled request started",
    "request.fail": "Request failed",
    # Directory and settings
    "user.create": "User created",
    "user.enable": "User enabled",
    "user.disable": "User disabled",
    "group.create": "Group created",
    "service_principal.create": "Service principal created",
    "scope.create": "Scope created",
    "scope.move": "Scope moved",
    "role.create": "Role created",
    "role_setting.update": "Role setting changed",
    # Sign-in and MFA
    "auth.sign_in": "Signed in",
    "auth.sign_in_failed": "Sign-in failed",
    "auth.sso_refused": "Single sign-on refused",
    "mfa.enrol": "MFA enrolled",
    "mfa.verify": "MFA verified",
    "mfa.verify_failed": "MFA verification failed",
    "mfa.enrolment_code": "MFA enrolment code issued",
    "mfa.backup_codes": "MFA backup codes issued",
    # Access reviews
    "review.create": "Access review created",
    "review.start": "Access review started",
    "review.decide": "Access review decision",
    "review.remind": "Access review reminder sent",
    "review.complete": "Access review completed",
    "review.apply_start": "Access review results being applied",
    "review.apply_item": "Access review result applied",
    "review.apply": "Access review results applied",
    "review.export": "Access review results downloaded",
    # Alerts
    "alert.run": "Alert evaluated",
    "alert.incident_open": "Alert incident opened",
    "alert.incident_clear": "Alert incident cleared",
    "alert.incident_resolve": "Alert incident resolved",
    "alert.incident_dismiss": "Alert incident dismissed",
    "alert.incident_fix": "Alert incident fixed",
    "alert.setting_update": "Alert setting changed",
    # API, provisioning
    "api.token_create": "API token created",
    "api.token_revoke": "API token revoked",
    "api.write": "API change",
    "webhook.create": "Webhook created",
    "webhook.update": "Webhook updated",
    "webhook.delete": "Webhook deleted",
    "webhook.rotate_secret": "Webhook secret rotated",
    "webhook_delivery.retry": "Webhook delivery retried",
    "scim_app.create": "SCIM application created",
    "scim_app.update": "SCIM application updated",
    "scim_app.delete": "SCIM application deleted",
    "scim_operation.retry": "SCIM operation retried",
    # The log itself
    "audit.export": "Audit log downloaded",
    "audit.checkpoint": "Audit checkpoint signed",
    "audit.purge": "Audit log purged",
}

# Events whose `justification` column holds the approver's comment, not the requester's justification.
APPROVER_COMMENT_ACTIONS = frozenset({"request.approve", "request.deny"})


def action_name(code: str) -> str:
    """The readable name of an action code."""
    if code in ACTION_NAMES:
        return ACTION_NAMES[code]
    return code[:1].upper() + code[1:].replace(".", " ").replace("_", " ")


def justification_label(code: str) -> str:
    """What an event's justification is: the approver's comment on a decision, else the justification."""
    return "Approver's comment" if code in APPROVER_COMMENT_ACTIONS else "Justification"


class _FallbackName(Func):
    """`action_name`'s fallback in SQL: first letter upper-cased, dots and underscores as spaces."""

    output_field = TextField()
    template = ("UPPER(SUBSTR(%(expressions)s, 1, 1)) || "
                "REPLACE(REPLACE(SUBSTR(%(expressions)s, 2), '.', ' '), '_', ' ')")

    def as_sql(self, compiler, connection, template=None, **extra):
        sql, params = super().as_sql(compiler, connection, template=template, **extra)
        return sql, tuple(params) * 2  # the argument appears twice in the template


def action_name_expression(field: str = "action") -> Case:
    """`action_name(field)` as a SQL expression, for the CSV export."""
    return Case(*(When(**{field: code}, then=Value(name)) for code, name in ACTION_NAMES.items()),
                default=_FallbackName(F(field)), output_field=TextField())
