"""SCIM `filter` (RFC 7644 §3.4.2.2) translated into ORM conditions, so a list at any size is one
indexed query, never a Python loop over the rows.

The filter is parsed by scim2-models (`ScimFilter(...).ast`); this module walks the tree into a `Q`
on `Principal`. Attributes the portal filters on:

- Users: `id`, `userName`, `externalId`, `displayName`, `emails` / `emails.value` /
  `emails[value …]`, `active`;
- Groups: `id`, `displayName`, `externalId`, `members` / `members.value` / `members[value eq …]`.

Operators: eq, ne, co, sw, ew, pr, gt, ge, lt, le (strings), and, or, not, grouping. Strings compare
case-insensitively except `id` and `externalId` (caseExact in RFC 7643). Anything else is a 400
`invalidFilter`, never a silently wrong answer.
"""

import uuid

from django.db.models import F, Q
from django.db.models.functions import Lower
from scim2_models import SCIMException, ScimFilter
from scim2_models.path.expressions import (
    AttrPath,
    CompareOperator,
    Comparison,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)

from assignments.models import Assignment, RoleDefinition

from .errors import bad_request
from .schema import GROUP_SCHEMA, USER_SCHEMA

MAX_FILTER_LENGTH = 4096
MAX_DEPTH = 32

_STRING_LOOKUPS_CI = {CompareOperator.eq: "iexact", CompareOperator.co: "icontains", CompareOperator.sw: "istartswith",
                      CompareOperator.ew: "iendswith", CompareOperator.gt: "gt", CompareOperator.ge: "gte",
                      CompareOperator.lt: "lt", CompareOperator.le: "lte"}
_STRING_LOOKUPS_CE = {CompareOperator.eq: "exact", CompareOperator.co: "contains", CompareOperator.sw: "startswith",
                      CompareOperator.ew: "endswith", CompareOperator.gt: "gt", CompareOperator.ge: "gte",
                      CompareOperator.lt: "lt", CompareOperator.le: "lte"}


def _invalid(detail: str):
    return bad_request(detail, "invalidFilter")


def _name(path: AttrPath, schema: str) -> str:
    if path.uri and path.uri.lower() != schema.lower():
        raise _invalid(f"The filter names {path}, from a schema this resource does not have.")
    return path.attr.lower() + (f".{path.sub_attr.lower()}" if path.sub_attr else "")


def _string(value, path) -> str:
    if not isinstance(value, str):
        raise _invalid(f"{path} compares with a string, not {value!r}.")
    return value


def _string_condition(field: str, op: CompareOperator, value, path, *, case_exact: bool = False) -> Q:
    value = _string(value, path)
    if op == CompareOperator.ne:
        return ~_string_condition(field, CompareOperator.eq, value, path, case_exact=case_exact)
    lookups = _STRING_LOOKUPS_CE if case_exact else _STRING_LOOKUPS_CI
    return Q(**{f"{field}__{lookups[op]}": value})


def _id_condition(op: CompareOperator, value, path) -> Q:
    value = _string(value, path)
    if op not in (CompareOperator.eq, CompareOperator.ne):
        raise _invalid("An id is compared with eq or ne only.")
    try:
        condition = Q(object_id=uuid.UUID(value))
    except ValueError:
        condition = Q(pk__in=[])  # not an id the portal ever gave: matches nothing
    return ~condition if op == CompareOperator.ne else condition


def _emails_condition(op: CompareOperator, value, path) -> Q:
    """`emails_index` is "\\n" + each lower-cased address + "\\n"."""
    value = _string(value, path).lower().replace("\n", "")
    patterns = {CompareOperator.eq: f"\n{value}\n", CompareOperator.co: value, CompareOperator.sw: f"\n{value}",
                CompareOperator.ew: f"{value}\n"}
    if op == CompareOperator.ne:
        return ~Q(scim_resource__emails_index__contains=f"\n{value}\n")
    if op not in patterns:
        raise _invalid("emails are compared with eq, ne, co, sw or ew.")
    return Q(scim_resource__emails_index__contains=patterns[op])


def _members_condition(op: CompareOperator, value, path) -> Q:
    value = _string(value, path)
    if op not in (CompareOperator.eq, CompareOperator.ne):
        raise _invalid("members are compared with eq or ne only.")
    try:
        member_id = uuid.UUID(value)
    except ValueError:
        condition = Q(pk__in=[])
    else:
        condition = Q(pk__in=Assignment.objects.filter(
            role__slug=RoleDefinition.GROUP_MEMBER, kind=Assignment.Kind.ACTIVE, status=Assignment.Status.LIVE,
            origin=Assignment.Origin.DIRECTORY, principal__object_id=member_id).values("scope__group_id"))
    return ~condition if op == CompareOperator.ne else condition


def _bool_condition(field: str, op: CompareOperator, value, path) -> Q:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"
    if not isinstance(value, bool) or op not in (CompareOperator.eq, CompareOperator.ne):
        raise _invalid(f"{path} is a boolean: compare it with eq true or eq false.")
    return Q(**{field: value if op == CompareOperator.eq else not value})


