"""SCIM 2.0 groups (scim2-client over httpx, through `provisioning.scim_protocol`).

A target is one SCIM service provider (its base URL; the secret is its bearer token). A mapping's grant
is a group of that provider, named by its displayName (option `external_id`: look it up by externalId
first; targets migrated from the former SCIM applications carry the PIM group's object id there).
Granting finds the user by `userName eq "<username>"` (creating it, with the PIM user's display name
and email, when missing), finds the group (creating it when missing) and PATCH-adds the member unless it
is there; revoking PATCH-removes it if it is there. Reconciliation reads the group's members back and
maps each member id to its userName.

Every call goes through the pinned transport (`provisioning.outbound`): the address a name resolves to
is checked and connected to. Network errors, 5xx, 408 and 429 are retried by the relay; other 4xx are
refusals (a bad token is a 401).
"""

from collections.abc import Iterable

from core.errors import invalid
from provisioning import scim_protocol
from provisioning.urlpolicy import outbound_url_problem

from .base import ConfigField, ConnectorKind, ConnectorRefused, ConnectorUnavailable, Holder, Session


class ScimSession(Session):
    def __init__(self, *, config: dict, secret: str):
        self.config = config
        self.secret = secret
        self.scim = None
        self._profiles: dict[str, object] = {}

    def _client(self):
        if self.scim is None:
            self.scim = scim_protocol.scim_client(base_url=self.config["base_url"], token=self.secret,
                                                timeout=self.config.get("timeout_seconds") or 15)
        return self.scim

    def close(self) -> None:
        if self.scim is not None:
            self.scim.client.close()
            self.scim = None

    def _call(self, fn, *args):
        protocol = scim_protocol
        scim = self._client()
        try:
            return fn(scim, *args)
        except protocol.SCIM_ERRORS as error:
            failure = protocol.classify(error, scim.last_status)
        except protocol.PermanentDeliveryError as error:  # the pinned transport refused the address
            raise ConnectorRefused(str(error)) from error
        if isinstance(failure, protocol.RetryableScimError):
            self.close()
            raise ConnectorUnavailable(str(failure))
        raise ConnectorRefused(str(failure))

    # --- the interface ------------------------------------------------------------------------------

    def test(self) -> str:
        return self._call(lambda scim: scim_protocol.scim_count_users(scim))

    def check_grant(self, grant: str) -> str:
        found = self._call(lambda scim: scim_protocol.scim_find_group(scim, display_name=grant, external_id=None))
        if found is None:
            return f"Group {grant} is not in the application yet: it is created with its first member."
        return f"Group {grant} exists ({len(found.members or [])} member(s))."

    def account_of(self, principal) -> str:
        """The SCIM userName of a PIM user; its profile is kept to create the user on its first grant."""
        username = principal.user.username
        self._profiles[username] = principal
        return username

    def account_for(self, username: str) -> str:
        return username

    def grant(self, *, account: str, grant: str, options: dict) -> str:
        principal = self._profiles.get(account)
        return self._call(lambda scim: scim_protocol.scim_add_member(
            scim, username=account, principal=principal, display_name=grant,
            external_id=(options or {}).get("external_id") or None))

    def revoke(self, *, account: str, grant: str, options: dict) -> str:
        return self._call(lambda scim: scim_protocol.scim_remove_member(
            scim, username=account, display_name=grant, external_id=(options or {}).get("external_id") or None))

    def holders(self, grant: str) -> Iterable[Holder]:
        usernames = self._call(lambda scim: scim_protocol.scim_group_member_names(
            scim, display_name=grant, external_id=None))
        return [Holder(account=name, username=name) for name in usernames]


class ScimKind(ConnectorKind):
    def check_config(self, config: dict) -> None:
        config["base_url"] = config["base_url"].rstrip("/")
        problem = outbound_url_problem(config["base_url"])
        if problem:
            raise invalid(problem, field="base_url")

    def clean_grant(self, grant: str) -> str:
        grant = (grant or "").strip()
        if not grant or len(grant) > 200:
            raise invalid("The group's display name in the application (up to 200 characters).", field="grant")
        return grant

    def open(self, *, config: dict, secret: str) -> Session:
        return ScimSession(config=config, secret=secret)


SCIM = ScimKind(
    key="scim",
    label="SCIM 2.0 group",
    fields=(
        ConfigField("base_url", "Base URL", "The service provider's SCIM endpoint, e.g. https://app.example.com/scim/v2"),
        ConfigField("timeout_seconds", "Timeout (seconds)", required=False, kind="int", default=15),
    ),
    secret_label="Bearer token",
    grant_label="Group",
    grant_help="The group's display name in the application (created with its first member if missing).",
    option_fields=(ConfigField("external_id", "Group externalId", "Look the group up by this externalId first.",
                               required=False, default=""),),
)
