"""`userName eq` is case-insensitive (caseExact=false in RFC 7643) and, at 10,000 users, served by an
index on UPPER(username) (`user_username_upper_idx`), not by reading every user: the plan of the list
query uses that index and reads one user row. PostgreSQL only: the plan is what matters."""

import json

from django.db import connection, transaction
from django.utils import timezone

from assignments.models import Principal, User
from directory.models import ScimResource
from directory.scim import services
from directory.scim.filters import filter_condition

from .conftest import Scim

USERS = 10_000


def _plan(queryset) -> dict:
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {User._meta.db_table}")
        cursor.execute(f"ANALYZE {Principal._meta.db_table}")
        cursor.execute(f"ANALYZE {ScimResource._meta.db_table}")
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


def _nodes(node):
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def test_username_eq_reads_the_index_at_ten_thousand_users(postgres, directory, scim_client):
    client, _ = scim_client
    now = timezone.now()
    users = User.objects.bulk_create([User(username=f"Person{i:05d}@Contoso.example", password="!")
                                      for i in range(USERS)])  # the arrangement: bulk rows
    principals = Principal.objects.bulk_create([
        Principal(kind=Principal.Kind.USER, user=user, display_name=user.username, external_source=client.source,
                  external_id=f"ext-{user.pk}") for user in users])
    ScimResource.objects.bulk_create([ScimResource(client=client, principal=p, created_at=now, updated_at=now)
                                      for p in principals])

    scim = Scim(scim_client[1])
    status, body = scim.get("Users", filter='userName eq "person04242@contoso.EXAMPLE"')
    assert status == 200 and body["totalResults"] == 1
    assert body["Resources"][0]["userName"] == "Person04242@Contoso.example"

    # The list's page query, as `scim_list` builds it for that filter.
    page_query = (services._users(client).select_related("user", "scim_resource")
                  .filter(filter_condition(resource="User", text='userName eq "person04242@contoso.example"')))
    plan = _plan(page_query)
    users_read = [node for node in _nodes(plan) if node.get("Relation Name") == User._meta.db_table]
    assert users_read, plan
    assert {node.get("Index Name") for node in users_read} == {"user_username_upper_idx"}, plan
    assert sum(node["Actual Rows"] * node["Actual Loops"] for node in users_read) == 1
