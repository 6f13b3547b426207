"""What a SCIM client's requests change: users, groups and static memberships, through the directory
intake core and the assignments writer.

Every write is one transaction that locks the resource it changes, checks under the lock, writes, and
is audited with the client as the actor (`directory_actor(job="scim", source_label=client.name)`);
a refusal anywhere rolls all of it back. A client sees and changes only what it provisioned
(`ScimResource.client`). `active=false` and DELETE disable the user, which ends every assignment they
hold in the same transaction (`user_set_enabled`); group membership is a permanent active Member
assignment with origin `directory`, and PIM-managed memberships are never replaced or removed
(`membership_directory_add` / `_remove`).
"""

import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from assignments import services as assignment_services
from assignments.models import Assignment, Principal, RoleDefinition, User
from audit.services import audit_event_record
from core.actors import Actor

from ..models import ScimClient, ScimResource
from ..services import UserRecord, _user_apply, directory_actor, directory_group_members_set
from . import patch as scim_patch
from .errors import ScimError, bad_request, not_found, uniqueness
from .filters import filter_condition, sort_ordering
from .resources import GroupInput, UserInput, lowered, read_group, read_user
from .schema import USER_SCHEMA


def scim_actor(client: ScimClient) -> Actor:
    return directory_actor(job="scim", source_label=client.name)


# --- reads ---------------------------------------------------------------------------------------------


def _users(client: ScimClient):
    return Principal.objects.filter(kind=Principal.Kind.USER, scim_resource__client=client)


def _groups(client: ScimClient):
    return Principal.objects.filter(kind=Principal.Kind.GROUP, scim_resource__client=client)


def _as_uuid(resource_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(resource_id))
    except ValueError:
        raise not_found(f"No resource has the id {resource_id}.") from None


def scim_user_get(*, client: ScimClient, resource_id: str) -> Principal:
    principal = (_users(client).select_related("user", "scim_resource")
                 .filter(object_id=_as_uuid(resource_id)).first())
    if principal is None:
        raise not_found(f"No user has the id {resource_id}.")
    return principal


def scim_group_get(*, client: ScimClient, resource_id: str) -> Principal:
    principal = _groups(client).select_related("scim_resource").filter(object_id=_as_uuid(resource_id)).first()
    if principal is None:
        raise not_found(f"No group has the id {resource_id}.")
    return principal


@dataclass
class Page:
    total: int
    items: list[Principal]


def scim_list(*, client: ScimClient, resource: str, filter_text: str | None, start_index: int,
              count: int, sort_by: str | None = None, sort_order: str | None = None) -> Page:
    """One page of the client's users or groups matching the filter, sorted by `sort_by` (then in
    creation order, stable for paging): two queries (the count and the page), whatever the size."""
    base = _users(client).select_related("user", "scim_resource") if resource == "User" else \
        _groups(client).select_related("scim_resource")
    ordering = sort_ordering(resource=resource, sort_by=sort_by, sort_order=sort_order)
    matching = base.filter(filter_condition(resource=resource, text=filter_text))
    total = matching.count()
    if count <= 0:
        return Page(total=total, items=[])
    offset = start_index - 1
    return Page(total=total, items=list(matching.order_by(*ordering)[offset:offset + count]))


def scim_version_check(*, resource: ScimResource, if_match: str | None) -> None:
    """`If-Match` (RFC 7644 §3.14): a write that names a version other than the resource's current
    one (read under the caller's lock) is refused with 412 and changes nothing. `*` matches any
    version; no header: no precondition."""
    if if_match is None or not if_match.strip():
        return
    current = resource.version
    for tag in if_match.split(","):
        tag = tag.strip()
        if tag == "*" or scim_version_of(tag) == current:
            return
    raise ScimError(412, f"The resource has changed: its version is W/\"{current}\", not {if_match.strip()}. Read "
                         f"it again and retry.")


def scim_version_of(tag: str) -> int | None:
    """The version an entity tag names (`W/"3"`, `"3"`), or None for a tag that is not ours."""
    if tag[:2].upper() == "W/":
        tag = tag[2:]
    tag = tag.strip().strip('"')
    return int(tag) if tag.isdigit() else None


def _live_directory_memberships():
    return Assignment.objects.filter(role__slug=RoleDefinition.GROUP_MEMBER, kind=Assignment.Kind.ACTIVE,
                                     status=Assignment.Status.LIVE, origin=Assignment.Origin.DIRECTORY)


