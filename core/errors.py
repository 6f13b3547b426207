"""The one domain error type. Views turn it into a form error or a message; the API into 400/403/404/409."""


class DomainError(Exception):
    """A refused change, with a message a person understands and a code for machines.

    code: "invalid" (400), "forbidden" (403), "not_found" (404), "conflict" (409).
    """

    http_status = {"invalid": 400, "forbidden": 403, "not_found": 404, "conflict": 409}

    def __init__(self, message: str, *, code: str = "invalid", field: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field

    @property
    def status(self) -> int:
        return self.http_status.get(self.code, 400)


def forbidden(message: str) -> DomainError:
    return DomainError(message, code="forbidden")


def conflict(message: str) -> DomainError:
    return DomainError(message, code="conflict")


def invalid(message: str, field: str | None = None) -> DomainError:
    return DomainError(message, code="invalid", field=field)


def not_found(message: str) -> DomainError:
    return DomainError(message, code="not_found")
