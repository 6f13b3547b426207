"""Single sign-on through an OpenID Connect provider, as a directory source ("oidc:<provider id>").

The allauth adapter (portal.adapters.SSOAdapter) hands each sign-in here once the provider's answer
has been checked (code flow with PKCE, ID token verified): `oidc_identity` reads the claims, and
`oidc_sign_in` finds the portal account they sign in to, creates it when the policy allows (just in
time), and brings the account's directory groups in step with the groups claim.

Rules, each for a reason:
- An identity signs in to the account it was linked to before, or to the account this provider
  created for that subject. Otherwise it is matched by email, and only when the provider says it
  verified the address: an identity provider that lets anyone set any address on an account must not
  hand over the portal account that has that address.
- Accounts are created at sign-in only when the policy says so, only with a verified address, and never
  by taking over an existing username (directory_user_upsert links by username; sign-in must not).
- Group claim values are the groups' external ids in this source. A group the provider names that the
  portal does not have is created only when the policy says so; otherwise it is ignored. Memberships
  are directory-origin (`directory_group_members_set`): PIM-managed ones are never touched.
- A claim the portal cannot read (not a list of strings, too many values, or Entra ID's "overage"
  pointer instead of the groups) refuses the sign-in instead of guessing which groups to keep.

Refusals raise `SignInRefused`; the adapter records them (accounts.services.auth_sso_refused_record,
a layer above this one) and shows the reason.
"""

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from assignments import services as assignment_services
from assignments.models import Assignment, Principal, RoleDefinition, User
from audit.services import audit_event_record
from core.actors import Actor
from core.errors import DomainError
from directory.services import (
    directory_actor,
    directory_group_members,
    directory_group_members_set,
    directory_group_upsert,
    directory_principal_find,
)

logger = logging.getLogger(__name__)

SOURCE_PREFIX = "oidc:"
# More values than any sane groups claim carries (Entra ID sends at most 200 in a token, then the
# overage pointer): past this the claim is refused rather than turned into thousands of writes per sign-in.
MAX_GROUPS = 1000
EXTERNAL_ID_MAX = Principal._meta.get_field("external_id").max_length
USERNAME_MAX = User._meta.get_field("username").max_length


class SignInRefused(DomainError):
    """The sign-in is refused; `why` is shown to the person and audited. `user` is the portal account
    concerned, if any (the audit event's target); `email` the address the provider gave."""

    def __init__(self, why: str, *, user: User | None = None, email: str = ""):
        super().__init__(why, code="forbidden")
        self.why = why
        self.user = user
        self.email = email


@dataclass(frozen=True)
class OidcPolicy:
    """What one configured provider may do at sign-in (the allauth app's settings, see the README)."""

    provider_id: str
    name: str = ""
    create_users: bool = False
    # When not empty, accounts are created only for addresses in these domains (a provider anyone can
    # sign up at, such as Google, would otherwise hand an account to anyone).
    create_users_domains: tuple[str, ...] = ()
    groups_claim: str = ""  # empty: sign-in maps no groups
    create_groups: bool = False
    email_verified_claim: str = "email_verified"

    @property
    def source(self) -> str:
        return f"{SOURCE_PREFIX}{self.provider_id}"

    @classmethod
    def from_app_settings(cls, *, provider_id: str, name: str, settings: dict) -> "OidcPolicy":
        """From the allauth app's `settings` dict; a wrong type is a configuration error, not a default."""
        for key in ("create_users", "create_groups"):
            if not isinstance(settings.get(key, False), bool):
                raise SignInRefused(f"the single sign-on setting {key} must be true or false; ask an administrator "
                                    "to correct the portal's configuration")
        domains = settings.get("create_users_domains", ())
        if isinstance(domains, str):
            domains = domains.replace(",", " ").split()
        if not isinstance(domains, list | tuple) or not all(isinstance(domain, str) for domain in domains):
            raise SignInRefused("the single sign-on setting create_users_domains must list domain names; ask an "
                                "administrator to correct the portal's configuration")
        for key in ("groups_claim", "email_verified_claim"):
            if not isinstance(settings.get(key, ""), str):
                raise SignInRefused(f"the single sign-on setting {key} must be a claim name; ask an administrator "
                                    "to correct the portal's configuration")
        return cls(provider_id=provider_id, name=name or provider_id,
                   create_users=settings.get("create_users", False),
                   create_users_domains=tuple(domain.strip().lstrip("@").lower() for domain in domains
                                              if domain.strip()),
                   groups_claim=settings.get("groups_claim", "").strip(),
                   create_groups=settings.get("create_groups", False),
                   email_verified_claim=settings.get("email_verified_claim", "").strip() or "email_verified")

    def actor(self) -> Actor:
        return directory_actor(job="oidc-sign-in", source_label=self.name)


