import json

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User


class PeopleFileBackend(ModelBackend):
    """The provider's directory is people.json (rewritten by the tests): a person signs in with the
    password it lists, and gets a provider-side user of that name (whose pk is the `sub` claim)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        people = json.loads((settings.IDP_DIR / "people.json").read_text())["people"]
        person = people.get(username or "")
        if person is None or password != person["password"]:
            return None
        user, _ = User.objects.get_or_create(username=username)
        return user
