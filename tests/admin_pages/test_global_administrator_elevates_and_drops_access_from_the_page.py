from django.urls import reverse

from assignments.models import Assignment
from assignments.selectors import user_holds_any

from .conftest import rows_of


def test_elevate_then_remove(directory, global_admin, login):
    client = login(global_admin)
    directory.grant(directory.user("subreader"), "reader", "/subscriptions/s9", kind="eligible")
    assert "Subreader" not in rows_of(client.get(reverse("assignments:list")))

    refused = client.post(reverse("assignments:elevate"), {"action": "elevate", "justification": " "})
    assert refused.status_code == 400
    assert "Say why you elevate access." in refused.content.decode()

    done = client.post(reverse("assignments:elevate"), {"action": "elevate", "justification": "Audit of s9"},
                       follow=True)
    assert "Access elevated" in done.content.decode()
    assert user_holds_any(user=global_admin, role_slugs=["user-access-administrator"])
    assert "Subreader" in rows_of(client.get(reverse("assignments:list")))

    ended = client.post(reverse("assignments:elevate"), {"action": "end"}, follow=True)
    assert "Elevated access removed" in ended.content.decode()
    assert not user_holds_any(user=global_admin, role_slugs=["user-access-administrator"])
    assert not Assignment.objects.filter(principal=global_admin.principal, role__slug="user-access-administrator",
                                         status="live").exists()


def test_privileged_role_administrator_cannot_elevate(pra_client):
    response = pra_client.get(reverse("assignments:elevate"))
    assert response.status_code == 403
    assert "Only an active Global Administrator can elevate access." in response.content.decode()