@dataclass(frozen=True)
class OidcIdentity:
    """The claims the portal uses, read and checked."""

    subject: str
    email: str = ""
    email_verified: bool = False
    username: str = ""
    display_name: str = ""
    groups: frozenset[str] | None = None  # None: the policy maps no groups


def oidc_claims(extra_data: dict) -> dict:
    """One claim set from what allauth stored: the verified ID token's claims, overlaid by the userinfo
    response (both come from the provider over TLS; userinfo is the fuller one, but Entra ID puts the
    groups in the ID token only)."""
    id_token = extra_data.get("id_token")
    userinfo = extra_data.get("userinfo")
    if not isinstance(id_token, dict) and not isinstance(userinfo, dict):
        return dict(extra_data)  # allauth before 65.11 stored the claims themselves
    return {**(id_token if isinstance(id_token, dict) else {}), **(userinfo if isinstance(userinfo, dict) else {})}


def claim_is_true(value) -> bool:
    """Only JSON true or the string "true" (any case) count: a missing claim, 1 or "yes" are not true."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() == "true"


def _text(value) -> str:
    return value.replace("\x00", "").strip() if isinstance(value, str) else ""


def oidc_identity(*, policy: OidcPolicy, claims: dict) -> OidcIdentity:
    subject = _text(claims.get("sub"))
    if not subject:
        raise SignInRefused("the identity provider sent no subject (sub) for this identity")
    email = _text(claims.get("email"))
    return OidcIdentity(
        subject=subject, email=email,
        email_verified=bool(email) and claim_is_true(claims.get(policy.email_verified_claim)),
        username=_text(claims.get("preferred_username")),
        display_name=_text(claims.get("name")) or " ".join(
            part for part in (_text(claims.get("given_name")), _text(claims.get("family_name"))) if part),
        groups=_groups_claim(policy=policy, claims=claims, email=email),
    )


def _groups_claim(*, policy: OidcPolicy, claims: dict, email: str) -> frozenset[str] | None:
    name = policy.groups_claim
    if not name:
        return None
    names = claims.get("_claim_names")
    if name not in claims and isinstance(names, dict) and name in names:
        # Entra ID's "groups overage": the user is in more groups than a token carries, and the token
        # points at Microsoft Graph instead. Without the list, the portal cannot tell which to keep.
        raise SignInRefused(
            f"the identity provider sent a pointer instead of the {name} claim (the account is in too many groups "
            "for a token); ask an administrator to send only the groups assigned to the application", email=email)
    value = claims.get(name)
    if value is None:
        return frozenset()  # providers leave the claim out when the person is in no group
    if isinstance(value, str):
        value = [value]  # a provider that sends one group as a plain string
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SignInRefused(f"the identity provider's {name} claim is not a list of group names or ids", email=email)
    groups = frozenset(_text(item) for item in value) - {""}
    if len(groups) > MAX_GROUPS:
        raise SignInRefused(f"the identity provider's {name} claim names {len(groups)} groups, more than the "
                            f"{MAX_GROUPS} the portal accepts at sign-in", email=email)
    too_long = sorted(group for group in groups if len(group) > EXTERNAL_ID_MAX)
    if too_long:
        raise SignInRefused(f"the identity provider's {name} claim has a value longer than {EXTERNAL_ID_MAX} "
                            f"characters ({too_long[0][:40]}…)", email=email)
    return groups


@dataclass(frozen=True)
class GroupsSync:
    added: int = 0
    removed: int = 0
    created: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()  # claim values that name no group of this source (and none was created)


def oidc_sign_in(*, policy: OidcPolicy, identity: OidcIdentity, linked: User | None) -> tuple[User, GroupsSync]:
    """The portal account `identity` signs in to (`linked`: the one allauth already links it to), with
    its directory groups brought in step — all in one transaction, so a refusal changes nothing. A
    disabled account is returned untouched: allauth then refuses it as inactive."""
    actor = policy.actor()
    with transaction.atomic():
        user = linked or _account_for(policy=policy, identity=identity, actor=actor)
        if not user.is_active or identity.groups is None:
            return user, GroupsSync()
        return user, oidc_groups_sync(policy=policy, user=user, groups=identity.groups, actor=actor)


def _account_for(*, policy: OidcPolicy, identity: OidcIdentity, actor: Actor) -> User:
    principal = directory_principal_find(source=policy.source, external_id=identity.subject)
    if principal is not None and principal.user_id:
        return principal.user  # created by this provider for this subject (its allauth link since removed)
    email = identity.email
    if email:
        matches = list(User.objects.filter(email__iexact=email, is_active=True).order_by("pk")[:2])
        if matches and not identity.email_verified:
            raise SignInRefused(f"the identity provider has not verified the email address {email}, so it cannot "
                                "sign you in to the portal account with that address", user=matches[0], email=email)
        if len(matches) > 1:
            raise SignInRefused(f"several portal accounts have the email address {email}, so single sign-on cannot "
                                "tell which one is yours; ask an administrator", user=matches[0], email=email)
        if matches:
            return matches[0]
    if not policy.create_users:
        raise SignInRefused(f"no portal account has the email address {email or '(none sent)'}, and accounts are not "
                            "created at single sign-on; ask an administrator for access", email=email)
    if not identity.email_verified:
        raise SignInRefused(f"the identity provider has not verified the email address {email or '(none sent)'}, and "
                            "the portal creates accounts only for verified addresses", email=email)
    domain = email.rpartition("@")[2].lower()
    if policy.create_users_domains and domain not in policy.create_users_domains:
        raise SignInRefused(f"the portal creates accounts at single sign-on only for addresses at "
                            f"{', '.join(policy.create_users_domains)}, not {email}", email=email)
    return _user_create(policy=policy, identity=identity, actor=actor)


def _user_create(*, policy: OidcPolicy, identity: OidcIdentity, actor: Actor) -> User:
    username = (identity.username or identity.email)[:USERNAME_MAX]
    if User.objects.filter(username__iexact=username).exists():
        # Never sign in to (or take over) an account by its name: the name is the provider's to choose.
        raise SignInRefused(f"a portal account named {username} already exists with another email address, so a "
                            "new one cannot be created for you; ask an administrator to link your identity",
                            email=identity.email)
    try:
        with transaction.atomic():
            user = assignment_services.user_create(username=username, email=identity.email,
                                                   display_name=identity.display_name or username,
                                                   from_directory=True, actor=actor)
            Principal.objects.filter(user=user).update(external_source=policy.source, external_id=identity.subject)
            audit_event_record(action="user.link", actor=actor, target=user,
                               after={"external_source": policy.source, "external_id": identity.subject},
                               message=f"Created at first single sign-on through {policy.name}.")
    except IntegrityError:
        # The same identity's other sign-in (a double click) created it a moment ago.
        principal = directory_principal_find(source=policy.source, external_id=identity.subject)
        if principal is None or not principal.user_id:
            raise SignInRefused("the account could not be created just now; please sign in again",
                                email=identity.email) from None
        return principal.user
    user.refresh_from_db()
    logger.info("Single sign-on through %s created the account %s.", policy.name, username)
    return user


def oidc_groups_sync(*, policy: OidcPolicy, user: User, groups: frozenset[str], actor: Actor) -> GroupsSync:
    """Make `user` a directory member of exactly the groups of this source whose external ids are in
    `groups` (creating unknown ones when the policy says so). Other sources' groups and PIM-managed
    memberships are left alone."""
    member = user.principal
    with transaction.atomic():
        known = {group.external_id: group for group in Principal.objects.filter(
            kind=Principal.Kind.GROUP, external_source=policy.source, external_id__in=groups)}
        created = []
        for external_id in sorted(groups - known.keys()):
            if policy.create_groups:
                known[external_id], _ = directory_group_upsert(source=policy.source, external_id=external_id,
                                                               display_name=external_id, actor=actor)
                created.append(external_id)
        unknown = tuple(sorted(groups - known.keys()))
        wanted = {group.pk for group in known.values()}
        held = set(Assignment.objects.filter(
            principal=member, role__slug=RoleDefinition.GROUP_MEMBER, kind=Assignment.Kind.ACTIVE,
            status=Assignment.Status.LIVE, origin=Assignment.Origin.DIRECTORY,
            scope__group__external_source=policy.source).values_list("scope__group_id", flat=True))
        added = removed = 0
        # Lock each group before reading its members (in pk order, so concurrent sign-ins do not
        # deadlock): the set passed on is the group's current one plus or minus this user, and an other
        # member's sign-in committing in between would otherwise be undone.
        for group in Principal.objects.select_for_update().filter(pk__in=wanted | held).order_by("pk"):
            current = directory_group_members(group=group)
            others = current - {member.pk}
            if (member.pk in current) == (group.pk in wanted):
                continue
            members = list(Principal.objects.filter(pk__in=others).only("pk"))
            if group.pk in wanted:
                members.append(member)
            group_added, group_removed = directory_group_members_set(group=group, members=members, actor=actor)
            added, removed = added + group_added, removed + group_removed
    if unknown:
        logger.info("Single sign-on through %s: %s named %d group(s) the portal does not have: %s", policy.name,
                    user.username, len(unknown), ", ".join(unknown[:20]))
    return GroupsSync(added=added, removed=removed, created=tuple(created), unknown=unknown)
