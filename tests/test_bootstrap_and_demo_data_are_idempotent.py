from django.core.management import call_command

from assignments.models import Assignment, Principal, RoleDefinition, RoleSetting, Scope, User
from audit.models import AuditEvent


def _counts():
    return (
        Scope.objects.count(),
        RoleDefinition.objects.count(),
        RoleSetting.objects.count(),
        User.objects.count(),
        Principal.objects.count(),
        Assignment.objects.count(),
    )


def test_bootstrap_creates_roles_settings_and_two_emergency_accounts_once(db, capsys):
    call_command("pim_bootstrap")
    first = capsys.readouterr().out
    assert first.count("password (shown once") == 2
    counts = _counts()
    call_command("pim_bootstrap")
    assert "password" not in capsys.readouterr().out
    assert _counts() == counts
    emergency = User.objects.filter(is_emergency_access=True)
    assert emergency.count() == 2
    for user in emergency:
        assert Assignment.objects.filter(
            principal=user.principal,
            role__slug="global-administrator",
            kind="active",
            end_at__isnull=True,
            status="live",
        ).exists()
    names = set(RoleDefinition.objects.values_list("name", flat=True))
    for name in [
        "Global Administrator",
        "Privileged Role Administrator",
        "Security Administrator",
        "Security Reader",
        "Global Reader",
        "User Administrator",
        "Helpdesk Administrator",
        "Exchange Administrator",
        "SharePoint Administrator",
        "Intune Administrator",
        "Application Administrator",
        "Billing Administrator",
        "Conditional Access Administrator",
        "Authentication Administrator",
        "Owner",
        "Contributor",
        "Reader",
        "User Access Administrator",
        "Member",
    ]:
        assert name in names
    ga = RoleSetting.objects.get(role__slug="global-administrator", scope__path="/")
    assert (
        ga.max_activation_minutes,
        ga.require_mfa_on_activation,
        ga.require_ticket_on_activation,
        ga.require_approval,
    ) == (60, True, True, True)


def test_demo_data_loads_once_with_every_assignment_type(db, capsys):
    call_command("pim_demo_data")
    out = capsys.readouterr().out
    for login in ("alice", "bob", "carol", "dave"):
        assert login in out
    counts, events = _counts(), AuditEvent.objects.count()
    call_command("pim_demo_data")
    assert _counts() == counts and AuditEvent.objects.count() == events
    assert User.objects.count() >= 50
    live = Assignment.objects.filter(status="live")
    assert live.filter(kind="eligible", end_at__isnull=True).exists()
    assert live.filter(kind="eligible", end_at__isnull=False).exists()
    assert live.filter(kind="active", end_at__isnull=True).exists()
    assert live.filter(kind="active", end_at__isnull=False).exists()
    assert Assignment.objects.filter(activated_from__isnull=False, status="ended").count() > 10
    assert Principal.objects.filter(kind="group", role_assignable=True).exists()
    assert Scope.objects.filter(kind="subscription").count() == 3
