"""Webhooks beyond assignments: a webhook target subscribed to alert.incident_opened, role_setting.updated,
review.started / review.completed and user.signed_in gets one signed delivery per occurrence, with a
body that says what happened."""

import json

import pytest
from django.utils import timezone

from alerts.services import alert_evaluate
from assignments import services as assignment_services
from connectors.kinds.webhook import webhook_signature_verify
from core.actors import Actor

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")


def _bodies(receiver, event):
    return [json.loads(r["body"]) for r in receiver.received if r["headers"]["x-pim-event"] == event]


def test_policy_edits_incidents_and_sign_ins_are_delivered_signed(receiver, relay, directory, make_webhook, client):
    _, secret = make_webhook("alert.incident_opened", "role_setting.updated", "user.signed_in")

    scope = directory.scope("/subscriptions/s1")
    assignment_services.role_setting_update(actor=SYSTEM, role=directory.role("owner"), scope=scope,
                                            values={"require_mfa_on_activation": False}, approver_ids=None)
    alert_evaluate(key="roles_without_mfa", actor=SYSTEM)
    someone = directory.user("someone")
    client.post("/accounts/login/", {"login": "someone", "password": "pw-for-tests-123"})
    relay()

    [policy] = _bodies(receiver, "role_setting.updated")
    setting = policy["data"]["role_setting"]
    assert (setting["role"], setting["scope"]) == ("owner", "/subscriptions/s1")
    assert setting["changed"]["require_mfa_on_activation"] == {"before": True, "after": False}
    [incident] = _bodies(receiver, "alert.incident_opened")
    assert incident["data"]["incident"]["alert"] == "roles_without_mfa"
    assert incident["data"]["incident"]["severity"]
    [sign_in] = _bodies(receiver, "user.signed_in")
    assert sign_in["data"]["user"]["username"] == someone.username
    for r in receiver.received:
        assert webhook_signature_verify(secret, r["headers"]["x-pim-timestamp"], r["body"],
                                        r["headers"]["x-pim-signature"])


def test_review_start_and_completion_are_delivered(receiver, relay, directory, global_admin, make_webhook):
    from reviews import services as review_services
    from reviews.models import AccessReviewInstance

    make_webhook("review.started", "review.completed")
    spec = review_services.ReviewSettings(name="Quarterly GA review", scope=directory.root,
                                          start_date=timezone.now().date(), duration_days=7,
                                          reviewer_ids=[global_admin.principal.pk])
    review_services.review_create(actor=global_admin, roles=[directory.role("global-administrator")], spec=spec,
                                  mfa_verified_at=timezone.now())
    review_services.reviews_start_due()
    instance = AccessReviewInstance.objects.get(status="in_progress")
    review_services.review_instance_complete(instance=instance, actor=global_admin)
    relay()
    [started] = _bodies(receiver, "review.started")
    [completed] = _bodies(receiver, "review.completed")
    assert started["data"]["review"]["name"] == completed["data"]["review"]["name"] == "Quarterly GA review"
    assert "decisions" in completed["data"]["review"] and completed["data"]["actor"] == global_admin.username
