"""The LDIF reader (RFC 2849) and the filter evaluator (RFC 4515) the LDIF import uses."""

import pytest

from directory.ldap_client import Entry, LdapReadError, filter_compile, ldif_parse


def entry(**attributes) -> Entry:
    return Entry(dn="cn=x", attributes={k.lower(): [v.encode() for v in (vs if isinstance(vs, list) else [vs])]
                                        for k, vs in attributes.items()})


def test_folded_lines_base64_values_comments_and_options_are_read():
    entries = ldif_parse(b"version: 1\n# a comment\ndn: cn=Ada,\n dc=example\ncn:: QWRh\nmember;range=0-1: a\n"
                         b"member: b\n\n\n\ndn: cn=b\ncn: b\n")
    assert [e.dn for e in entries] == ["cn=Ada,dc=example", "cn=b"]
    assert entries[0].text("cn") == ["Ada"] and entries[0].text("member") == ["a", "b"]


@pytest.mark.parametrize("data", [b"cn: no dn first\n", b"dn: cn=x\nno separator\n"])
def test_malformed_records_are_refused(data):
    with pytest.raises(LdapReadError):
        ldif_parse(data)


def test_active_directory_filters_match_as_a_domain_controller_would():
    users = filter_compile("(&(objectClass=user)(objectCategory=person)"
                           "(!(userAccountControl:1.2.840.113556.1.4.803:=2)))")
    person = entry(objectClass=["top", "user"], objectCategory="CN=Person,CN=Schema,CN=Configuration,DC=x",
                   userAccountControl="512")
    assert users(person)
    assert not users(entry(objectClass="user", objectCategory="CN=Person,CN=Schema", userAccountControl="514"))
    assert not users(entry(objectClass="user", objectCategory="CN=Computer,CN=Schema", userAccountControl="4096"))


def test_presence_substrings_and_ordering():
    ada = entry(uid="ada", mail="ada@example.org", uidNumber="1005")
    assert filter_compile("(mail=*)")(ada) and not filter_compile("(telephoneNumber=*)")(ada)
    assert filter_compile("(mail=*@EXAMPLE.org)")(ada) and filter_compile("(uid=a*a)")(ada)
    assert filter_compile("(|(uid=bob)(uidNumber>=1000))")(ada) and not filter_compile("(uidNumber<=999)")(ada)
    assert filter_compile("uid=ada")(ada)


@pytest.mark.parametrize("text", ["(uid=ada", "(&(uid=a)", "(uid:1.2.3:=x)", "(uid=a))"])
def test_filters_it_cannot_read_are_refused(text):
    with pytest.raises(LdapReadError):
        filter_compile(text)