def scim_groups_of_users(*, client: ScimClient, users: list[Principal]) -> dict[int, list[dict]]:
    """{user principal pk: [{value, display}]}: the client's groups each user is a directory member of
    (one query for the page)."""
    result: dict[int, list[dict]] = {user.pk: [] for user in users}
    rows = (_live_directory_memberships().filter(principal__in=users, scope__group__scim_resource__client=client)
            .values_list("principal_id", "scope__group__object_id", "scope__group__display_name")
            .order_by("scope__group__display_name"))
    for principal_id, group_id, display in rows:
        result[principal_id].append({"value": str(group_id), "display": display})
    return result


def scim_members_of_groups(*, groups: list[Principal]) -> dict[int, list[dict]]:
    """{group pk: [{value, display}]}: the groups' live directory members (one query for the page)."""
    result: dict[int, list[dict]] = {group.pk: [] for group in groups}
    rows = (_live_directory_memberships().filter(scope__group__in=groups)
            .values_list("scope__group_id", "principal__object_id", "principal__display_name")
            .order_by("pk"))
    for group_id, member_id, display in rows:
        result[group_id].append({"value": str(member_id), "display": display})
    return result


def user_writable_document(principal: Principal) -> dict:
    """The user's attributes a PATCH applies to."""
    stored = principal.scim_resource.attributes or {}
    document = {"userName": principal.user.username}
    if principal.external_id:
        document["externalId"] = principal.external_id
    for key in ("displayName", "name", "emails"):
        if stored.get(key):
            document[key] = stored[key]
    if not stored.get("activeUnset"):
        document["active"] = principal.user.is_active
    return document


# --- users ---------------------------------------------------------------------------------------------


def _check_external_id(*, client: ScimClient, external_id: str, exclude_pk: int | None = None) -> None:
    if not external_id:
        return
    taken = Principal.objects.filter(external_source=client.source, external_id=external_id)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise uniqueness(f"Another resource of this client has the externalId {external_id}.")


def _record(data: UserInput, *, external_id: str, current_active: bool) -> UserRecord:
    return UserRecord(external_id=external_id or "-", username=data.user_name, email=data.primary_email,
                      display_name=data.display_name,
                      active=current_active if data.active is None else data.active)


def _store(resource: ScimResource, *, attributes: dict, emails_index: str, now) -> None:
    ScimResource.objects.filter(pk=resource.pk).update(attributes=attributes, emails_index=emails_index,
                                                       version=resource.version + 1, updated_at=now)


def _integrity_guard(error: IntegrityError):
    """A concurrent request took the same externalId or userName between our check and our write."""
    return uniqueness(f"Another resource took the same userName, displayName or externalId at the same time "
                      f"({type(error).__name__}).")


def scim_user_create(*, client: ScimClient, body) -> Principal:
    """POST /Users. A userName or externalId this client already has is a 409. A user of that name
    made in the portal (no directory source) is linked and brought in line (audited); one from another
    source, or an emergency access account, is a 409."""
    data = read_user(body)
    actor = scim_actor(client)
    now = timezone.now()
    try:
        with transaction.atomic():
            if _users(client).filter(user__username__iexact=data.user_name).exists():
                raise uniqueness(f"This client already has a user named {data.user_name}.")
            _check_external_id(client=client, external_id=data.external_id)
            existing = User.objects.select_for_update(of=("self",)).select_related("principal").filter(
                username__iexact=data.user_name).first()
            if existing is None:
                user = assignment_services.user_create(username=data.user_name, email=data.primary_email,
                                                       display_name=data.display_name or data.user_name,
                                                       from_directory=True, actor=actor)
                principal = Principal.objects.get(user=user)
                Principal.objects.filter(pk=principal.pk).update(external_source=client.source,
                                                                 external_id=data.external_id)
                ScimResource.objects.create(client=client, principal=principal, attributes=data.stored_attributes(),
                                            emails_index=data.emails_index(), created_at=now, updated_at=now)
                if data.active is False:
                    assignment_services.user_set_enabled(user=user, enabled=False, actor=actor)
            else:
                principal = existing.principal
                if existing.is_emergency_access:
                    raise uniqueness(f"{data.user_name} is an emergency access account: a directory never "
                                     f"manages it.")
                if hasattr(principal, "scim_resource") or (principal.external_source
                                                            and principal.external_source != client.source):
                    raise uniqueness(f"A user named {data.user_name} already exists and comes from another "
                                     f"directory source.")
                Principal.objects.filter(pk=principal.pk).update(external_source=client.source,
                                                                 external_id=data.external_id)
                audit_event_record(action="user.link", actor=actor, target=existing,
                                   after={"external_source": client.source, "external_id": data.external_id},
                                   message="Existing user linked to the SCIM client.")
                ScimResource.objects.create(client=client, principal=principal, attributes=data.stored_attributes(),
                                            emails_index=data.emails_index(), created_at=now, updated_at=now)
                _user_apply(user=existing, username=data.user_name, actor=actor,
                            record=_record(data, external_id=data.external_id, current_active=existing.is_active))
            audit_event_record(action="scim.user_create", actor=actor, target=principal, principal=principal,
                               after={"userName": data.user_name, "externalId": data.external_id,
                                      **data.stored_attributes()},
                               message=f"Provisioned by the SCIM client {client.name}.")
    except IntegrityError as error:
        raise _integrity_guard(error) from None
    return scim_user_get(client=client, resource_id=str(principal.object_id))


