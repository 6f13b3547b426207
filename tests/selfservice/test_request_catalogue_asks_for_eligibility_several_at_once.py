"""The request catalogue: a person asks for eligibility for roles at scopes they do not hold, several in
one go (one request per item, one batch); the role's administrators decide each item on its own; an
approved item becomes an eligible assignment until the requested end, within the role's policy."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from approvals.models import Request
from assignments.models import Assignment
from audit.models import AuditEvent
from core.actors import Actor
from core.errors import DomainError
from notifications.models import OutboxMessage
from selfservice import catalogue
from selfservice.catalogue import Item
from selfservice.models import RequestBatch


def _items(directory, *pairs):
    return [Item(role=directory.role(slug), scope=directory.scope(path) if path != "/" else directory.root)
            for slug, path in pairs]


def test_one_request_per_item_each_decided_on_its_own(directory, requester, role_admin):
    verified_admin = Actor.person(role_admin, mfa_verified_at=timezone.now())
    owner = directory.user("owner")
    directory.grant(owner, "owner", "/subscriptions/s1")
    end = timezone.now() + timedelta(days=30)
    batch = catalogue.eligibility_request_many(
        actor=requester, end_at=end, justification="Joining the platform team",
        items=_items(directory, ("helpdesk-administrator", "/"), ("reader", "/subscriptions/s1")))
    requests = [item.request for item in batch.items.select_related("request")]
    assert [(r.role.slug, r.scope.path, r.status) for r in requests] == [
        ("helpdesk-administrator", "/", "pending_approval"), ("reader", "/subscriptions/s1", "pending_approval")]
    assert all(r.action == "self_eligibility" and r.end_at == end for r in requests)
    # The administrators are asked: the directory role's role administrator, the subscription's owner.
    assert OutboxMessage.objects.filter(dedupe_key__startswith=f"approve:{requests[0].pk}",
                                        payload__to=role_admin.email).exists()
    assert OutboxMessage.objects.filter(dedupe_key__startswith=f"approve:{requests[1].pk}",
                                        payload__to=owner.email).exists()
    with pytest.raises(DomainError):  # the role administrator does not administer the subscription's roles
        catalogue.batch_item_decide(actor=verified_admin, batch=batch, request_id=requests[1].pk, approve=True)
    with pytest.raises(DomainError) as stale:  # a privileged role: the approver needs a fresh verification
        catalogue.batch_item_decide(actor=role_admin, batch=batch, request_id=requests[0].pk, approve=True)
    assert "approve this request for Helpdesk Administrator" in stale.value.message
    approved = catalogue.batch_item_decide(actor=verified_admin, batch=batch, request_id=requests[0].pk,
                                           approve=True)
    assert approved.outcome == "approved"
    denied = catalogue.batch_item_decide(actor=owner, batch=batch, request_id=requests[1].pk, approve=False,
                                         comment="Ask your manager first")
    assert denied.outcome == "denied"
    first = Request.objects.get(pk=requests[0].pk)
    assert first.status == Request.Status.PROVISIONED
    assert (first.assignment.kind, first.assignment.end_at, first.assignment.principal_id) == (
        Assignment.Kind.ELIGIBLE, end, requester.principal.pk)
    assert Request.objects.get(pk=requests[1].pk).status == Request.Status.DENIED
    assert AuditEvent.objects.filter(action="request.self_eligibility").count() == 2


def test_the_requester_cannot_approve_their_own_item(directory, requester):
    directory.grant(requester, "privileged-role-administrator")  # an administrator asking for more
    batch = catalogue.eligibility_request_many(actor=requester, end_at=timezone.now() + timedelta(days=10),
                                               justification="x",
                                               items=_items(directory, ("helpdesk-administrator", "/")))
    with pytest.raises(DomainError) as own:
        catalogue.batch_item_decide(actor=requester, batch=batch, request_id=batch.items.get().request_id,
                                    approve=True)
    assert own.value.code == "forbidden"


def test_every_bad_item_and_the_policy_end_are_reported_at_once(directory, requester, policy, eligible):
    policy("exchange-administrator", allow_permanent_eligible=False, expire_eligible_after="P1M")
    eligible(requester, "helpdesk-administrator")
    with pytest.raises(DomainError) as error:
        catalogue.eligibility_request_many(
            actor=requester, end_at=timezone.now() + timedelta(days=60), justification="more access",
            items=_items(directory, ("exchange-administrator", "/"), ("helpdesk-administrator", "/"),
                         ("global-administrator", "/subscriptions/s1"), ("exchange-administrator", "/")))
    messages = error.value.errors["items"]
    assert messages[0].startswith("Item 1 (Exchange Administrator at /)")
    assert messages[1].startswith("Item 2 (Helpdesk Administrator at /): You are already eligible")
    assert messages[2].startswith("Item 3")
    assert messages[3] == "Item 4: Exchange Administrator at / is asked twice."
    assert not RequestBatch.objects.exists()
    with pytest.raises(DomainError) as missing:
        catalogue.eligibility_request_many(actor=requester, end_at=None, justification="", items=[])
    assert set(missing.value.errors) == {"items", "end_at", "justification"}


def test_an_open_request_for_the_same_item_is_a_conflict(directory, requester):
    items = _items(directory, ("helpdesk-administrator", "/"))
    end = timezone.now() + timedelta(days=10)
    catalogue.eligibility_request_many(actor=requester, end_at=end, justification="x", items=items)
    with pytest.raises(DomainError) as again:
        catalogue.eligibility_request_many(actor=requester, end_at=end, justification="x", items=items)
    assert again.value.code == "conflict"
    assert RequestBatch.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_identical_requests_at_once_make_one(postgres, directory, requester):
    items = _items(directory, ("helpdesk-administrator", "/"), ("exchange-administrator", "/"))
    end = timezone.now() + timedelta(days=10)
    barrier, outcomes = threading.Barrier(2), []

    def submit():
        try:
            barrier.wait(10)
            catalogue.eligibility_request_many(actor=requester, end_at=end, justification="race", items=items)
            outcomes.append("created")
        except DomainError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["conflict", "created"]
    assert Request.objects.filter(action="self_eligibility").count() == 2
    assert RequestBatch.objects.count() == 1


def test_the_database_keeps_one_open_request_per_person_role_and_scope(postgres, directory, requester):
    from django.db import IntegrityError, transaction

    fields = dict(action="self_eligibility", status="pending_approval", requested_by=requester,
                  principal=requester.principal, role=directory.role("helpdesk-administrator"), scope=directory.root,
                  kind="eligible", created_at=timezone.now())
    Request.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Request.objects.create(**fields)
