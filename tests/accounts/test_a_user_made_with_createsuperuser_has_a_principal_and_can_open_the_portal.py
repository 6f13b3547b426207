"""A user made with `manage.py createsuperuser` (or `create_user` in a shell) gets a Principal like
every other user, audited as the system: the self-service pages open for them instead of a 500."""

from django.core.management import call_command
from django.urls import reverse

from assignments.models import Principal, User
from audit.models import AuditEvent


def test_createsuperuser_makes_the_principal_and_my_roles_opens(directory, client):
    call_command("createsuperuser", interactive=False, username="rootadmin", email="root@example.com", verbosity=0)
    user = User.objects.get(username="rootadmin")
    assert Principal.objects.get(user=user).kind == Principal.Kind.USER
    assert AuditEvent.objects.filter(action="user.create", target_id=str(user.pk),
                                     actor_label__contains="create-user").exists()

    client.force_login(user)
    assert client.get(reverse("approvals:my_roles")).status_code == 200


def test_create_user_in_a_shell_makes_the_principal_too(directory):
    user = User.objects.create_user(username="scripted", email="scripted@example.com", password="x" * 16)
    assert user.principal.email == "scripted@example.com"
