"""A source reads over LDAPS or StartTLS, verifying the server's certificate against the CA
certificate pasted in the source (or the system's CAs when none is): a server whose certificate the
CA did not sign fails the run, changing nothing."""

import pytest

from assignments.models import User
from directory.ldap_sync import directory_sync_run
from tests.slapd import ldif_for, start_slapd, stop_slapd, tls_files

from .conftest import GROUP_LIST, USERS, make_source


@pytest.fixture
def tls_slapd():
    server = start_slapd(ldif_for(users=USERS, groups=GROUP_LIST), tls=True)
    yield server
    stop_slapd(server)


def test_ldaps_with_the_ca_certificate_reads_the_directory(directory, tls_slapd):
    ca = tls_slapd.tls_files[0].read_text()
    run = directory_sync_run(source=make_source(tls_slapd.ldaps_url, ca_certificate=ca), kind="full")
    assert (run.status, run.users_created) == ("succeeded", 4), run.error


def test_starttls_with_the_ca_certificate_reads_the_directory(directory, tls_slapd):
    ca = tls_slapd.tls_files[0].read_text()
    url = tls_slapd.url.replace("127.0.0.1", "localhost")
    run = directory_sync_run(source=make_source(url, start_tls=True, ca_certificate=ca), kind="full")
    assert (run.status, run.users_created) == ("succeeded", 4), run.error


def test_a_certificate_from_another_ca_fails_the_run(directory, tls_slapd, tmp_path):
    other_ca = tls_files(tmp_path)[0].read_text()
    for source in (make_source(tls_slapd.ldaps_url, ca_certificate=other_ca, name="ldaps"),
                   make_source(tls_slapd.url, start_tls=True, ca_certificate=other_ca, name="starttls"),
                   make_source(tls_slapd.ldaps_url, name="system CAs")):
        run = directory_sync_run(source=source, kind="full")
        assert run.status == "failed" and "Cannot connect" in run.error, (source.name, run.error)
    assert not User.objects.filter(principal__external_source__startswith="ldap:").exists()
