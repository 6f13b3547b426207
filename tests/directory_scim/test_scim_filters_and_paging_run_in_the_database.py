"""List filters (eq, co, sw, ew, ne, pr, and, or, not, value paths) on userName, externalId,
displayName, emails and members are translated into one SQL query: the page costs the same number
of queries for 3 users as for 30. Paging follows startIndex/count; a bad filter is a 400
`invalidFilter`."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from .conftest import Scim, group_body, make_client, user_body


@pytest.fixture
def people(directory):
    _, token = make_client()
    scim = Scim(token)
    ids = {}
    for name, display, email in [("ann.lee@contoso.com", "Ann Lee", "ann@contoso.com"),
                                 ("bob.ray@contoso.com", "Bob Ray", "bob@fabrikam.com"),
                                 ("cid.ann@fabrikam.com", "Cid Ann", "cid@fabrikam.com")]:
        body = user_body(name, displayName=display, externalId=f"ext-{name.split('.')[0]}",
                         emails=[{"value": email, "type": "work", "primary": True},
                                 {"value": f"home-{email}", "type": "home"}])
        ids[name] = scim.post("Users", body)[1]["id"]
    return scim, ids


def _names(scim, filter_text, resource="Users"):
    status, body = scim.get(resource, filter=filter_text)
    assert status == 200, body
    key = "userName" if resource == "Users" else "displayName"
    return sorted(item[key] for item in body["Resources"])


@pytest.mark.parametrize("filter_text, expected", [
    ('userName eq "ANN.LEE@contoso.com"', ["ann.lee@contoso.com"]),
    ('userName sw "bob"', ["bob.ray@contoso.com"]),
    ('userName co "ann"', ["ann.lee@contoso.com", "cid.ann@fabrikam.com"]),
    ('userName ew "fabrikam.com"', ["cid.ann@fabrikam.com"]),
    ('externalId eq "ext-bob"', ["bob.ray@contoso.com"]),
    ('externalId eq "EXT-BOB"', []),  # caseExact
    ('displayName co "ann"', ["ann.lee@contoso.com", "cid.ann@fabrikam.com"]),
    ('emails eq "bob@fabrikam.com"', ["bob.ray@contoso.com"]),
    ('emails.value co "fabrikam"', ["bob.ray@contoso.com", "cid.ann@fabrikam.com"]),
    ('emails[value eq "home-ann@contoso.com"]', ["ann.lee@contoso.com"]),
    ('emails sw "home-c"', ["cid.ann@fabrikam.com"]),
    ('userName sw "ann" or emails co "bob@"', ["ann.lee@contoso.com", "bob.ray@contoso.com"]),
    ('displayName co "ann" and emails co "fabrikam"', ["cid.ann@fabrikam.com"]),
    ('not (userName co "contoso")', ["cid.ann@fabrikam.com"]),
    ('userName ne "ann.lee@contoso.com" and (displayName sw "B" or displayName sw "C")',
     ["bob.ray@contoso.com", "cid.ann@fabrikam.com"]),
    ('externalId pr and active eq true', ["ann.lee@contoso.com", "bob.ray@contoso.com", "cid.ann@fabrikam.com"]),
    ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bob.ray@contoso.com"', ["bob.ray@contoso.com"]),
])
def test_user_filters(people, filter_text, expected):
    scim, _ = people
    assert _names(scim, filter_text) == expected


def test_group_filters_on_name_external_id_and_members(people):
    scim, ids = people
    scim.post("Groups", group_body("Sales EMEA", members=[ids["ann.lee@contoso.com"]], externalId="g-sales"))
    scim.post("Groups", group_body("Sales US", members=[ids["bob.ray@contoso.com"]]))
    scim.post("Groups", group_body("Finance"))
    ann = ids["ann.lee@contoso.com"]
    assert _names(scim, 'displayName sw "sales"', "Groups") == ["Sales EMEA", "Sales US"]
    assert _names(scim, 'externalId eq "g-sales"', "Groups") == ["Sales EMEA"]
    assert _names(scim, f'members eq "{ann}"', "Groups") == ["Sales EMEA"]
    assert _names(scim, f'members[value eq "{ann}"] or displayName eq "Finance"', "Groups") == ["Finance",
                                                                                               "Sales EMEA"]
    assert _names(scim, "members pr", "Groups") == ["Sales EMEA", "Sales US"]


@pytest.mark.parametrize("filter_text", [
    'userName eq', 'userName zz "x"', 'title eq "x"', 'emails[type eq "work"]', 'active gt true',
    'userName eq 12', 'members eq "x"', 'userName eq "x" or ' * 300 + 'userName eq "x"',
])
def test_a_filter_the_portal_cannot_answer_is_a_400_invalid_filter(people, filter_text):
    scim, _ = people
    status, body = scim.get("Users", filter=filter_text)
    assert status == 400, body
    assert body["scimType"] == "invalidFilter" and body["status"] == "400" and body["detail"]


def test_paging_with_start_index_and_count(people):
    scim, ids = people
    status, first = scim.get("Users", startIndex=1, count=2)
    status, second = scim.get("Users", startIndex=3, count=2)
    assert first["totalResults"] == second["totalResults"] == 3
    assert (first["startIndex"], first["itemsPerPage"], second["startIndex"], second["itemsPerPage"]) == (1, 2, 3, 1)
    seen = [r["id"] for r in first["Resources"] + second["Resources"]]
    assert sorted(seen) == sorted(ids.values())
    status, none = scim.get("Users", count=0)
    assert none["totalResults"] == 3 and none["Resources"] == []
    status, bad = scim.get("Users", count="many")
    assert status == 400 and bad["scimType"] == "invalidValue"


def test_a_page_costs_the_same_queries_for_3_users_as_for_30(people):
    scim, _ = people

    def queries():
        with CaptureQueriesContext(connection) as captured:
            status, body = scim.get("Users", filter='userName co "@"')
        assert status == 200
        return len(captured), body["totalResults"]

    small, total_small = queries()
    for index in range(27):
        scim.post("Users", user_body(f"more{index}@contoso.com"))
    large, total_large = queries()
    assert (total_small, total_large) == (3, 30)
    assert small == large
