"""At each single sign-on through a real provider, the person's directory groups follow its groups
claim: groups of this source are matched by external id (the claim's values), joined with origin
`directory`, left when the claim stops naming them; unknown values are ignored, or become groups when
the setting says so. PIM-managed memberships and other sources' groups are never touched."""

from datetime import timedelta

from django.utils import timezone

from assignments.models import Assignment, Principal
from assignments.services import membership_directory_add
from directory.services import directory_actor, directory_group_members, directory_group_upsert

SOURCE = "oidc:corp"
SETUP = directory_actor(job="test-setup", source_label="test")


def _group(external_id, name, source=SOURCE):
    group, _ = directory_group_upsert(source=source, external_id=external_id, display_name=name, actor=SETUP)
    return group


def _live_origins(user, group):
    return sorted(Assignment.objects.filter(principal=user.principal, scope__group=group, role__slug="group-member",
                                            status=Assignment.Status.LIVE).values_list("origin", flat=True))


def test_the_groups_claim_decides_the_directory_memberships_at_each_sign_in(identity_provider, settings, directory):
    settings.SOCIALACCOUNT_PROVIDERS = identity_provider.portal_settings(groups_claim="groups")
    operators, auditors = _group("pim-operators", "PIM operators"), _group("pim-auditors", "PIM auditors")
    on_call = _group("pim-on-call", "On call")
    elsewhere = _group("pim-operators", "Operators (LDAP)", source="ldap:corp-ad")  # same id, another source
    ada = directory.user("ada", email="ada@corp.example")
    bob = directory.user("bob")  # in the operators through the directory: nobody's sign-in but his changes that
    membership_directory_add(group=operators, member=bob.principal, actor=SETUP)
    # PIM-managed memberships (time-bound, given in the portal): the claim names one group and not the other.
    directory.add_member(on_call, ada, end=timezone.now() + timedelta(days=3))
    directory.add_member(auditors, ada, end=timezone.now() + timedelta(days=3))
    identity_provider.person("ada", email="ada@corp.example", email_verified=True,
                             groups=["pim-operators", "pim-auditors", "not-in-the-portal"])

    assert identity_provider.sign_in("ada").response.status_code == 200

    assert _live_origins(ada, operators) == ["directory"]
    assert _live_origins(ada, auditors) == ["pim"] and _live_origins(ada, on_call) == ["pim"]  # never replaced
    assert _live_origins(ada, elsewhere) == []
    assert not Principal.objects.filter(external_source=SOURCE, external_id="not-in-the-portal").exists()
    added = Assignment.objects.get(principal=ada.principal, scope__group=operators)
    assert added.end_at is None and added.kind == "active"

    # At the provider Ada leaves the operators; the portal hears of it at her next sign-in.
    identity_provider.person("ada", email="ada@corp.example", email_verified=True, groups=["pim-auditors"])
    assert identity_provider.sign_in("ada").response.status_code == 200

    assert _live_origins(ada, operators) == []
    assert Assignment.objects.get(pk=added.pk).status == Assignment.Status.ENDED
    assert _live_origins(ada, auditors) == ["pim"] and _live_origins(ada, on_call) == ["pim"]

    # Back in the operators, then no groups claim at all: the provider says she is in no group.
    identity_provider.person("ada", email="ada@corp.example", email_verified=True, groups=["pim-operators"])
    assert identity_provider.sign_in("ada").response.status_code == 200
    assert directory_group_members(group=operators) == {ada.principal.pk, bob.principal.pk}
    identity_provider.person("ada", email="ada@corp.example", email_verified=True)
    assert identity_provider.sign_in("ada").response.status_code == 200
    assert directory_group_members(group=operators) == {bob.principal.pk}
    assert _live_origins(ada, auditors) == ["pim"] and _live_origins(ada, on_call) == ["pim"]


def test_unknown_groups_are_created_when_the_setting_says_so(identity_provider, settings, directory):
    settings.SOCIALACCOUNT_PROVIDERS = identity_provider.portal_settings(create_users=True, groups_claim="groups",
                                                                         create_groups=True)
    identity_provider.person("ada", email="ada@corp.example", email_verified=True, preferred_username="ada",
                             groups=["b7a1e2c4-0000-4000-8000-00000000abcd"])

    assert identity_provider.sign_in("ada").response.status_code == 200

    group = Principal.objects.get(external_source=SOURCE, external_id="b7a1e2c4-0000-4000-8000-00000000abcd")
    assert group.is_group and group.display_name == "b7a1e2c4-0000-4000-8000-00000000abcd"
    ada = Principal.objects.get(user__username="ada")
    assert directory_group_members(group=group) == {ada.pk}

    # Renamed by an administrator, the group keeps its name at the next sign-in (the claim has no names).
    Principal.objects.filter(pk=group.pk).update(display_name="Finance approvers")
    assert identity_provider.sign_in("ada").response.status_code == 200
    group.refresh_from_db()
    assert group.display_name == "Finance approvers"
    assert Principal.objects.filter(external_source=SOURCE, kind=Principal.Kind.GROUP).count() == 1
