"""`sortBy` / `sortOrder` (RFC 7644 §3.4.2.3) on Users and Groups lists (GET and POST .search): by
userName, displayName, externalId, id, meta.created or meta.lastModified, case-insensitively for the
caseExact=false strings, ascending unless "descending", stable across pages. ServiceProviderConfig
says sorting is supported; an attribute a list cannot sort by, or another order, is a 400."""

import pytest

from .conftest import group_body, user_body


@pytest.fixture
def people(scim):
    for name, display, external in [("carol@contoso.com", "carol Ng", "e-2"), ("Alice@contoso.com", "Alice Wu", "e-3"),
                                    ("bob@contoso.com", "Bob Li", "e-1")]:
        assert scim.post("Users", user_body(name, displayName=display, externalId=external))[0] == 201
    return scim


def _names(scim, **params):
    status, body = scim.get("Users", **params)
    assert status == 200, body
    return [item["userName"] for item in body["Resources"]]


def test_users_sort_by_username_case_insensitively_in_both_orders(people):
    assert _names(people) == ["carol@contoso.com", "Alice@contoso.com", "bob@contoso.com"]  # creation order
    assert _names(people, sortBy="userName") == ["Alice@contoso.com", "bob@contoso.com", "carol@contoso.com"]
    assert _names(people, sortBy="userName", sortOrder="descending") == [
        "carol@contoso.com", "bob@contoso.com", "Alice@contoso.com"]
    assert _names(people, sortBy="urn:ietf:params:scim:schemas:core:2.0:User:externalId") == [
        "bob@contoso.com", "carol@contoso.com", "Alice@contoso.com"]
    assert _names(people, sortBy="displayName", sortOrder="DESCENDING") == [
        "carol@contoso.com", "bob@contoso.com", "Alice@contoso.com"]
    assert _names(people, sortBy="meta.created", sortOrder="descending") == [
        "bob@contoso.com", "Alice@contoso.com", "carol@contoso.com"]


def test_pages_of_a_sorted_list_follow_each_other(people):
    pages = [_names(people, sortBy="userName", startIndex=start, count=1) for start in (1, 2, 3)]
    assert pages == [["Alice@contoso.com"], ["bob@contoso.com"], ["carol@contoso.com"]]
    status, body = people.post("Users/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                                                 "sortBy": "userName", "sortOrder": "descending", "count": 2})
    assert status == 200 and [item["userName"] for item in body["Resources"]] == [
        "carol@contoso.com", "bob@contoso.com"]


def test_groups_sort_by_display_name(scim):
    for name in ("ops", "Admins", "finance"):
        assert scim.post("Groups", group_body(name))[0] == 201
    status, body = scim.get("Groups", sortBy="displayName")
    assert [item["displayName"] for item in body["Resources"]] == ["Admins", "finance", "ops"]


@pytest.mark.parametrize("params", [{"sortBy": "password"}, {"sortBy": "emails"},
                                    {"sortBy": "userName", "sortOrder": "sideways"}])
def test_what_a_list_cannot_sort_by_is_a_400(people, params):
    status, body = people.get("Users", **params)
    assert status == 400 and body["scimType"] == "invalidValue" and body["detail"]


def test_service_provider_config_says_sorting_is_supported(scim):
    status, body = scim.get("ServiceProviderConfig")
    assert status == 200 and body["sort"] == {"supported": True}
