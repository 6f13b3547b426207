"""SCIM errors (RFC 7644 §3.12): a status, an optional `scimType` keyword and a detail for people."""

from scim2_models import Error


class ScimError(Exception):
    def __init__(self, status: int, detail: str, scim_type: str | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type

    def body(self) -> dict:
        return Error(status=self.status, scim_type=self.scim_type, detail=self.detail).model_dump()


def bad_request(detail: str, scim_type: str = "invalidValue") -> ScimError:
    return ScimError(400, detail, scim_type)


def uniqueness(detail: str) -> ScimError:
    return ScimError(409, detail, "uniqueness")


def not_found(detail: str = "No such resource.") -> ScimError:
    return ScimError(404, detail)
