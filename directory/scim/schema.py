"""What the SCIM service provider publishes about itself (RFC 7643 §5-§7): its configuration, its
two resource types and the attributes it stores. Attributes a client sends that are not listed here
(an enterprise extension, phone numbers, addresses, …) are accepted and ignored, as Entra ID and Okta
expect of a service provider that does not keep them; listed attributes round-trip exactly.
"""

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

MAX_RESULTS = 200  # the largest page a list answers (`count` above it is lowered to it)
DEFAULT_COUNT = 100


def _attribute(name: str, type_: str = "string", *, required: bool = False, multi: bool = False,
               mutability: str = "readWrite", uniqueness: str = "none", case_exact: bool = False,
               description: str = "", sub_attributes: list[dict] | None = None, returned: str = "default",
               reference_types: list[str] | None = None, canonical: list[str] | None = None) -> dict:
    attribute = {"name": name, "type": type_, "multiValued": multi, "description": description or name,
                 "required": required, "caseExact": case_exact, "mutability": mutability, "returned": returned,
                 "uniqueness": uniqueness}
    if sub_attributes is not None:
        attribute["subAttributes"] = sub_attributes
    if reference_types is not None:
        attribute["referenceTypes"] = reference_types
    if canonical is not None:
        attribute["canonicalValues"] = canonical
    return attribute


USER_ATTRIBUTES = [
    _attribute("userName", required=True, uniqueness="server",
               description="Unique identifier for the user, used to sign in (e.g. the userPrincipalName)."),
    _attribute("name", "complex", description="The components of the user's name.", sub_attributes=[
        _attribute("formatted", description="The full name."),
        _attribute("familyName", description="The family name."),
        _attribute("givenName", description="The given name."),
    ]),
    _attribute("displayName", description="The name shown in the portal."),
    _attribute("emails", "complex", multi=True, description="Email addresses; the primary one is the portal's.",
               sub_attributes=[
                   _attribute("value", description="The address."),
                   _attribute("type", description="work, home or other.", canonical=["work", "home", "other"]),
                   _attribute("primary", "boolean", description="The preferred address."),
               ]),
    _attribute("active", "boolean", description="False disables the user and ends every role they hold."),
    _attribute("groups", "complex", multi=True, mutability="readOnly",
               description="The groups this client made the user a member of.", sub_attributes=[
                   _attribute("value", mutability="readOnly", description="The group's id."),
                   _attribute("$ref", "reference", mutability="readOnly", reference_types=["Group"],
                              description="The group's URI."),
                   _attribute("display", mutability="readOnly", description="The group's displayName."),
               ]),
]

GROUP_ATTRIBUTES = [
    _attribute("displayName", required=True, description="The group's name."),
    _attribute("members", "complex", multi=True,
               description="Users who are static members (a permanent active Member assignment from the directory).",
               sub_attributes=[
                   _attribute("value", mutability="immutable", description="The member's id."),
                   _attribute("$ref", "reference", mutability="immutable", reference_types=["User"],
                              description="The member's URI."),
                   # Returned when asked for (`attributes=members.display`): a client compares the members it
                   # wrote with those it reads back, and never wrote this one.
                   _attribute("display", mutability="readOnly", returned="request",
                              description="The member's displayName."),
               ]),
]

SCHEMAS = {
    USER_SCHEMA: {"id": USER_SCHEMA, "name": "User", "description": "User Account", "attributes": USER_ATTRIBUTES},
    GROUP_SCHEMA: {"id": GROUP_SCHEMA, "name": "Group", "description": "Group", "attributes": GROUP_ATTRIBUTES},
}

RESOURCE_TYPES = {
    "User": {"id": "User", "name": "User", "endpoint": "/Users", "description": "User Account",
             "schema": USER_SCHEMA, "schemaExtensions": []},
    "Group": {"id": "Group", "name": "Group", "endpoint": "/Groups", "description": "Group",
              "schema": GROUP_SCHEMA, "schemaExtensions": []},
}


def schema_document(schema_id: str, base_url: str) -> dict:
    document = SCHEMAS[schema_id]
    return {"schemas": [SCHEMA_SCHEMA], **document,
            "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{schema_id}"}}


def resource_type_document(name: str, base_url: str) -> dict:
    return {"schemas": [RESOURCE_TYPE_SCHEMA], **RESOURCE_TYPES[name],
            "meta": {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/{name}"}}


def service_provider_config(base_url: str) -> dict:
    return {
        "schemas": [SPC_SCHEMA],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [{
            "type": "oauthbearertoken", "name": "Bearer token", "primary": True,
            "description": "Authorization: Bearer scim_<prefix>_<secret>, a token issued on the portal's "
                           "SCIM clients page.",
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{base_url}/ServiceProviderConfig"},
    }
