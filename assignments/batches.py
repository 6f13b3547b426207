"""Assignments as plain rows, for set-based jobs.

A sweep that ends 100,000 assignments cannot afford a model instance per row (building one costs more
than everything else the sweep does for it), so it reads tuples and hands its subscribers an
`AssignmentBatch`: the rows, plus the few principals, roles and scopes they name, each loaded once per
batch. A subscriber that only knows single events gets models from `AssignmentBatch.models()`.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from .models import Assignment, Principal, RoleDefinition, Scope


class AssignmentRow(NamedTuple):
    """The columns of an assignment that its notices and audit event need. Field names match the
    model's attributes, so code that reads these attributes takes either."""

    pk: int
    principal_id: int
    role_id: int
    scope_id: int
    kind: str
    status: str
    end_reason: str
    activated_from_id: int | None
    start_at: datetime
    end_at: datetime | None
    ended_at: datetime | None
    justification: str
    ticket_system: str
    ticket_number: str
    origin: str = Assignment.Origin.PIM


class PrincipalRow(NamedTuple):
    """A principal's label and what deciding its email address needs (one query per batch)."""

    pk: int
    kind: str
    display_name: str
    email: str
    user_email: str | None
    user_active: bool | None
    user_emergency: bool | None
    enabled: bool


# The columns of `PrincipalRow` after `pk`, as lookups from a principal.
PRINCIPAL_COLUMNS = ("kind", "display_name", "email", "user__email", "user__is_active", "user__is_emergency_access",
                     "enabled")


def principal_rows(ids) -> dict[int, PrincipalRow]:
    return {row[0]: PrincipalRow._make(row)
            for row in Principal.objects.filter(pk__in=ids).values_list("pk", *PRINCIPAL_COLUMNS)}


def principal_row_of(principal: Principal) -> PrincipalRow | None:
    """The row of a principal already loaded with its user (a user principal's user is in the
    instance's cache), without a query; None when building it would take one."""
    user = None
    if principal.user_id is not None:
        if not Principal.user.is_cached(principal):
            return None
        user = principal.user
    return PrincipalRow(principal.pk, principal.kind, principal.display_name, principal.email,
                        user.email if user else None, user.is_active if user else None,
                        user.is_emergency_access if user else None, principal.enabled)


@dataclass
class AssignmentBatch:
    """Assignments that changed together in one transaction, at `at`."""

    at: datetime
    rows: list[AssignmentRow]
    principals: dict[int, PrincipalRow]
    roles: dict[int, RoleDefinition]
    scopes: dict[int, Scope]

    @classmethod
    def load(cls, *, at: datetime, rows: list[AssignmentRow],
             principals: dict[int, PrincipalRow]) -> "AssignmentBatch":
        """Two queries (roles, scopes) whatever the number of rows; the caller read the principals
        with the rows."""
        return cls(at=at, rows=rows, principals=principals,
                   roles=RoleDefinition.objects.in_bulk({row.role_id for row in rows}),
                   scopes=Scope.objects.in_bulk({row.scope_id for row in rows}))

    def label(self, row: AssignmentRow) -> str:
        """What `str(assignment)` gives, without the model."""
        return Assignment.label_of(principal=self.principals[row.principal_id].display_name,
                                   role=self.roles[row.role_id].name, scope=self.scopes[row.scope_id].path,
                                   kind=row.kind)

    def models(self) -> Iterator[Assignment]:
        """The rows as model instances, read in this transaction with principal, role and scope (for
        subscribers that handle one event at a time; slow, so only they pay for it)."""
        by_pk = Assignment.objects.select_related("principal", "role", "scope").in_bulk([row.pk for row in self.rows])
        for row in self.rows:
            yield by_pk[row.pk]
