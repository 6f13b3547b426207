"""The page: upload → dry-run preview (per-row errors) → apply, once; a second upload of the same file
applies as "no change"; a stale session is sent to verify before the file is read."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from assignments.models import Scope, User
from directory.models import ImportUpload

GOOD = b"record,path,kind,display_name,username,email\r\n" \
       b"scope,/subscriptions/page-1,subscription,Page one,,\r\n" \
       b"user,,,,pageuser,pageuser@example.com\r\n"
BAD = b"record,path,kind,display_name,username,email\r\n" \
      b"scope,/subscriptions/page-2,subscription,Page two,,\r\n" \
      b"user,,,,bad user,not-an-address\r\n"


def _upload(client, data, name="org.csv"):
    return client.post(reverse("directory:import"), {"file": SimpleUploadedFile(name, data, "text/csv")})


def test_upload_preview_apply(client, global_admin, verified):
    client.force_login(global_admin)
    verified(client)
    response = _upload(client, BAD)
    assert response.status_code == 302
    page = client.get(response["Location"])
    text = page.content.decode()
    assert "line 3" in text and "email" in text and "not an email address" in text
    assert 'type="submit">Apply' not in text  # nothing to apply while a row is refused
    assert not Scope.objects.filter(path="/subscriptions/page-2").exists()

    response = _upload(client, GOOD)
    preview = response["Location"]
    assert "Dry run: 2 created, 0 changed, 0 unchanged" in client.get(preview).content.decode()
    applied = client.post(preview)
    assert applied.status_code == 302
    assert Scope.objects.filter(path="/subscriptions/page-1").exists() and User.objects.filter(
        username="pageuser").exists()
    upload = ImportUpload.objects.get(pk=preview.rstrip("/").rsplit("/", 1)[-1])
    assert upload.applied_at is not None
    again = client.post(preview)  # a double submit applies nothing twice
    assert again.status_code == 409
    assert "already applied" in again.content.decode()

    second = _upload(client, GOOD)
    client.post(second["Location"])
    assert "No change: 0 created, 0 changed, 2 unchanged" in client.get(second["Location"]).content.decode()


def test_uploads_are_their_uploaders(client, directory, global_admin, role_admin, verified):
    client.force_login(global_admin)
    verified(client)
    preview = _upload(client, GOOD)["Location"]
    client.force_login(role_admin)
    verified(client)
    assert client.get(preview).status_code == 404
    assert client.post(preview).status_code == 404


def test_a_stale_verification_is_asked_for_before_reading_the_file(client, global_admin):
    client.force_login(global_admin)
    response = _upload(client, GOOD)
    assert response.status_code == 302 and reverse("accounts:verify") in response["Location"]
    assert not ImportUpload.objects.exists()


def test_an_apply_after_the_verification_expired_asks_for_it_again(client, global_admin, verified):
    from datetime import timedelta

    from django.utils import timezone

    client.force_login(global_admin)
    verified(client)
    preview = _upload(client, GOOD)["Location"]
    verified(client, at=timezone.now() - timedelta(hours=1))
    response = client.post(preview)
    assert response.status_code == 302 and reverse("accounts:verify") in response["Location"]
    assert not Scope.objects.filter(path="/subscriptions/page-1").exists()
    verified(client)
    assert client.post(preview).status_code == 302
    assert Scope.objects.filter(path="/subscriptions/page-1").exists()
