"""The directory intake's writes: users, groups and static memberships as a directory source
(SCIM client, LDAP source, OIDC provider) sends them.

Each source names itself with a `source` string ("scim:<id>", "ldap:<id>", "oidc:<provider>") stored
on the principals it brings (`Principal.external_source` / `external_id`). Everything goes through the
assignments writer, so it is locked, audited and announced like any other change; memberships the
directory sends have origin `directory`, and PIM-managed ones (eligible, time-bound, activated) are
never overwritten or removed here. Callers pass a system actor acting on behalf of the source
(`directory_actor`).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.db import transaction

from assignments import services as assignment_services
from assignments.models import Assignment, Principal, RoleDefinition, User
from audit.services import audit_event_record
from core.actors import Actor
from core.errors import conflict, invalid


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class UserRecord:
    """One user as the directory describes it."""

    external_id: str
    username: str
    email: str = ""
    display_name: str = ""
    active: bool = True


def directory_actor(*, job: str, source_label: str) -> Actor:
    """The actor of an intake change: the system running `job` ("scim", "ldap-sync", "oidc-sign-in")
    on behalf of the named source, as the audit log shows it."""
    return Actor.system(job, on_behalf_of=source_label)


def directory_principal_find(*, source: str, external_id: str) -> Principal | None:
    if not external_id:
        return None
    return (Principal.objects.select_related("user")
            .filter(external_source=source, external_id=external_id).first())


def directory_user_upsert(*, source: str, record: UserRecord, actor: Actor) -> tuple[User, Outcome]:
    """Create or update the user the directory describes, found by (source, external id), else linked
    by username when that user came from no other source. `active=False` disables the user, which
    ends everything they hold in the same transaction; `active=True` enables them again."""
    username = record.username.replace("\x00", "").strip()
    if not username:
        raise invalid("A user needs a userName.", field="userName")
    if not record.external_id:
        raise invalid("A directory user needs a stable id.", field="externalId")
    with transaction.atomic():
        principal = directory_principal_find(source=source, external_id=record.external_id)
        if principal is not None and not principal.is_user:
            raise conflict(f"The external id {record.external_id} belongs to a group, not a user.")
        if principal is None:
            user = User.objects.select_related("principal").filter(username__iexact=username).first()
            if user is None:
                user = assignment_services.user_create(username=username, email=record.email,
                                                       display_name=record.display_name or username,
                                                       from_directory=True, actor=actor)
                Principal.objects.filter(user=user).update(external_source=source, external_id=record.external_id)
                if not record.active:
                    assignment_services.user_set_enabled(user=user, enabled=False, actor=actor)
                user.refresh_from_db()
                return user, Outcome.CREATED
            linked = user.principal
            if linked.external_source and linked.external_source != source:
                raise conflict(f"A user named {username} already exists and comes from another directory source.")
            if linked.external_id and linked.external_id != record.external_id:
                raise conflict(f"A user named {username} already exists with another external id.")
            Principal.objects.filter(pk=linked.pk).update(external_source=source, external_id=record.external_id)
            audit_event_record(action="user.link", actor=actor, target=user,
                               after={"external_source": source, "external_id": record.external_id},
                               message="Existing user linked to the directory.")
        user = User.objects.select_for_update().get(pk=principal.user_id if principal else user.pk)
        return user, _user_apply(user=user, username=username, record=record, actor=actor)


def _user_apply(*, user: User, username: str, record: UserRecord, actor: Actor) -> Outcome:
    """Bring a locked user in line with the record; audited only when something changed."""
    before = {"username": user.username, "email": user.email, "display_name": user.display_name}
    after = {"username": username, "email": record.email, "display_name": record.display_name or username}
    changed = before != after
    if changed:
        if username.lower() != user.username.lower() and User.objects.filter(
                username__iexact=username).exclude(pk=user.pk).exists():
            raise conflict(f"A user named {username} already exists.")
        User.objects.filter(pk=user.pk).update(username=username, email=record.email,
                                               display_name=after["display_name"])
        Principal.objects.filter(user=user).update(display_name=after["display_name"], email=record.email)
        audit_event_record(action="user.update", actor=actor, target=user, before=before, after=after,
                           message="Updated from the directory.")
    if user.is_active != record.active:
        assignment_services.user_set_enabled(user=user, enabled=record.active, actor=actor)
        changed = True
    user.refresh_from_db()
    return Outcome.UPDATED if changed else Outcome.UNCHANGED


def directory_group_upsert(*, source: str, external_id: str, display_name: str, actor: Actor,
                           description: str = "") -> tuple[Principal, Outcome]:
    """Create or rename the group the directory describes (found by source and external id)."""
    display_name = display_name.replace("\x00", "").strip()
    if not display_name:
        raise invalid("A group needs a displayName.", field="displayName")
    if not external_id:
        raise invalid("A directory group needs a stable id.", field="externalId")
    with transaction.atomic():
        group = directory_principal_find(source=source, external_id=external_id)
        if group is not None and not group.is_group:
            raise conflict(f"The external id {external_id} belongs to a user, not a group.")
        if group is None:
            group = assignment_services.group_create(display_name=display_name, description=description,
                                                     actor=actor)
            Principal.objects.filter(pk=group.pk).update(external_source=source, external_id=external_id)
            group.external_source, group.external_id = source, external_id
            return group, Outcome.CREATED
        if group.display_name == display_name:
            return group, Outcome.UNCHANGED
        before = {"display_name": group.display_name}
        Principal.objects.filter(pk=group.pk).update(display_name=display_name)
        group.display_name = display_name
        audit_event_record(action="group.update", actor=actor, target=group, principal=group, before=before,
                           after={"display_name": display_name}, message="Renamed in the directory.")
        return group, Outcome.UPDATED


def directory_group_members(*, group: Principal) -> set[int]:
    """Principal ids of the group's live directory-origin members."""
    return set(Assignment.objects.filter(
        role__slug=RoleDefinition.GROUP_MEMBER, scope__group=group, kind=Assignment.Kind.ACTIVE,
        status=Assignment.Status.LIVE, origin=Assignment.Origin.DIRECTORY).values_list("principal_id", flat=True))


def directory_group_members_set(*, group: Principal, members: Iterable[Principal],
                                actor: Actor) -> tuple[int, int]:
    """Make the group's directory memberships exactly `members` (PIM-managed ones are left alone).
    Returns (added, removed)."""
    wanted = {member.pk: member for member in members}
    added = removed = 0
    with transaction.atomic():
        current = directory_group_members(group=group)
        for pk in sorted(set(wanted) - current):
            if assignment_services.membership_directory_add(group=group, member=wanted[pk], actor=actor):
                added += 1
        for member in Principal.objects.filter(pk__in=current - set(wanted)).order_by("pk"):
            if assignment_services.membership_directory_remove(group=group, member=member, actor=actor):
                removed += 1
    return added, removed
