"""Administrators see definitions and instances with progress, and the results with decisions,
reasons, reviewer and time; the CSV is streamed, filtered like the page, audited, and neutralises
cells that a spreadsheet would run as formulas. Reviewers find their reviews under "My reviews"."""

import csv
import io

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from reviews import services
from reviews.views import csv_safe


def _decided_instance(directory, make_review, start, extra=0):
    reviewer = directory.user("rev")
    mallory = directory.user("mallory")
    directory.grant(mallory, "security-administrator", kind="eligible")
    directory.grant(directory.user("trent"), "security-administrator", kind="eligible")
    for i in range(extra):
        directory.grant(directory.user(f"x{i}"), "security-administrator", kind="eligible")
    instance = start(make_review(reviewers=[reviewer]))
    item = instance.items.get(principal=mallory.principal)
    services.review_item_decide(actor=reviewer, instance=instance, item_ids=[item.pk], decision="deny",
                                reason="=HYPERLINK(\"http://evil\")")
    return instance, reviewer


def test_admin_pages_show_progress_and_results(client, directory, make_review, start, global_admin):
    instance, reviewer = _decided_instance(directory, make_review, start)
    client.force_login(global_admin)
    listing = client.get("/reviews/").content.decode()
    assert "Quarterly recertification" in listing and "1 / 2" in listing
    assert 'href="/reviews/"' in listing and 'href="/reviews/mine/"' in listing  # the menu entries
    detail = client.get(f"/reviews/{instance.review.pk}/").content.decode()
    assert "In progress" in detail and "1 / 2" in detail
    results = client.get(f"/reviews/instances/{instance.pk}/").content.decode()
    assert "Mallory" in results and "Rev" in results and "HYPERLINK" in results and "Deny" in results
    filtered = client.get(f"/reviews/instances/{instance.pk}/?decision=none").content.decode()
    assert "Trent" in filtered and "Mallory" not in filtered


def test_results_pages_take_a_constant_number_of_queries(client, directory, make_review, start, global_admin):
    small, _ = _decided_instance(directory, make_review, start)
    client.force_login(global_admin)
    with CaptureQueriesContext(connection) as few:
        client.get(f"/reviews/instances/{small.pk}/")
    for i in range(20):
        directory.grant(directory.user(f"more{i}"), "security-administrator", kind="eligible")
    large = start(make_review(reviewers=[directory.user("rev2")], name="Bigger"))
    with CaptureQueriesContext(connection) as many:
        client.get(f"/reviews/instances/{large.pk}/")
    assert len(few) == len(many)


def test_csv_is_streamed_filtered_and_neutralised(client, directory, make_review, start, global_admin):
    instance, reviewer = _decided_instance(directory, make_review, start)
    client.force_login(global_admin)
    response = client.get(f"/reviews/instances/{instance.pk}/results.csv")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 2
    denied = next(r for r in rows if r["principal"] == "Mallory")
    assert denied["decision"] == "deny" and denied["reviewer"] == "rev" and denied["decided_at"]
    assert denied["reason"] == "'=HYPERLINK(\"http://evil\")"
    filtered = client.get(f"/reviews/instances/{instance.pk}/results.csv?decision=deny")
    assert len(list(csv.DictReader(io.StringIO(b"".join(filtered.streaming_content).decode())))) == 1
    assert AuditEvent.objects.filter(action="review.export").count() == 2


def test_csv_safe_neutralises_every_formula_prefix():
    for value in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert csv_safe(value) == "'" + value
    assert csv_safe("plain") == "plain" and csv_safe(None) == "" and csv_safe(timezone.now().year) != ""


def test_my_reviews_lists_open_reviews_with_counts(client, directory, make_review, start):
    instance, reviewer = _decided_instance(directory, make_review, start)
    client.force_login(reviewer)
    page = client.get("/reviews/mine/").content.decode()
    assert "Quarterly recertification" in page and f"/reviews/mine/{instance.pk}/" in page
    assert '<span class="badge badge-warn">1</span>' in page  # one of two still to decide
