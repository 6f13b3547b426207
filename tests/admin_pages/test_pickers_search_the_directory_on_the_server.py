from django.urls import reverse


def test_principal_search_returns_json_matches_by_kind(directory, pra_client):
    directory.user("searchable.sam")
    directory.group("Searchable staff")
    directory.service_principal("searchable-app")

    everything = pra_client.get(reverse("assignments:principal_search") + "?q=searchable").json()["results"]
    assert {r["label"] for r in everything} == {"Searchable.Sam", "Searchable staff", "searchable-app"}
    only_groups = pra_client.get(reverse("assignments:principal_search") + "?q=searchable&kinds=group").json()
    assert [r["label"] for r in only_groups["results"]] == ["Searchable staff"]


def test_scope_search_returns_paths(directory, pra_client):
    directory.scope("/subscriptions/findme-01/resourceGroups/rg-web")
    results = pra_client.get(reverse("assignments:scope_search") + "?q=findme").json()["results"]
    assert [r["value"] for r in results] == [
        "/subscriptions/findme-01", "/subscriptions/findme-01/resourceGroups/rg-web"]


def test_scope_picker_without_javascript(directory, pra_client):
    directory.scope("/subscriptions/nojs-sub")
    response = pra_client.post(reverse("assignments:assign"), {"scope_q": "nojs", "_search": "scope"})
    assert 'type="radio" name="scope" value="/subscriptions/nojs-sub"' in response.content.decode()