def _user_write(*, client: ScimClient, principal: Principal, data: UserInput, actor: Actor,
                if_match: str | None = None) -> None:
    """Bring a locked SCIM user in line with `data` (the caller holds the transaction)."""
    resource = ScimResource.objects.select_for_update().get(pk=principal.scim_resource.pk)
    scim_version_check(resource=resource, if_match=if_match)
    user = User.objects.select_for_update().get(pk=principal.user_id)
    if data.user_name.lower() != user.username.lower() and User.objects.filter(
            username__iexact=data.user_name).exclude(pk=user.pk).exists():
        raise uniqueness(f"A user named {data.user_name} already exists.")
    _check_external_id(client=client, external_id=data.external_id, exclude_pk=principal.pk)
    if user.is_emergency_access and data.active is False:
        raise uniqueness(f"{user.username} is an emergency access account: a directory does not disable it.")
    before = {"externalId": principal.external_id, **(resource.attributes or {})}
    after = {"externalId": data.external_id, **data.stored_attributes()}
    _user_apply(user=user, username=data.user_name, actor=actor,
                record=_record(data, external_id=data.external_id, current_active=user.is_active))
    if before != after:
        Principal.objects.filter(pk=principal.pk).update(external_id=data.external_id)
        audit_event_record(action="scim.user_update", actor=actor, target=principal, principal=principal,
                           before=before, after=after, message=f"Changed by the SCIM client {client.name}.")
    _store(resource, attributes=data.stored_attributes(), emails_index=data.emails_index(), now=timezone.now())


def scim_user_replace(*, client: ScimClient, principal: Principal, body, if_match: str | None = None) -> Principal:
    """PUT /Users/{id}: the user becomes exactly `body` (read-only attributes ignored)."""
    data = read_user(body)
    try:
        with transaction.atomic():
            _user_write(client=client, principal=principal, data=data, actor=scim_actor(client), if_match=if_match)
    except IntegrityError as error:
        raise _integrity_guard(error) from None
    return scim_user_get(client=client, resource_id=str(principal.object_id))


def scim_user_patch(*, client: ScimClient, principal: Principal, body, if_match: str | None = None) -> Principal:
    """PATCH /Users/{id}: the operations applied in order to the current user, written like a PUT."""
    ops = scim_patch.operations(body)
    try:
        with transaction.atomic():
            scim_version_check(resource=ScimResource.objects.select_for_update().get(pk=principal.scim_resource.pk),
                               if_match=if_match)
            current = scim_user_get(client=client, resource_id=str(principal.object_id))
            document = scim_patch.apply_to_user(user_writable_document(current), ops)
            _user_write(client=client, principal=current, data=read_user(document), actor=scim_actor(client))
    except IntegrityError as error:
        raise _integrity_guard(error) from None
    return scim_user_get(client=client, resource_id=str(principal.object_id))


