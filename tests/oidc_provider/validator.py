import json

from django.conf import settings
from oauth2_provider.oauth2_validators import OAuth2Validator


def person_claims(username: str) -> dict:
    """Read at every request, so a test changes what the provider says (groups, email_verified) by
    rewriting people.json between two sign-ins."""
    people = json.loads((settings.IDP_DIR / "people.json").read_text())
    return people["people"][username]["claims"]


class PeopleClaimsValidator(OAuth2Validator):
    # The groups claim comes with the `groups` scope, as Okta's does.
    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "groups": "groups"}

    def get_additional_claims(self, request):
        return person_claims(request.user.username)
