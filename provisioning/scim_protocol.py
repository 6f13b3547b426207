"""The SCIM protocol for the SCIM connector (`connectors.kinds.scim`): scim2-client over httpx, and the
idempotent add/remove of one member of a group, and the read-back of a group's members. Imported on
first use (not at start-up: scim2-client and scim2-models take a noticeable fraction of a second to
import).

Lookups are `GET /Users?filter=…` and `GET /Groups?filter=…` (RFC 7644 §3.4.2, which every provider
serves; POST /.search is optional).
"""

from typing import Any

import httpx
from scim2_client import BaseSyncSCIMClient, SCIMClientException
from scim2_client.errors import RequestNetworkException
from scim2_models import (
    ConflictException,
    Email,
    Group,
    GroupMember,
    PatchOp,
    PatchOperation,
    SCIMException,
    ScimProvider,
    SearchRequest,
    User,
)

from notifications.outbox import PermanentDeliveryError

from .outbound import PinnedTransport

__all__ = ["PermanentDeliveryError", "RetryableScimError", "SCIM_ERRORS", "HttpxSCIMClient", "classify",
           "scim_client"]

TIMEOUT = httpx.Timeout(15.0, connect=5.0)
RETRYABLE_STATUSES = {408, 429}


SCIM_ERRORS = (SCIMClientException, SCIMException)


class RetryableScimError(Exception):
    """The peer may accept it later."""


