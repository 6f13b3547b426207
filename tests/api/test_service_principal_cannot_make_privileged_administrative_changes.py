"""A service principal has no MFA, so it never makes privileged administrative changes, even within
the scope it administers: a policy change or an assignment of a privileged role needs a person. It
still assigns roles without the privileged label there."""

from datetime import timedelta

from django.utils import timezone

from assignments.models import Assignment


def test_service_principal_is_refused_privileged_changes_within_its_scope(world, sp_p, directory):
    target = directory.user("target")
    end = (timezone.now() + timedelta(days=7)).isoformat()
    scope = "/subscriptions/s1/resourceGroups/rg1"
    client = sp_p.client()

    policy = client.post("/api/v1/role-settings/", {"reason": "test", "role": "reader", "scope": scope,
                                                     "max_activation_minutes": 120}, format="json")
    assert policy.status_code == 403, policy.json()
    assert "service principal cannot change the settings of Reader" in policy.json()["error"]["message"]

    owner = client.post("/api/v1/assignments/", {"principal": target.principal.pk, "role": "owner", "scope": scope,
                                                 "kind": "active", "end_at": end, "justification": "pipeline"},
                         format="json")
    assert owner.status_code == 403, owner.json()
    assert "need a person" in owner.json()["error"]["message"]
    assert not Assignment.objects.filter(principal=target.principal, role__slug="owner").exists()

    reader = client.post("/api/v1/assignments/", {"principal": target.principal.pk, "role": "reader", "scope": scope,
                                                  "kind": "active", "end_at": end, "justification": "pipeline"},
                         format="json")
    assert reader.status_code == 201, reader.json()
