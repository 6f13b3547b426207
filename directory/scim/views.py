"""The `/scim/v2/` endpoint: bearer-token authentication of a provisioning client, parse, one service
call, a SCIM JSON answer. No session and no CSRF (the token is the credential, sent by a machine).

Every refusal is an RFC 7644 §3.12 error body (`status`, `scimType`, `detail`), never a 500 for bad
input: a malformed body or filter is a 400, an unknown id a 404, a taken userName or externalId a 409,
a body over the upload limit a 413.
"""

import json
import logging
from functools import wraps

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DataError
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from audit.middleware import client_ip_of
from core.errors import DomainError

from . import services
from .clients import scim_token_authenticate, scim_token_mark_used
from .errors import ScimError, bad_request, not_found
from .resources import group_document, project, user_document
from .schema import (
    DEFAULT_COUNT,
    GROUP_SCHEMA,
    LIST_RESPONSE,
    MAX_RESULTS,
    RESOURCE_TYPES,
    SCHEMAS,
    USER_SCHEMA,
    resource_type_document,
    schema_document,
    service_provider_config,
)

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/scim+json"
DOMAIN_STATUS = {"invalid": (400, "invalidValue"), "conflict": (409, None), "forbidden": (403, None),
                 "not_found": (404, None)}


def _answer(body: dict | None, status: int = 200, **headers) -> HttpResponse:
    if body is None:
        response = HttpResponse(status=status)
    else:
        response = JsonResponse(body, status=status, content_type=CONTENT_TYPE, json_dumps_params={"default": str})
    response["Cache-Control"] = "no-store"
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _error(error: ScimError) -> HttpResponse:
    response = _answer(error.body(), error.status)
    if error.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="scim"'
    return response


def _base_url(request) -> str:
    return request.build_absolute_uri("/scim/v2").rstrip("/")


def _authenticate(request):
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise ScimError(401, "Send the client's token: 'Authorization: Bearer scim_…'.")
    token = scim_token_authenticate(raw=raw.strip())
    if token is None:
        raise ScimError(401, "The token is not valid, has expired or was revoked.")
    scim_token_mark_used(token=token, at=timezone.now(), ip=client_ip_of(request))
    return token.client


def _body(request):
    try:
        raw = request.body
    except RequestDataTooBig:
        raise ScimError(413, f"The body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.") from None
    if not raw:
        raise bad_request("The request needs a JSON body.", "invalidSyntax")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise bad_request("The body is not valid JSON.", "invalidSyntax") from None


def scim_view(methods: set[str]):
    """Authenticate, allow `methods`, and turn every refusal into a SCIM error."""
    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                client = _authenticate(request)
                if request.method not in methods:
                    response = _error(ScimError(405, f"{request.method} is not supported here."))
                    response["Allow"] = ", ".join(sorted(methods))
                    return response
                return view(request, client, *args, **kwargs)
            except ScimError as error:
                return _error(error)
            except DomainError as error:
                status, scim_type = DOMAIN_STATUS.get(error.code, (400, "invalidValue"))
                return _error(ScimError(status, error.message, scim_type))
            except DataError as error:
                # A value the database cannot hold that the checks above let through: the input's fault.
                logger.warning("SCIM request refused by the database: %s", error)
                return _error(ScimError(400, "A value in the request cannot be stored.", "invalidValue"))
        return wrapper
    return decorate


def _names(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(item) for item in value]
    return [part for part in str(value).split(",") if part.strip()]


def _int(value, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"{name} must be an integer, not {value!r}.") from None


def _render(request, client, resource: str, principals, *, attributes, excluded, fresh: bool = False) -> list[dict]:
    """`fresh`: the resources were just created, so no group has them as members yet (one query saved)."""
    base_url = _base_url(request)
    schema = USER_SCHEMA if resource == "User" else GROUP_SCHEMA
    skipped = {name.lower().split(".")[0].rsplit(":", 1)[-1] for name in excluded}
    wanted = {name.lower().split(".")[0].rsplit(":", 1)[-1] for name in attributes}
    if resource == "User":
        need = not fresh and "groups" not in skipped and (not wanted or "groups" in wanted)
        groups = services.scim_groups_of_users(client=client, users=principals) if need else {}
        documents = [user_document(p, base_url=base_url, groups=groups.get(p.pk, [])) for p in principals]
    else:
        need = "members" not in skipped and (not wanted or "members" in wanted)
        members = services.scim_members_of_groups(groups=principals) if need else {}
        display = any(name.lower().rsplit(":", 1)[-1] == "members.display" for name in attributes)
        documents = [group_document(p, base_url=base_url, members=members.get(p.pk), member_display=display)
                     for p in principals]
    return [project(document, schema=schema, attributes=attributes, excluded=excluded) for document in documents]


