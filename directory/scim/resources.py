"""The SCIM shapes of users and groups: reading a request body into checked values, and rendering a
principal as a resource (with `attributes` / `excludedAttributes`, RFC 7644 §3.4.2.5).

Attribute names are case-insensitive (RFC 7643 §2.1) and may carry their schema URN. Attributes the
portal does not store are ignored; a listed attribute with a wrong type is a 400 `invalidValue`.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from .errors import bad_request
from .schema import GROUP_SCHEMA, USER_SCHEMA

MAX_NAME = 150
MAX_TEXT = 200
MAX_EXTERNAL_ID = 255
MAX_EMAILS = 20
MAX_MEMBERS_PER_REQUEST = 10_000
NAME_PARTS = ("formatted", "familyName", "givenName")


@dataclass
class UserInput:
    user_name: str
    external_id: str = ""
    display_name: str = ""
    name: dict = field(default_factory=dict)
    emails: list = field(default_factory=list)
    active: bool | None = None  # None: not sent (the user's enabled state is kept)

    @property
    def primary_email(self) -> str:
        for email in self.emails:
            if email.get("primary"):
                return email["value"]
        return self.emails[0]["value"] if self.emails else ""

    def stored_attributes(self) -> dict:
        """What `ScimResource.attributes` keeps (the rest lives in the portal's own columns)."""
        stored = {}
        if self.display_name:
            stored["displayName"] = self.display_name
        if self.name:
            stored["name"] = self.name
        if self.emails:
            stored["emails"] = self.emails
        if self.active is None:
            stored["activeUnset"] = True  # so a GET does not claim an `active` the client never sent
        return stored

    def emails_index(self) -> str:
        return "".join(f"\n{email['value'].lower()}\n" for email in self.emails)


@dataclass
class GroupInput:
    display_name: str
    external_id: str = ""
    members: list[str] | None = None  # member ids; None: not given


def _canonical(key: str, schema: str) -> str:
    """`urn:…:User:userName` and `USERNAME` both read as `username`."""
    if key.lower().startswith(schema.lower() + ":"):
        key = key[len(schema) + 1:]
    return key.lower()


def lowered(body: dict, schema: str) -> dict:
    return {_canonical(key, schema): value for key, value in body.items() if isinstance(key, str)}


def as_bool(value, what: str) -> bool:
    """A boolean, or the strings Entra ID sends for one ("True", "False")."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise bad_request(f"{what} must be true or false, not {value!r}.")


def _text(value, what: str, limit: int = MAX_TEXT, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise bad_request(f"{what} must be a string, not {type(value).__name__}.")
    value = value.replace("\x00", "").strip()
    if required and not value:
        raise bad_request(f"{what} is required.")
    if len(value) > limit:
        raise bad_request(f"{what} is limited to {limit} characters.")
    return value


def read_name(value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad_request("name must be an object (formatted, familyName, givenName).")
    parts = {key.lower(): part for key, part in value.items() if isinstance(key, str)}
    name = {}
    for part in NAME_PARTS:
        text = _text(parts.get(part.lower()), f"name.{part}")
        if text:
            name[part] = text
    return name


def read_emails(value) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_request("emails must be a list of {value, type, primary}.")
    if len(value) > MAX_EMAILS:
        raise bad_request(f"A user has at most {MAX_EMAILS} email addresses here.")
    emails = []
    for item in value:
        if not isinstance(item, dict):
            raise bad_request("Each email is an object {value, type, primary}.")
        parts = {key.lower(): part for key, part in item.items() if isinstance(key, str)}
        address = _text(parts.get("value"), "emails.value", 254, required=True)
        try:
            validate_email(address)
        except ValidationError:
            raise bad_request(f"{address!r} is not an email address.") from None
        email = {"value": address}
        kind = _text(parts.get("type"), "emails.type", 50)
        if kind:
            email["type"] = kind
        if parts.get("primary") is not None:
            email["primary"] = as_bool(parts["primary"], "emails.primary")
        emails.append(email)
    if sum(1 for email in emails if email.get("primary")) > 1:
        raise bad_request("Only one email can be primary.")
    return emails


def read_user(body) -> UserInput:
    if not isinstance(body, dict):
        raise bad_request("The body must be a JSON object.", "invalidSyntax")
    values = lowered(body, USER_SCHEMA)
    return UserInput(
        user_name=_text(values.get("username"), "userName", MAX_NAME, required=True),
        external_id=_text(values.get("externalid"), "externalId", MAX_EXTERNAL_ID),
        display_name=_text(values.get("displayname"), "displayName"),
        name=read_name(values.get("name")),
        emails=read_emails(values.get("emails")),
        active=None if values.get("active") is None else as_bool(values["active"], "active"),
    )


def read_member_ids(value, what: str = "members") -> list[str]:
    if value is None:
        return []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise bad_request(f"{what} must be a list of {{value}}.")
    if len(value) > MAX_MEMBERS_PER_REQUEST:
        raise bad_request(f"At most {MAX_MEMBERS_PER_REQUEST} members per request.")
    ids = []
    for item in value:
        if not isinstance(item, dict):
            raise bad_request(f"Each of {what} is an object {{value}}.")
        parts = {key.lower(): part for key, part in item.items() if isinstance(key, str)}
        ids.append(_text(parts.get("value"), f"{what}.value", 64, required=True))
    return ids


def read_group(body) -> GroupInput:
    if not isinstance(body, dict):
        raise bad_request("The body must be a JSON object.", "invalidSyntax")
    values = lowered(body, GROUP_SCHEMA)
    return GroupInput(
        display_name=_text(values.get("displayname"), "displayName", required=True),
        external_id=_text(values.get("externalid"), "externalId", MAX_EXTERNAL_ID),
        members=read_member_ids(values["members"]) if "members" in values else None,
    )


# --- rendering ----------------------------------------------------------------------------------------


def _meta(resource_type: str, resource, location: str) -> dict:
    return {"resourceType": resource_type, "created": resource.created_at.isoformat(),
            "lastModified": resource.updated_at.isoformat(), "location": location,
            "version": f'W/"{resource.version}"'}


def user_document(principal, *, base_url: str, groups: list[dict]) -> dict:
    resource = principal.scim_resource
    stored = resource.attributes or {}
    location = f"{base_url}/Users/{principal.object_id}"
    document = {"schemas": [USER_SCHEMA], "id": str(principal.object_id)}
    if principal.external_id:
        document["externalId"] = principal.external_id
    document["userName"] = principal.user.username
    for key in ("name", "displayName", "emails"):
        if stored.get(key):
            document[key] = stored[key]
    if not stored.get("activeUnset"):
        document["active"] = principal.user.is_active
    if groups:
        document["groups"] = [{"value": group["value"], "$ref": f"{base_url}/Groups/{group['value']}",
                               "display": group["display"]} for group in groups]
    document["meta"] = _meta("User", resource, location)
    return document


def group_document(principal, *, base_url: str, members: list[dict] | None, member_display: bool = False) -> dict:
    location = f"{base_url}/Groups/{principal.object_id}"
    document = {"schemas": [GROUP_SCHEMA], "id": str(principal.object_id)}
    if principal.external_id:
        document["externalId"] = principal.external_id
    document["displayName"] = principal.display_name
    if members:
        document["members"] = [{"value": member["value"], "$ref": f"{base_url}/Users/{member['value']}",
                                **({"display": member["display"]} if member_display else {})} for member in members]
    document["meta"] = _meta("Group", principal.scim_resource, location)
    return document


ALWAYS_RETURNED = {"schemas", "id", "meta"}


def _split(names: list[str], schema: str) -> dict[str, set[str] | None]:
    """{"name": {"givenname"}, "emails": None (all of it)}."""
    wanted: dict[str, set[str] | None] = {}
    for raw in names:
        name = _canonical(raw.strip(), schema)
        if not name:
            continue
        top, _, sub = name.partition(".")
        if sub and wanted.get(top, set()) is not None:
            wanted.setdefault(top, set()).add(sub)
        else:
            wanted[top] = None
    return wanted


def project(document: dict, *, schema: str, attributes: list[str], excluded: list[str]) -> dict:
    """Apply `attributes` (only these, plus id/schemas/meta) or `excludedAttributes` (all but these)."""
    if attributes:
        wanted = _split(attributes, schema)
        result = {}
        for key, value in document.items():
            lower = key.lower()
            if key in ALWAYS_RETURNED:
                result[key] = value
            elif lower in wanted:
                subs = wanted[lower]
                if subs is None:
                    result[key] = value
                elif isinstance(value, dict):
                    result[key] = {k: v for k, v in value.items() if k.lower() in subs}
                elif isinstance(value, list):
                    result[key] = [{k: v for k, v in item.items() if k.lower() in subs} for item in value]
        return result
    if excluded:
        unwanted = _split(excluded, schema)
        result = {}
        for key, value in document.items():
            lower = key.lower()
            if key in ALWAYS_RETURNED or lower not in unwanted:
                result[key] = value
            elif unwanted[lower] is not None:
                subs = unwanted[lower]
                if isinstance(value, dict):
                    result[key] = {k: v for k, v in value.items() if k.lower() not in subs}
                elif isinstance(value, list):
                    result[key] = [{k: v for k, v in item.items() if k.lower() not in subs} for item in value]
        return result
    return document