class HttpxSCIMClient(BaseSyncSCIMClient):
    """scim2-client's sync client on an `httpx.Client`.

    scim2-client 0.13.2 ships its network engine for `httpx2` (not a dependency here); this is the
    same small engine (`scim2_client.engines.httpx2.SyncSCIMClient`) on httpx, which we pin.
    """

    def __init__(self, client: httpx.Client, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client
        self.last_status: int | None = None

    def _parse_json(self, response: Any) -> Any:
        return response.json()

    def _stays_under_base_url(self, endpoint: str) -> bool:
        base = self.client.base_url
        try:
            url = self.client.build_request("GET", endpoint).url
        except httpx.InvalidURL:
            return False
        return (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port) and url.raw_path.startswith(
            base.raw_path)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        self.last_status = None
        try:
            response = self.client.request(method, url, **kwargs)
        except httpx.HTTPError as error:
            network_error = RequestNetworkException()
            network_error.add_note(f"{type(error).__name__}: {error}")
            raise network_error from error
        self.last_status = response.status_code
        return response


def scim_client(*, base_url: str, token: str = "", transport: httpx.BaseTransport | None = None,
                timeout: float | None = None) -> HttpxSCIMClient:
    headers = {"Accept": "application/scim+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    http = httpx.Client(base_url=base_url.rstrip("/") + "/", headers=headers,
                        timeout=httpx.Timeout(float(timeout), connect=5.0) if timeout else TIMEOUT,
                        follow_redirects=False, trust_env=False, transport=PinnedTransport(transport))
    return HttpxSCIMClient(http, provider=ScimProvider(models=[User, Group]))


def _filter_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _first(result) -> Any:
    resources = getattr(result, "resources", None) or []
    return resources[0] if resources else None


def _find_user(scim: HttpxSCIMClient, username: str) -> User | None:
    return _first(scim.query(User, query_parameters=SearchRequest(filter=f'userName eq "{_filter_value(username)}"')))


def scim_find_group(scim: HttpxSCIMClient, *, display_name: str, external_id: str | None) -> Group | None:
    found = None
    if external_id:
        by_id = f'externalId eq "{_filter_value(external_id)}"'
        found = _first(scim.query(Group, query_parameters=SearchRequest(filter=by_id)))
    if found is None:
        by_name = f'displayName eq "{_filter_value(display_name)}"'
        found = _first(scim.query(Group, query_parameters=SearchRequest(filter=by_name)))
    return found


def _user_resource(username: str, principal) -> User:
    if principal is None:
        return User(user_name=username, active=True)
    user = principal.user
    emails = [Email(value=principal.email or user.email, primary=True)] if (principal.email or user.email) else None
    return User(user_name=username, display_name=principal.display_name or str(user),
                external_id=str(principal.object_id), active=True, emails=emails)


def _ensure_user(scim: HttpxSCIMClient, username: str, principal) -> tuple[User, bool]:
    found = _find_user(scim, username)
    if found is not None:
        return found, False
    try:
        return scim.create(_user_resource(username, principal)), True
    except ConflictException:
        # Created concurrently (or by a run that died before recording it): use it.
        found = _find_user(scim, username)
        if found is None:
            raise
        return found, False


def _ensure_group(scim: HttpxSCIMClient, display_name: str, external_id: str | None) -> tuple[Group, bool]:
    found = scim_find_group(scim, display_name=display_name, external_id=external_id)
    if found is not None:
        return found, False
    try:
        return scim.create(Group(display_name=display_name, external_id=external_id or None)), True
    except ConflictException:
        found = scim_find_group(scim, display_name=display_name, external_id=external_id)
        if found is None:
            raise
        return found, False


def _is_member(group: Group, user_id: str) -> bool:
    return any(member.value == user_id for member in (group.members or []))


def scim_add_member(scim: HttpxSCIMClient, *, username: str, principal, display_name: str,
                    external_id: str | None) -> str:
    """Make `username` a member of the group (creating the user and the group when missing)."""
    user, user_created = _ensure_user(scim, username, principal)
    scim_group, group_created = _ensure_group(scim, display_name, external_id)
    notes = [f"created user {user.user_name}" if user_created else f"user {user.user_name} found"]
    if group_created:
        notes.append(f"created group {scim_group.display_name}")
    if _is_member(scim_group, user.id):
        notes.append("already a member")
    else:
        scim.modify(Group, scim_group.id, PatchOp[Group](operations=[
            PatchOperation[Group](op=PatchOperation.Op.add, path="members", value=[GroupMember(value=user.id)])]))
        notes.append("member added")
    return "; ".join(notes)


def scim_remove_member(scim: HttpxSCIMClient, *, username: str, display_name: str, external_id: str | None) -> str:
    user = _find_user(scim, username)
    if user is None:
        return "user not in the application: nothing to remove"
    scim_group = scim_find_group(scim, display_name=display_name, external_id=external_id)
    if scim_group is None:
        return "group not in the application: nothing to remove"
    if not _is_member(scim_group, user.id):
        return "not a member: nothing to remove"
    scim.modify(Group, scim_group.id, PatchOp[Group](operations=[
        PatchOperation[Group](op=PatchOperation.Op.remove, path=f'members[value eq "{_filter_value(user.id)}"]')]))
    return "member removed"


PAGE = 200


def scim_group_member_names(scim: HttpxSCIMClient, *, display_name: str, external_id: str | None) -> list[str]:
    """The userName of every member of the group (none when the group does not exist): the group's
    members, then the users, a page at a time, to turn member ids into names."""
    group = scim_find_group(scim, display_name=display_name, external_id=external_id)
    if group is None:
        return []
    ids = {member.value for member in (group.members or []) if member.value}
    names: list[str] = []
    start = 1
    while ids:
        page = scim.query(User, query_parameters=SearchRequest(start_index=start, count=PAGE))
        resources = getattr(page, "resources", None) or []
        for user in resources:
            if user.id in ids:
                names.append(user.user_name)
                ids.discard(user.id)
        total = getattr(page, "total_results", None) or 0
        start += len(resources)
        if not resources or start > total:
            break
    return names


def scim_count_users(scim: HttpxSCIMClient) -> str:
    """Test connection: a one-user list, which needs the URL and the token to be right."""
    result = scim.query(User, query_parameters=SearchRequest(count=1))
    total = getattr(result, "total_results", None)
    return f"The application answered: {total if total is not None else 'some'} user(s)."


def classify(error: Exception, last_status: int | None) -> Exception:
    """Turn a client error into "retry later" or PermanentDeliveryError. `last_status` is the HTTP
    status of the response that raised it (None when no response came)."""
    if isinstance(error, RequestNetworkException):
        notes = "; ".join(getattr(error, "__notes__", []))
        return RetryableScimError(f"Could not reach the application: {notes or error}")
    if isinstance(error, SCIMException):
        status = int(getattr(error, "status", 0) or 0)
        detail = getattr(error, "detail", None) or str(error)
        text = f"The application answered {status}: {detail}"
        if status >= 500 or status in RETRYABLE_STATUSES:
            return RetryableScimError(text)
        if status == 401:
            text += " (check the bearer token)"
        return PermanentDeliveryError(text)
    if isinstance(error, SCIMClientException):
        status = last_status or 0
        if status >= 500 or status in RETRYABLE_STATUSES:
            return RetryableScimError(f"The application answered {status}: {error}")
        return PermanentDeliveryError(f"The application's answer (HTTP {status or '?'}) is not valid SCIM: {error}")
    return error
