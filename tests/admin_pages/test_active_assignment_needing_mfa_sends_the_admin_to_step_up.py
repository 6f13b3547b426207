from urllib.parse import parse_qs, urlparse

from django.urls import reverse
from django.utils import timezone

from assignments import services
from assignments.models import Assignment
from core.actors import Actor
from core.mfa import SESSION_KEY

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


def test_mfa_policy_redirects_to_verification_and_keeps_the_form(directory, role_admin, login):
    pra_client = login(role_admin, verified_mfa=False)
    role = directory.role("exchange-administrator")
    services.role_setting_update(actor=SETUP, role=role, scope=directory.root,
                                 values={"require_mfa_on_active_assignment": True})
    user = directory.user("mfauser")
    data = {"principal": user.principal.pk, "role": role.pk, "scope": "/", "kind": "active", "permanent": "on",
            "justification": "Incident 42"}

    response = pra_client.post(reverse("assignments:assign"), data)
    assert response.status_code == 302
    location = urlparse(response["Location"])
    assert location.path == "/account/verify/"
    next_url = parse_qs(location.query)["next"][0]
    assert next_url.startswith(reverse("assignments:assign"))
    assert not Assignment.objects.filter(principal=user.principal).exists()

    # Coming back after verification, the form is filled in as it was.
    back = pra_client.get(next_url)
    assert back.context["form"].initial["justification"] == "Incident 42"
    assert back.context["principal_options"][0]["value"] == user.principal.pk

    session = pra_client.session
    session[SESSION_KEY] = timezone.now().isoformat()
    session.save()
    done = pra_client.post(reverse("assignments:assign"), data)
    assert done.status_code == 302
    assert Assignment.objects.get(principal=user.principal).kind == Assignment.Kind.ACTIVE
