"""Recipients come from the role setting's matrix: default recipients on/off, extra addresses,
critical only (privileged roles only), with the fallbacks of DESIGN §3 and each address once."""

from django.conf import settings
from django.urls import reverse

from assignments.models import default_notification_matrix


def _matrix(**cells):
    matrix = default_notification_matrix()
    for key, values in cells.items():
        row, column = key.split("__")
        matrix[row][column].update(values)
    return matrix


def test_an_activation_notifies_the_role_admins_and_the_activating_user(directory, global_admin, role_admin,
                                                                       requester, policy, activate, outbox):
    policy("helpdesk-administrator")
    eligibility = directory.grant(requester, "helpdesk-administrator", kind="eligible")

    activate(requester, eligibility)

    assert outbox.recipients("email/activated") == sorted(
        ["gadmin@example.com", "rolead@example.com", "requester@example.com"])


def test_default_recipients_off_and_extra_addresses_on(directory, global_admin, requester, policy, activate, outbox):
    policy("helpdesk-administrator", notifications=_matrix(
        eligible_activated__admins={"default_recipients": False, "extra_addresses": ["soc@example.com"]},
        eligible_activated__assignee={"extra_addresses": ["REQUESTER@example.com"]}))
    eligibility = directory.grant(requester, "helpdesk-administrator", kind="eligible")

    activate(requester, eligibility)

    # The admins are replaced by the SOC mailbox; the requester's second spelling is the same address.
    assert outbox.recipients("email/activated") == ["requester@example.com", "soc@example.com"]


def test_critical_only_cells_apply_to_privileged_roles_only(directory, global_admin, requester, policy, outbox):
    critical = _matrix(eligible_assigned__admins={"critical_only": True},
                       eligible_assigned__assignee={"critical_only": True})
    for slug in ("exchange-administrator", "global-administrator"):
        policy(slug, notifications=critical)
    assert not directory.role("exchange-administrator").is_privileged
    assert directory.role("global-administrator").is_privileged

    plain = directory.grant(requester, "exchange-administrator", kind="eligible")
    privileged = directory.grant(requester, "global-administrator", kind="eligible")

    notified = {m.payload["context"]["assignment_id"] for m in outbox.rows("email/assigned")}
    assert privileged.pk in notified
    assert plain.pk not in notified


def test_admins_of_a_resource_role_are_owners_at_or_above_the_scope_including_group_members(directory, requester,
                                                                                            outbox):
    rg = directory.scope("/subscriptions/s1/resourceGroups/rg1")
    sub_owner = directory.user("subowner")
    directory.grant(sub_owner, "owner", "/subscriptions/s1")
    team = directory.group("Platform team")
    member = directory.user("platformer")
    directory.add_member(team, member)
    directory.grant(team, "user-access-administrator", rg)
    elsewhere = directory.user("elsewhere")
    directory.grant(elsewhere, "owner", "/subscriptions/s2")

    eligibility = directory.grant(requester, "contributor", rg, kind="eligible")

    to = {m.payload["to"] for m in outbox.rows("email/assigned")
          if m.payload["context"]["assignment_id"] == eligibility.pk}
    assert {"subowner@example.com", "platformer@example.com", "requester@example.com"} <= to
    assert "elsewhere@example.com" not in to


def test_a_request_to_approve_goes_to_named_approvers_and_members_of_named_groups_not_the_requester(
        directory, global_admin, requester, policy, activate, outbox):
    alice = directory.user("alice")
    approvers = directory.group("Approvers")
    bob = directory.user("bob")
    directory.add_member(approvers, bob)
    directory.add_member(approvers, requester)  # a member, but never the approver of their own request
    policy("helpdesk-administrator", require_approval=True, approvers=[alice, approvers])
    eligibility = directory.grant(requester, "helpdesk-administrator", kind="eligible")

    request = activate(requester, eligibility)

    rows = outbox.rows("email/approval_request")
    assert sorted(m.payload["to"] for m in rows) == ["alice@example.com", "bob@example.com"]
    # An absolute link to the request's page, where approvers decide (approvals:request_detail).
    assert {m.payload["context"]["approval_link"] for m in rows} == {
        f"{settings.SITE_URL}{reverse('approvals:request_detail', args=[request.pk])}#decide"}


def test_with_no_approver_named_directory_roles_fall_back_to_role_and_global_administrators(
        directory, global_admin, role_admin, requester, policy, activate, outbox):
    policy("helpdesk-administrator", require_approval=True, approvers=[])
    eligibility = directory.grant(requester, "helpdesk-administrator", kind="eligible")

    activate(requester, eligibility)

    assert outbox.recipients("email/approval_request") == ["gadmin@example.com", "rolead@example.com"]


def test_no_cap_on_recipients(directory, requester, policy, activate, outbox):
    people = [directory.user(f"approver{i}") for i in range(60)]
    policy("helpdesk-administrator", require_approval=True, approvers=people)
    eligibility = directory.grant(requester, "helpdesk-administrator", kind="eligible")

    activate(requester, eligibility)

    assert len(outbox.recipients("email/approval_request")) == 60