class _Translator:
    def __init__(self, resource: str):
        self.resource = resource
        self.schema = USER_SCHEMA if resource == "User" else GROUP_SCHEMA

    def node(self, node, depth: int = 0) -> Q:
        if depth > MAX_DEPTH:
            raise _invalid("The filter is nested too deeply.")
        if isinstance(node, LogicalExpr):
            terms = [self.node(term, depth + 1) for term in node.terms]
            combined = terms[0]
            for term in terms[1:]:
                combined = (combined & term) if node.op == LogicalOperator.and_ else (combined | term)
            return combined
        if isinstance(node, Not):
            return ~self.node(node.expr, depth + 1)
        if isinstance(node, Present):
            return self.present(node.attr_path)
        if isinstance(node, Comparison):
            return self.compare(node.attr_path, node.op, node.value)
        if isinstance(node, ValuePath):
            return self.value_path(node, depth)
        raise _invalid(f"The portal does not filter on {node}.")

    def present(self, path: AttrPath) -> Q:
        name = _name(path, self.schema)
        if name in ("id", "username", "displayname", "active", "meta"):
            return Q()
        if name == "externalid":
            return ~Q(external_id="")
        if self.resource == "User" and name in ("emails", "emails.value"):
            return ~Q(scim_resource__emails_index="")
        if self.resource == "Group" and name in ("members", "members.value"):
            return Q(pk__in=Assignment.objects.filter(
                role__slug=RoleDefinition.GROUP_MEMBER, kind=Assignment.Kind.ACTIVE, status=Assignment.Status.LIVE,
                origin=Assignment.Origin.DIRECTORY).values("scope__group_id"))
        raise _invalid(f"The portal does not filter on {path}.")

    def compare(self, path: AttrPath, op: CompareOperator, value) -> Q:
        name = _name(path, self.schema)
        if name == "id":
            return _id_condition(op, value, path)
        if name == "externalid":
            return _string_condition("external_id", op, value, path, case_exact=True)
        if name == "displayname":
            return _string_condition("display_name", op, value, path)
        if self.resource == "User":
            if name == "username":
                return _string_condition("user__username", op, value, path)
            if name in ("emails", "emails.value"):
                return _emails_condition(op, value, path)
            if name == "active":
                return _bool_condition("enabled", op, value, path)
        elif name in ("members", "members.value"):
            return _members_condition(op, value, path)
        raise _invalid(f"The portal does not filter on {path}.")

    def value_path(self, node: ValuePath, depth: int) -> Q:
        """`emails[value co "x"]`, `members[value eq "id"]`: only `value` is filterable inside."""
        outer = _name(node.attr_path, self.schema)
        if (self.resource, outer) not in (("User", "emails"), ("Group", "members")):
            raise _invalid(f"The portal does not filter on {node.attr_path}[…].")

        def inner(sub, level: int) -> Q:
            if level > MAX_DEPTH:
                raise _invalid("The filter is nested too deeply.")
            if isinstance(sub, LogicalExpr):
                terms = [inner(term, level + 1) for term in sub.terms]
                combined = terms[0]
                for term in terms[1:]:
                    combined = (combined & term) if sub.op == LogicalOperator.and_ else (combined | term)
                return combined
            if isinstance(sub, Not):
                return ~inner(sub.expr, level + 1)
            if isinstance(sub, Comparison) and sub.attr_path.attr.lower() == "value" and not sub.attr_path.sub_attr:
                return self.compare(AttrPath(node.attr_path.attr, "value"), sub.op, sub.value)
            raise _invalid(f"Inside {node.attr_path}[…] the portal filters on value only.")

        return inner(node.val_filter, depth + 1)


def filter_condition(*, resource: str, text: str | None) -> Q:
    """The `Q` of a SCIM filter on principals of the resource type ("User" or "Group")."""
    if text is None or not text.strip():
        return Q()
    if len(text) > MAX_FILTER_LENGTH:
        raise _invalid(f"The filter is longer than {MAX_FILTER_LENGTH} characters.")
    if "\x00" in text:
        raise _invalid("The filter contains a NUL character.")
    try:
        tree = ScimFilter(text).ast
    except (SCIMException, ValueError, RecursionError) as error:
        raise _invalid(f"The filter is not valid SCIM: {error}.") from None
    return _Translator(resource).node(tree)


# --- sortBy / sortOrder (RFC 7644 §3.4.2.3) ---------------------------------------------------------------

# Attributes a list sorts by, as ORM expressions on `Principal`; strings that compare case-insensitively
# (caseExact=false) sort case-insensitively too.
_SORTS = {
    "User": {"id": "object_id", "username": Lower("user__username"), "displayname": Lower("display_name"),
             "externalid": "external_id", "meta.created": "scim_resource__created_at",
             "meta.lastmodified": "scim_resource__updated_at", "active": "user__is_active"},
    "Group": {"id": "object_id", "displayname": Lower("display_name"), "externalid": "external_id",
              "meta.created": "scim_resource__created_at", "meta.lastmodified": "scim_resource__updated_at"},
}


def sort_ordering(*, resource: str, sort_by: str | None, sort_order: str | None) -> list:
    """The ORDER BY of a list: by `sort_by` (ascending unless `sort_order` is "descending"), then
    creation order, so that paging is stable; creation order alone without `sort_by`. An attribute
    this resource cannot sort by, or another order, is a 400 (never a silently unsorted answer)."""
    default = ["scim_resource__created_at", "pk"]
    if sort_by is None or sort_by == "":
        return default
    if not isinstance(sort_by, str) or (sort_order is not None and not isinstance(sort_order, str)):
        raise bad_request("sortBy and sortOrder are strings.")
    order = (sort_order or "ascending").strip().lower()
    if order not in ("ascending", "descending"):
        raise bad_request(f"sortOrder is ascending or descending, not {sort_order!r}.")
    name = sort_by.strip()
    schema = USER_SCHEMA if resource == "User" else GROUP_SCHEMA
    if name.lower().startswith(schema.lower() + ":"):
        name = name[len(schema) + 1:]
    expression = _SORTS[resource].get(name.lower())
    if expression is None:
        choices = ", ".join(sorted(_SORTS[resource]))
        raise bad_request(f"{resource} lists sort by {choices}; not by {sort_by}.")
    field = F(expression) if isinstance(expression, str) else expression
    first = field.desc(nulls_last=True) if order == "descending" else field.asc(nulls_first=True)
    return [first, *default]