def _list(request, client, resource: str, params: dict) -> HttpResponse:
    start_index = max(1, _int(params.get("startIndex"), "startIndex", 1))
    count = min(MAX_RESULTS, max(0, _int(params.get("count"), "count", DEFAULT_COUNT)))
    filter_text = params.get("filter")
    if filter_text is not None and not isinstance(filter_text, str):
        raise bad_request("filter must be a string.", "invalidFilter")
    page = services.scim_list(client=client, resource=resource, filter_text=filter_text, start_index=start_index,
                              count=count, sort_by=params.get("sortBy"), sort_order=params.get("sortOrder"))
    resources = _render(request, client, resource, page.items, attributes=_names(params.get("attributes")),
                        excluded=_names(params.get("excludedAttributes")))
    return _answer({"schemas": [LIST_RESPONSE], "totalResults": page.total, "startIndex": start_index,
                    "itemsPerPage": len(resources), "Resources": resources})


def _one(request, client, resource: str, principal, status: int = 200) -> HttpResponse:
    """One resource, with its version as the ETag (RFC 7644 §3.14). A GET whose If-None-Match names
    the current version is a 304 without a body."""
    version = principal.scim_resource.version
    if request.method == "GET" and any(tag.strip() == "*" or services.scim_version_of(tag.strip()) == version
                                       for tag in _names(request.headers.get("If-None-Match"))):
        return _answer(None, 304, ETag=f'W/"{version}"')
    document = _render(request, client, resource, [principal], attributes=_names(request.GET.get("attributes")),
                       excluded=_names(request.GET.get("excludedAttributes")), fresh=status == 201)[0]
    return _answer(document, status, Location=document["meta"]["location"], ETag=f'W/"{version}"')


def _if_match(request) -> str | None:
    return request.headers.get("If-Match")


# --- discovery -----------------------------------------------------------------------------------------


@scim_view({"GET"})
def service_provider_config_view(request, client):
    return _answer(service_provider_config(_base_url(request)))


@scim_view({"GET"})
def resource_types_view(request, client, name: str | None = None):
    base_url = _base_url(request)
    if name is not None:
        if name not in RESOURCE_TYPES:
            raise not_found(f"No resource type {name}.")
        return _answer(resource_type_document(name, base_url))
    resources = [resource_type_document(key, base_url) for key in RESOURCE_TYPES]
    return _answer({"schemas": [LIST_RESPONSE], "totalResults": len(resources), "startIndex": 1,
                    "itemsPerPage": len(resources), "Resources": resources})


@scim_view({"GET"})
def schemas_view(request, client, schema_id: str | None = None):
    base_url = _base_url(request)
    if schema_id is not None:
        if schema_id not in SCHEMAS:
            raise not_found(f"No schema {schema_id}.")
        return _answer(schema_document(schema_id, base_url))
    resources = [schema_document(key, base_url) for key in SCHEMAS]
    return _answer({"schemas": [LIST_RESPONSE], "totalResults": len(resources), "startIndex": 1,
                    "itemsPerPage": len(resources), "Resources": resources})


# --- users and groups ----------------------------------------------------------------------------------


@scim_view({"GET", "POST"})
def users_view(request, client):
    if request.method == "GET":
        return _list(request, client, "User", request.GET)
    return _one(request, client, "User", services.scim_user_create(client=client, body=_body(request)), 201)


@scim_view({"GET", "PUT", "PATCH", "DELETE"})
def user_view(request, client, resource_id: str):
    principal = services.scim_user_get(client=client, resource_id=resource_id)
    if request.method == "GET":
        return _one(request, client, "User", principal)
    if request.method == "PUT":
        return _one(request, client, "User", services.scim_user_replace(
            client=client, principal=principal, body=_body(request), if_match=_if_match(request)))
    if request.method == "PATCH":
        return _one(request, client, "User", services.scim_user_patch(
            client=client, principal=principal, body=_body(request), if_match=_if_match(request)))
    services.scim_user_delete(client=client, principal=principal, if_match=_if_match(request))
    return _answer(None, 204)


@scim_view({"GET", "POST"})
def groups_view(request, client):
    if request.method == "GET":
        return _list(request, client, "Group", request.GET)
    return _one(request, client, "Group", services.scim_group_create(client=client, body=_body(request)), 201)


@scim_view({"GET", "PUT", "PATCH", "DELETE"})
def group_view(request, client, resource_id: str):
    group = services.scim_group_get(client=client, resource_id=resource_id)
    if request.method == "GET":
        return _one(request, client, "Group", group)
    if request.method == "PUT":
        return _one(request, client, "Group", services.scim_group_replace(
            client=client, group=group, body=_body(request), if_match=_if_match(request)))
    if request.method == "PATCH":
        return _one(request, client, "Group", services.scim_group_patch(
            client=client, group=group, body=_body(request), if_match=_if_match(request)))
    services.scim_group_delete(client=client, group=group, if_match=_if_match(request))
    return _answer(None, 204)


@scim_view({"POST"})
def search_view(request, client, resource: str):
    return _list(request, client, resource, services.scim_search_body(_body(request)))


@scim_view({"POST"})
def root_search_view(request, client):
    raise ScimError(501, "Search across resource types is not supported: POST /Users/.search or /Groups/.search.")


@scim_view({"GET", "POST", "PUT", "PATCH", "DELETE"})
def not_found_view(request, client, rest: str = ""):
    raise not_found(f"There is nothing at {request.path}.")