def scim_user_delete(*, client: ScimClient, principal: Principal, if_match: str | None = None) -> None:
    """DELETE /Users/{id}: the user is disabled, which ends everything they hold in this transaction;
    the SCIM resource is gone (a GET answers 404) while the person and their history stay. A later POST
    of the same userName by this client links the same person again."""
    actor = scim_actor(client)
    with transaction.atomic():
        resource = ScimResource.objects.select_for_update().filter(pk=principal.scim_resource.pk).first()
        if resource is None:
            raise not_found(f"No user has the id {principal.object_id}.")
        scim_version_check(resource=resource, if_match=if_match)
        user = User.objects.get(pk=principal.user_id)
        if user.is_emergency_access:
            raise uniqueness(f"{user.username} is an emergency access account: a directory does not disable it.")
        assignment_services.user_set_enabled(user=user, enabled=False, actor=actor)
        Principal.objects.filter(pk=principal.pk).update(external_id="")
        resource.delete()
        audit_event_record(action="scim.user_delete", actor=actor, target=principal, principal=principal,
                           before={"externalId": principal.external_id},
                           message=f"Deleted by the SCIM client {client.name}: disabled, everything they held "
                                   f"ended.")


# --- groups --------------------------------------------------------------------------------------------


def _resolve_members(*, client: ScimClient, ids: set[str]) -> dict[str, Principal]:
    """{id: user principal} for member ids; ids that are not users of this client are a 400."""
    wanted = {}
    for raw in ids:
        try:
            wanted[str(uuid.UUID(raw))] = raw
        except ValueError:
            raise bad_request(f"{raw} is not the id of a user this client provisioned.") from None
    found = {str(principal.object_id): principal for principal in
             Principal.objects.filter(scim_resource__client=client, object_id__in=list(wanted))}
    for key, raw in wanted.items():
        if key not in found:
            raise bad_request(f"{raw} is not the id of a user this client provisioned.")
        if found[key].is_group:
            raise bad_request("A group cannot be a member of a group (groups do not nest here).")
    return {wanted[key]: principal for key, principal in found.items()}


def _rename(*, group: Principal, display_name: str, actor: Actor) -> None:
    if group.display_name == display_name:
        return
    before = {"display_name": group.display_name}
    Principal.objects.filter(pk=group.pk).update(display_name=display_name)
    group.display_name = display_name
    audit_event_record(action="group.update", actor=actor, target=group, principal=group, before=before,
                       after={"display_name": display_name}, message="Renamed in the directory.")


def _group_write(*, client: ScimClient, group: Principal, resource: ScimResource, display_name: str,
                 external_id: str, members: set[str] | None, actor: Actor) -> None:
    """Bring a locked SCIM group in line (the caller holds the transaction). `members`: the wanted
    member ids, or None to leave the members alone."""
    display_name = display_name.replace("\x00", "").strip()
    if not display_name:
        raise bad_request("displayName is required.")
    _check_external_id(client=client, external_id=external_id, exclude_pk=group.pk)
    _rename(group=group, display_name=display_name, actor=actor)
    if external_id != group.external_id:
        Principal.objects.filter(pk=group.pk).update(external_id=external_id)
        audit_event_record(action="scim.group_update", actor=actor, target=group, principal=group,
                           before={"externalId": group.external_id}, after={"externalId": external_id},
                           message=f"Changed by the SCIM client {client.name}.")
    if members is not None:
        resolved = _resolve_members(client=client, ids=members)
        directory_group_members_set(group=group, members=resolved.values(), actor=actor)
    ScimResource.objects.filter(pk=resource.pk).update(version=resource.version + 1, updated_at=timezone.now())


def scim_group_create(*, client: ScimClient, body) -> Principal:
    """POST /Groups: a security group (not role-assignable) and its directory memberships."""
    data: GroupInput = read_group(body)
    actor = scim_actor(client)
    now = timezone.now()
    try:
        with transaction.atomic():
            _check_external_id(client=client, external_id=data.external_id)
            group = assignment_services.group_create(display_name=data.display_name, actor=actor)
            Principal.objects.filter(pk=group.pk).update(external_source=client.source, external_id=data.external_id)
            group.external_source, group.external_id = client.source, data.external_id
            resource = ScimResource.objects.create(client=client, principal=group, created_at=now, updated_at=now)
            audit_event_record(action="scim.group_create", actor=actor, target=group, principal=group,
                               after={"displayName": data.display_name, "externalId": data.external_id},
                               message=f"Provisioned by the SCIM client {client.name}.")
            if data.members:
                _group_write(client=client, group=group, resource=resource, display_name=data.display_name,
                             external_id=data.external_id, members=set(data.members), actor=actor)
    except IntegrityError as error:
        raise _integrity_guard(error) from None
    return scim_group_get(client=client, resource_id=str(group.object_id))


