"""Schemathesis against the OpenAPI schema, once per persona, in-process over WSGI.

For every operation, bounded examples (positive and negative): no 5xx, responses conform to the
schema (status codes, content types, bodies), and a custom check: no 2xx for an operation the
persona may not perform.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

PEOPLE = {"requester", "approver", "administrator", "auditor"}
SIGNED_IN = PEOPLE | {"service_principal"}
VIEWERS = {"administrator", "auditor"}  # directory viewer roles: may check others
ADMINS = {"administrator", "service_principal"}  # within their own assignments

# operationId → personas that may get a 2xx (before the finer rules below)
MAY = {
    "ping": SIGNED_IN,
    "check": SIGNED_IN,
    "roles_list": SIGNED_IN,
    "scopes_list": SIGNED_IN,
    "principals_list": SIGNED_IN,
    "role_settings_list": SIGNED_IN,
    "role_settings_update": ADMINS,
    "role_settings_stages_set": ADMINS,
    # Delegation of one's approvals: people only (a service principal lists none and gives none).
    "delegations_list": SIGNED_IN,
    "delegations_create": PEOPLE,
    "delegations_revoke": PEOPLE,
    "assignments_list": SIGNED_IN,
    "assignments_create": ADMINS,
    "assignments_retrieve": SIGNED_IN,
    "requests_list": SIGNED_IN,
    "requests_create": SIGNED_IN,
    "requests_retrieve": SIGNED_IN,
    "requests_cancel": PEOPLE,
    "approvals_list": SIGNED_IN,
    "approvals_approve": {"approver", "administrator"},
    "approvals_approve_many": PEOPLE,  # each id refused unless the caller may decide it
    "approvals_deny": {"approver", "administrator"},
    "audit_events_list": SIGNED_IN,
    "audit_events_csv": SIGNED_IN,
    # Connectors: Global Administrators and Privileged Role Administrators.
    **{f"connector_{name}": {"administrator"} for name in (
        "targets_list", "targets_create", "targets_get", "targets_update", "targets_test", "targets_reconcile",
        "mappings_list", "mappings_create", "mappings_get", "mappings_update", "mappings_partial_update",
        "effects_list", "drift_list", "targets_delete", "mappings_delete", "effects_retry", "drift_fix",
        "targets_rotate_secret")},
    # Directory administration: users by directory writers, custom roles by role administrators, scopes by
    # Global Administrators and Owners (no persona here is either), the import by directory administrators.
    "users_create": {"administrator"},
    "users_retrieve": SIGNED_IN,
    "users_update": {"administrator"},
    "scopes_create": set(),
    "scopes_retrieve": SIGNED_IN,
    "scopes_update": set(),
    "scopes_destroy": set(),
    "roles_create": {"administrator"},
    "roles_retrieve": SIGNED_IN,
    "roles_update": {"administrator"},
    "roles_destroy": {"administrator"},
    "directory_import": {"administrator"},
    "directory_export": VIEWERS,
    # LDAP / AD directory sources: Global Administrators and Privileged Role Administrators (people only).
    **{f"ldap_sources_{name}": {"administrator"} for name in (
        "list", "create", "retrieve", "update", "destroy", "test", "run", "import", "runs", "run_retrieve")},
    # Access reviews: definitions and results for administrators of the role (and directory readers for
    # directory roles), creating and running them for administrators, deciding for the named reviewers.
    "reviews_list": VIEWERS, "reviews_create": {"administrator"}, "reviews_retrieve": VIEWERS,
    "review_instances_retrieve": VIEWERS, "review_instances_items": VIEWERS,
    "review_instances_complete": {"administrator"}, "review_instances_apply": {"administrator"},
    "my_reviews_list": PEOPLE, "my_reviews_items": PEOPLE, "my_reviews_decide": PEOPLE,
    # Security alerts: readers (Global Reader here) read; alert managers run, resolve, dismiss, fix; directory
    # administrators change settings; discovery is for directory administrators.
    "alerts_list": VIEWERS, "alerts_retrieve": VIEWERS, "alerts_update": {"administrator"},
    "alerts_run": {"administrator"}, "alerts_run_all": {"administrator"},
    "incidents_list": VIEWERS, "incidents_retrieve": VIEWERS, "incidents_resolve": {"administrator"},
    "incidents_dismiss": {"administrator"}, "incidents_fix": {"administrator"},
    "emergency_access_report": VIEWERS, "dashboard_retrieve": {"administrator"},
    "discovery_list": {"administrator"}, "discovery_preview": {"administrator"},
    "discovery_convert": {"administrator"},
    # Groups and service principals: directory writers; credentials: creating one needs a fresh verification
    # (only the administrator's administrative token has one), revoking one's own or (directory admins) any.
    "principals_retrieve": SIGNED_IN, "groups_create": {"administrator"},
    "service_principals_create": {"administrator"},
    "api_tokens_list": PEOPLE, "api_tokens_create": {"administrator"}, "api_tokens_revoke": PEOPLE,
    **{f"scim_{name}": {"administrator"} for name in (
        "clients_list", "clients_create", "tokens_list", "tokens_create", "tokens_revoke")},
    # Policy as code: read by directory administrators and auditors, changed by directory administrators.
    **{f"policy_{name}": VIEWERS for name in ("export", "plan", "versions_list", "proposals_list", "proposals_get",
                                                         "proposals_whatif")},
    **{f"policy_{name}": {"administrator"} for name in (
        "apply", "rollback", "dual_control_set", "proposals_create", "proposals_approve", "proposals_reject",
        "proposals_withdraw")},
    # Anyone may start a command-line sign-in: nothing is granted until a person approves it.
    "device_authorize": SIGNED_IN | {"anonymous"},
    "device_token": set(),  # a token only for the device code of an approved sign-in, which no example has
    # Request rules (selfservice): a role's administrators; break-glass, reviews and the catalogue: people.
    "request_rules_retrieve": ADMINS,
    "request_rules_update": {"administrator"},
    "auto_approval_rules_list": ADMINS,
    "auto_approval_rules_create": {"administrator"},
    "auto_approval_rules_destroy": {"administrator"},
    "auto_approval_rules_roster_import": {"administrator"},
    "break_glass_create": PEOPLE,
    "break_glass_reviews_list": SIGNED_IN,
    "break_glass_reviews_complete": PEOPLE,
    "eligibility_requests_create": PEOPLE,
    "request_batches_retrieve": SIGNED_IN,
    # Governance: directory administrators and readers read; writes are the directory administrators'.
    **{name: VIEWERS for name in ("governance_whatif", "conflict_sets_list", "conflicts_list",
                                  "conflict_exceptions_list", "rightsizing_list",
                                  "rightsizing_settings_retrieve")},
    **{name: {"administrator"} for name in ("conflict_sets_create", "conflict_sets_delete",
                                            "conflict_exceptions_grant", "conflict_exceptions_revoke",
                                            "rightsizing_apply", "rightsizing_settings_update")},
}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _refers_to(persona, value) -> bool:
    principal = persona.principal
    text = str(value).strip()
    username = getattr(getattr(principal, "user", None), "username", None)
    return text in {str(principal.pk), str(principal.object_id), username}


def may_succeed(persona, case) -> bool:
    operation_id = case.operation.definition.raw.get("operationId")
    assert operation_id in MAY, f"no rule for {operation_id}: add it to MAY"
    if persona.name not in MAY[operation_id]:
        return False
    if operation_id == "check" and persona.name not in VIEWERS:
        return _refers_to(persona, (case.query or {}).get("principal", ""))
    if operation_id == "requests_create":
        action = str((case.body or {}).get("action", "")) if isinstance(case.body, dict) else ""
        if action.startswith("admin_"):
            return persona.name in ADMINS
        if action == "self_activate":  # a service principal too, where a policy allows it
            return persona.name in SIGNED_IN
        return persona.name in PEOPLE
    return True


POSITIVE_EXAMPLES, NEGATIVE_EXAMPLES = 10, 5


def _drawn(operation, mode, examples) -> list:
    """The examples Hypothesis draws for `operation` in `mode`: at most `examples`, the same on every run."""
    drawn = []

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def draw(case):
        drawn.append(case)

    draw()
    return drawn


@pytest.fixture(scope="session")
def examples(django_db_setup, django_db_blocker):
    """Every operation's examples (positive and negative), drawn once per session from the schema the
    API serves: drawing is half the cost of the fuzzing, and the examples depend on the schema alone
    (derandomized), so every persona is sent the same ones, as when each drew its own."""
    from django.core.wsgi import get_wsgi_application

    with django_db_blocker.unblock(), override_settings(PIM_API_DOCS_PUBLIC=True):  # fetched without a credential
        schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())
        operations = [result.ok() for result in schema.get_all_operations()]
    return [(operation, [case for mode, count in ((GenerationMode.POSITIVE, POSITIVE_EXAMPLES),
                                                  (GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES))
                         for case in _drawn(operation, mode, count)])
            for operation in operations]


@pytest.fixture
def in_process_requests(db):
    # Requests run in this thread, inside the test's transaction: keep Django from closing the connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        with override_settings(PIM_API_DOCS_PUBLIC=True):  # as when the schema was fetched
            yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.parametrize("persona_name", ["requester", "approver", "administrator", "auditor", "service_principal",
                                          "anonymous"])
def test_schema_holds_for_persona(world, examples, in_process_requests, persona_name):
    persona = world[persona_name]
    headers = {"Authorization": f"Bearer {persona.token}"} if persona.token else {}
    assert len(examples) >= len(MAY)
    for _operation, cases in examples:
        for drawn in cases:
            case = drawn.derive(keep_auth=True)  # the session's example stays as drawn for the next persona
            response = case.call(headers=headers)
            try:
                case.validate_response(response, checks=CHECKS)
                if 200 <= response.status_code < 300:
                    assert may_succeed(persona, case), (
                        f"{persona_name} got {response.status_code} for {case.operation.label}: {case.query} "
                        f"{case.body}")
            except BaseException as failure:
                failure.add_note(f"Reproduce with:\n\n    {case.as_curl_command(headers=headers)}")
                raise
