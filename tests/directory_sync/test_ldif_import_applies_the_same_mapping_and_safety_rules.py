"""*Import an LDIF file* on a source's page runs the file's entries through the same base DNs, filters,
attribute mapping and safety rules as a full run: an Active Directory export (objectGUID in base64,
userAccountControl's disabled bit, objectCategory=person) and `ldapsearch -LLL` output from a real
slapd both import; a file with implausibly few entries is refused and changes nothing; a broken file
is a clear error, never a 500 or a half-applied change."""

import base64
import subprocess
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from assignments.models import Assignment, User
from directory.ldap_client import PRESETS
from directory.models import DirectoryLdifUpload, DirectorySource, DirectorySyncRun
from tests.slapd import ROOT_DN, ROOT_PASSWORD, SUFFIX

from .conftest import USERS

BASE = "DC=corp,DC=example,DC=com"
USER_IDS = [user["uid"] for user in USERS]
GUIDS = {name: uuid.uuid4() for name in ("ada", "grace", "alan", "admins")}


def guid(name: str) -> str:
    return base64.b64encode(GUIDS[name].bytes_le).decode()


def ad_export(*, users=("ada", "grace", "alan"), disabled=("alan",)) -> bytes:
    blocks = ["version: 1", "# exported with ldifde"]
    for name in users:
        blocks.append(f"""dn: CN={name.title()},OU=Staff,{BASE}
objectClass: top
objectClass: person
objectClass: organizationalPerson
objectClass: user
objectCategory: CN=Person,CN=Schema,CN=Configuration,{BASE}
cn: {name.title()}
displayName: {name.title()} Example
sAMAccountName: {name}
userPrincipalName: {name}@corp.example.com
userAccountControl: {514 if name in disabled else 512}
objectGUID:: {guid(name)}""")
    members = "\n".join(f"member: CN={name.title()},OU=Staff,{BASE}" for name in users)
    blocks.append(f"""dn: CN=Server Admins,OU=Groups,{BASE}
objectClass: top
objectClass: group
cn: Server
  Admins
objectGUID:: {guid('admins')}
{members}""")
    # A computer account: objectClass user, but not objectCategory person.
    blocks.append(f"""dn: CN=SRV01,OU=Servers,{BASE}
objectClass: user
objectClass: computer
objectCategory: CN=Computer,CN=Schema,CN=Configuration,{BASE}
sAMAccountName: SRV01$""")
    return ("\n\n".join(blocks) + "\n").encode()


def ldif_source(**values) -> DirectorySource:
    now = timezone.now()
    return DirectorySource.objects.create(**{**PRESETS["active_directory"], "name": "Corp AD export", "url": "",
                                             "preset": "active_directory", "base_dns": BASE, "created_at": now,
                                             "updated_at": now, **values})


@pytest.fixture
def upload(eager_tasks, django_capture_on_commit_callbacks):
    """Post a file to the import page; the worker's task runs when the upload commits."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    def _upload(client, source, data: bytes, name="export.ldif"):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("ldap_sources:import", args=[source.pk]),
                               {"file": SimpleUploadedFile(name, data, content_type="text/plain")})
    return _upload


def test_an_active_directory_export_imports_through_the_page(directory, global_admin, verified_client, upload):
    source = ldif_source()
    client = verified_client(global_admin)
    assert client.get(reverse("ldap_sources:import", args=[source.pk])).status_code == 200
    response = upload(client, source, ad_export())
    run = DirectorySyncRun.objects.get(source=source)
    assert response.status_code == 302 and response["Location"] == reverse("ldap_sources:detail", args=[source.pk])
    assert run.started_by == global_admin
    assert not DirectoryLdifUpload.objects.exists()  # the file is not kept once imported
    assert (run.kind, run.status, run.users_read, run.groups_read) == ("ldif", "succeeded", 3, 1), run.error
    ada = User.objects.get(username="ada")
    assert ada.principal.external_id == str(GUIDS["ada"]) and ada.email == "ada@corp.example.com"
    assert ada.display_name == "Ada Example"
    assert not User.objects.get(username="alan").is_active  # userAccountControl 514: ACCOUNTDISABLE
    assert not User.objects.filter(username="SRV01$").exists()  # not objectCategory=person
    members = set(Assignment.objects.filter(scope__group__display_name="Server Admins", status="live")
                  .values_list("principal__user__username", flat=True))
    assert members == {"ada", "grace"}  # the disabled account holds nothing

    # The same file again changes nothing.
    upload(client, source, ad_export())
    again = DirectorySyncRun.objects.filter(source=source).latest("pk")
    assert (again.users_unchanged, again.users_created, again.memberships_added) == (3, 0, 0)


def test_a_file_with_implausibly_few_entries_is_refused(directory, global_admin, verified_client, upload):
    source = ldif_source()
    client = verified_client(global_admin)
    upload(client, source, ad_export())
    upload(client, source, ad_export(users=("ada",)))  # 2 entries of 4 last time: 50% is not under 50%
    assert DirectorySyncRun.objects.filter(source=source).latest("pk").status == "succeeded"
    assert not User.objects.get(username="grace").is_active  # missing from the file: disabled

    response = upload(client, source, b"version: 1\n\n# nothing but a comment\n")
    run = DirectorySyncRun.objects.filter(source=source).latest("pk")
    assert response.status_code == 302 and run.status == "refused"
    assert User.objects.get(username="ada").is_active


def test_a_broken_file_is_a_clear_error(directory, global_admin, verified_client, upload):
    source = ldif_source()
    client = verified_client(global_admin)
    for data, words in ((b"dn: cn=x\nchangetype: modify\nreplace: mail\n", "change records"),
                        (b"\xff\xfe not utf-8", "not UTF-8"),
                        (b"dn: cn=x\nphoto:< file:///etc/passwd\n", "URL values"),
                        (b"dn: cn=x\nobjectGUID:: !!!\n", "base64")):
        response = upload(client, source, data)
        run = DirectorySyncRun.objects.filter(source=source).latest("pk")
        assert response.status_code == 302 and run.status == "failed" and words in run.error, run.error
    assert not User.objects.filter(principal__external_source=source.source_key).exists()
    empty = upload(client, source, b"  \n")
    assert empty.status_code == 400 and "empty" in str(empty.context["form"].errors)


def test_ldapsearch_output_from_a_real_slapd_imports(directory, global_admin, verified_client, slapd, upload):
    output = subprocess.run(["ldapsearch", "-LLL", "-x", "-H", slapd.url, "-D", ROOT_DN, "-w", ROOT_PASSWORD,
                             "-b", SUFFIX, "(objectClass=*)", "*", "entryUUID"],
                            check=True, capture_output=True, timeout=30).stdout
    now = timezone.now()
    source = DirectorySource.objects.create(**{**PRESETS["openldap"], "name": "OpenLDAP export", "url": "",
                                               "preset": "openldap", "base_dns": SUFFIX, "created_at": now,
                                               "updated_at": now})
    upload(verified_client(global_admin), source, output)
    run = DirectorySyncRun.objects.get(source=source)
    assert (run.status, run.users_created, run.groups_created, run.memberships_added) == ("succeeded", 4, 2, 3)
    imported = User.objects.filter(principal__external_source=source.source_key)
    assert sorted(imported.values_list("email", flat=True)) == sorted(f"{uid}@example.org" for uid in USER_IDS)
