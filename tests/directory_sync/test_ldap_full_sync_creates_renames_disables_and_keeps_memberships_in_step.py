"""A full run from a real OpenLDAP creates the users and groups it finds with their static
memberships (origin `directory`), renames what was renamed (found by entryUUID), removes a member taken
out of a group, and disables users who left the directory or are marked disabled, which ends
everything they hold. A second run with nothing changed changes nothing."""

import ldap3

from assignments.access import access_find_grant
from assignments.models import Assignment, Principal, User
from audit.models import AuditEvent
from directory.ldap_sync import directory_sync_run
from directory.models import DirectorySource, DirectorySourceEntry, DirectorySyncRun
from tests.slapd import group_dn, user_dn

FULL = DirectorySyncRun.Kind.FULL


def members(group_name: str) -> set[str]:
    return set(Assignment.objects.filter(scope__group__display_name=group_name, status="live", origin="directory")
               .values_list("principal__user__username", flat=True))


def test_the_first_run_creates_users_groups_and_memberships(source):
    run = directory_sync_run(source=source, kind=FULL)
    assert run.status == "succeeded", run.error
    assert (run.users_read, run.groups_read) == (4, 2)
    assert (run.users_created, run.groups_created, run.memberships_added) == (4, 2, 3)
    ada = User.objects.get(username="ada")
    assert (ada.email, ada.display_name) == ("ada@example.org", "Ada Lovelace")
    assert ada.principal.external_source == source.source_key and len(ada.principal.external_id) == 36
    assert members("db-admins") == {"ada", "grace"} and members("auditors") == {"alan"}
    assert run.watermark and DirectorySource.objects.get(pk=source.pk).watermark == run.watermark
    assert DirectorySourceEntry.objects.filter(source=source).count() == 6
    event = AuditEvent.objects.filter(action="user.create", target_label__icontains="ada").latest("seq")
    assert event.actor_label == "system:ldap-sync (Example OpenLDAP)"

    again = directory_sync_run(source=source, kind=FULL)
    assert again.status == "succeeded"
    assert (again.users_unchanged, again.groups_unchanged) == (4, 2)
    assert again.users_created + again.users_updated + again.users_disabled + again.memberships_added == 0


def test_rename_remove_from_group_and_disable_are_applied(source, slapd, directory):
    directory_sync_run(source=source, kind=FULL)
    ada_id = User.objects.get(username="ada").principal.external_id
    grace = User.objects.get(username="grace")
    alan = User.objects.get(username="alan")
    directory.grant(alan, "reader", "/subscriptions/s1")
    group = Principal.objects.get(display_name="db-admins")
    directory.grant(group, "reader", "/subscriptions/s2")
    assert access_find_grant(principal=grace.principal, role="reader", scope="/subscriptions/s2")

    # Ada renamed (new RDN and uid), her group membership follows the new DN; Grace taken out of
    # db-admins; Alan leaves the directory.
    slapd.rename(user_dn("ada"), "uid=ada.lovelace")
    slapd.modify(user_dn("ada.lovelace"), {"cn": [(ldap3.MODIFY_REPLACE, ["Ada King"])]})
    slapd.modify(group_dn("db-admins"), {"member": [(ldap3.MODIFY_REPLACE, [user_dn("ada.lovelace")])]})
    slapd.modify(group_dn("auditors"), {"member": [(ldap3.MODIFY_REPLACE, [user_dn("edsger")])]})
    slapd.delete(user_dn("alan"))

    run = directory_sync_run(source=source, kind=FULL)
    assert run.status == "succeeded", run.error
    # Alan's membership ended with his account; Grace's is the one removal, Edsger's the one addition.
    assert (run.users_updated, run.users_disabled, run.memberships_removed, run.memberships_added) == (1, 1, 1, 1)
    ada = User.objects.get(principal__external_id=ada_id)
    assert (ada.username, ada.display_name) == ("ada.lovelace", "Ada King")
    assert members("db-admins") == {"ada.lovelace"} and members("auditors") == {"edsger"}
    assert not access_find_grant(principal=grace.principal, role="reader", scope="/subscriptions/s2")
    alan.refresh_from_db()
    assert not alan.is_active
    assert not Assignment.objects.filter(principal=alan.principal, status="live").exists()


def test_an_account_marked_disabled_is_disabled_and_loses_what_it_holds(source, slapd, directory):
    DirectorySource.objects.filter(pk=source.pk).update(disabled_attribute="employeeType", disabled_mode="equals",
                                                        disabled_value="disabled")
    source.refresh_from_db()
    directory_sync_run(source=source, kind=FULL)
    grace = User.objects.get(username="grace")
    directory.grant(grace, "reader", "/subscriptions/s1")
    slapd.modify(user_dn("grace"), {"employeeType": [(ldap3.MODIFY_ADD, ["Disabled"])]})

    run = directory_sync_run(source=source, kind=FULL)
    assert (run.status, run.users_disabled) == ("succeeded", 1)
    grace.refresh_from_db()
    assert not grace.is_active
    assert not Assignment.objects.filter(principal=grace.principal, status="live").exists()
    assert members("db-admins") == {"ada"}

    slapd.modify(user_dn("grace"), {"employeeType": [(ldap3.MODIFY_DELETE, [])]})
    run = directory_sync_run(source=source, kind=FULL)
    grace.refresh_from_db()
    assert grace.is_active and run.users_updated == 1
    assert members("db-admins") == {"ada", "grace"}  # back in the group the directory says she is in