def _locked_group(*, client: ScimClient, group: Principal,
                  if_match: str | None = None) -> tuple[Principal, ScimResource]:
    resource = ScimResource.objects.select_for_update().filter(principal=group, client=client).first()
    if resource is None:
        raise not_found(f"No group has the id {group.object_id}.")
    scim_version_check(resource=resource, if_match=if_match)
    return Principal.objects.get(pk=group.pk), resource


def scim_group_replace(*, client: ScimClient, group: Principal, body, if_match: str | None = None) -> Principal:
    """PUT /Groups/{id}: name, externalId and members become exactly the body's (no members: none)."""
    data = read_group(body)
    try:
        with transaction.atomic():
            group, resource = _locked_group(client=client, group=group, if_match=if_match)
            _group_write(client=client, group=group, resource=resource, display_name=data.display_name,
                         external_id=data.external_id, members=set(data.members or []), actor=scim_actor(client))
    except IntegrityError as error:
        raise _integrity_guard(error) from None
    return scim_group_get(client=client, resource_id=str(group.object_id))


def scim_group_patch(*, client: ScimClient, group: Principal, body, if_match: str | None = None) -> Principal:
    """PATCH /Groups/{id}: operations applied in order to the current name and member set; only the
    difference is written (members added and removed one by one, each audited and announced)."""
    ops = scim_patch.operations(body)
    actor = scim_actor(client)
    try:
        with transaction.atomic():
            group, resource = _locked_group(client=client, group=group, if_match=if_match)
            current = {str(member_id) for member_id in _live_directory_memberships().filter(
                scope__group=group).values_list("principal__object_id", flat=True)}
            display_name, external_id, wanted = scim_patch.apply_to_group(
                display_name=group.display_name, external_id=group.external_id, members=current, ops=ops)
            display_name = display_name.replace("\x00", "").strip()
            if not display_name:
                raise bad_request("displayName is required.")
            _check_external_id(client=client, external_id=external_id, exclude_pk=group.pk)
            _rename(group=group, display_name=display_name, actor=actor)
            if external_id != group.external_id:
                Principal.objects.filter(pk=group.pk).update(external_id=external_id)
                audit_event_record(action="scim.group_update", actor=actor, target=group, principal=group,
                                   before={"externalId": group.external_id}, after={"externalId": external_id},
                                   message=f"Changed by the SCIM client {client.name}.")
            added = {member for member in wanted if _canonical_id(member) not in current}
            removed = current - {_canonical_id(member) for member in wanted}
            for member in _resolve_members(client=client, ids=added).values():
                assignment_services.membership_directory_add(group=group, member=member, actor=actor)
            for member in Principal.objects.filter(object_id__in=list(removed)).order_by("pk"):
                assignment_services.membership_directory_remove(group=group, member=member, actor=actor)
            ScimResource.objects.filter(pk=resource.pk).update(version=resource.version + 1,
                                                               updated_at=timezone.now())
    except IntegrityError as error:
        raise _integrity_guard(error) from None
    return scim_group_get(client=client, resource_id=str(group.object_id))


def _canonical_id(raw: str) -> str:
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        return raw


def scim_group_delete(*, client: ScimClient, group: Principal, if_match: str | None = None) -> None:
    """DELETE /Groups/{id}: its directory memberships end (PIM-managed ones stay, and with them the
    group and its scope); the SCIM resource is gone."""
    actor = scim_actor(client)
    with transaction.atomic():
        group, resource = _locked_group(client=client, group=group, if_match=if_match)
        directory_group_members_set(group=group, members=[], actor=actor)
        Principal.objects.filter(pk=group.pk).update(external_id="")
        resource.delete()
        audit_event_record(action="scim.group_delete", actor=actor, target=group, principal=group,
                           before={"externalId": group.external_id},
                           message=f"Deleted by the SCIM client {client.name}: its directory memberships ended.")


def scim_search_body(body) -> dict:
    """The parameters of POST /.search (a SearchRequest), as the query string would give them."""
    if not isinstance(body, dict):
        raise bad_request("The body must be a SearchRequest object.", "invalidSyntax")
    values = lowered(body, USER_SCHEMA)
    return {key: values.get(key.lower()) for key in
            ("filter", "startIndex", "count", "attributes", "excludedAttributes", "sortBy", "sortOrder")}

