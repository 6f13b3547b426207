"""A username typed by an administrator — the New user page, `POST /api/v1/users/`, a bulk import row —
must match Django's sign-in name pattern (letters, digits and @ . + - _) and fit the column: otherwise
a clear 400 / form error on the username and nobody is created. A name a directory sends through its
intake (SCIM userName, LDAP, OIDC) is kept as the directory spells it, spaces and apostrophes included."""

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from api import services as api_services
from assignments import services
from assignments.models import User
from audit.models import AuditEvent
from core.actors import Actor
from core.errors import DomainError
from directory.services import UserRecord, directory_actor, directory_user_upsert

pytestmark = pytest.mark.django_db

BAD_NAMES = ["two words", "semi;colon", "o'brien", "slash/name", "tab\tname"]


@pytest.fixture
def api(global_admin):
    token = api_services.token_create_personal(actor=global_admin, name="admin-token", purpose="administration",
                                               mfa_verified_at=timezone.now())[1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.mark.parametrize("username", BAD_NAMES)
def test_the_api_refuses_a_username_outside_the_pattern_and_creates_nobody(api, directory, username):
    response = api.post("/api/v1/users/", {"username": username, "email": "new@example.com"}, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["field"] == "username"
    assert not User.objects.filter(email="new@example.com").exists()
    assert AuditEvent.objects.filter(action="user.create", outcome="denied").exists()  # an attempt, audited


def test_a_name_longer_than_the_column_is_a_400_too(api, directory):
    response = api.post("/api/v1/users/", {"username": "x" * 151}, format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == "username"


def test_the_api_accepts_the_names_the_pattern_allows(api, directory):
    response = api.post("/api/v1/users/", {"username": "ines.duarte+ops@contoso.example"}, format="json")
    assert response.status_code == 201, response.json()


def test_the_page_shows_the_refusal_on_the_username(client, directory, global_admin, verified):
    client.force_login(global_admin)
    verified(client)
    response = client.post(reverse("directory:user_create"), {"username": "two words", "display_name": "Two",
                                                              "email": "", "time_zone": "", "password": ""})
    assert response.status_code == 400
    assert b"not a valid username" in response.content
    assert not User.objects.filter(username="two words").exists()


def test_a_directory_sends_names_the_pattern_would_refuse_and_they_are_kept(directory):
    actor = directory_actor(job="ldap-sync", source_label="Corp AD")
    user, _ = directory_user_upsert(source="ldap:1", record=UserRecord(
        external_id="9f1c", username="Anne O'Neil", email="anne@example.com", display_name="Anne O'Neil"),
        actor=actor)
    assert User.objects.get(pk=user.pk).username == "Anne O'Neil"


def test_even_a_directory_name_must_fit_the_column(directory):
    with pytest.raises(DomainError) as refused:
        services.user_create(username="y" * 151, from_directory=True, actor=Actor.system("scim"))
    assert refused.value.field == "username"


def test_every_mistake_of_a_new_user_is_reported_at_once(directory, global_admin):
    with pytest.raises(DomainError) as refused:
        services.user_create(username="two words", email="not-an-address", time_zone="Mars/Olympus",
                             actor=global_admin, mfa_verified_at=timezone.now())
    assert [field for field, _ in refused.value.field_errors()] == ["username", "email", "time_zone"]
    assert not User.objects.filter(username="two words").exists()


def test_a_bulk_import_row_lists_each_of_its_mistakes(directory):
    from directory.bulk_import import import_run

    report = import_run(data=b"record,username,email\r\nuser,bad user,not-an-address\r\n", fmt="csv",
                        filename="org.csv", actor=Actor.system("bulk-import"), apply=False)
    assert [(error.where, error.column) for error in report.errors] == [("line 2", "username"), ("line 2", "email")]
