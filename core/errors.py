"""The one domain error type. Views turn it into a form error or a message; the API into 400/403/404/409."""

from collections.abc import Iterator
from contextlib import contextmanager


class DomainError(Exception):
    """A refused change, with a message a person understands and a code for machines.

    code: "invalid" (400), "forbidden" (403), "not_found" (404), "conflict" (409).
    `field` names the input at fault (None: the whole change). A validation that found several
    mistakes in one submission raises one error carrying all of them in `errors`
    ({field or None: [messages]}); `message` and `field` are then the first one's, for callers that
    show only one.
    """

    http_status = {"invalid": 400, "forbidden": 403, "not_found": 404, "conflict": 409}

    def __init__(self, message: str, *, code: str = "invalid", field: str | None = None,
                 errors: dict[str | None, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        self.errors: dict[str | None, list[str]] = errors or {field: [message]}

    @property
    def status(self) -> int:
        return self.http_status.get(self.code, 400)

    def field_errors(self) -> list[tuple[str | None, str]]:
        """Every (field, message) pair, in the order they were found."""
        return [(name, message) for name, messages in self.errors.items() for message in messages]


class FieldErrors:
    """Collects the "invalid" refusals of one submission so that a person sees every mistake at once:

        found = FieldErrors()
        with found.check():
            check_a(...)
        with found.check():
            check_b(...)
        found.raise_if_any()

    Refusals of another code (forbidden, conflict) are not about the input: they pass through at once.
    """

    def __init__(self) -> None:
        self.errors: dict[str | None, list[str]] = {}

    def add(self, field: str | None, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    @contextmanager
    def check(self) -> Iterator[None]:
        try:
            yield
        except DomainError as error:
            if error.code != "invalid":
                raise
            for name, message in error.field_errors():
                self.add(name, message)

    def raise_if_any(self) -> None:
        if not self.errors:
            return
        pairs = [(name, message) for name, messages in self.errors.items() for message in messages]
        field, first = pairs[0]
        message = first if len(pairs) == 1 else " ".join(m for _, m in pairs)
        raise DomainError(message, code="invalid", field=field, errors=self.errors)


def forbidden(message: str) -> DomainError:
    return DomainError(message, code="forbidden")


def conflict(message: str) -> DomainError:
    return DomainError(message, code="conflict")


def invalid(message: str, field: str | None = None) -> DomainError:
    return DomainError(message, code="invalid", field=field)


def not_found(message: str) -> DomainError:
    return DomainError(message, code="not_found")


def raise_page_refusal(error: DomainError) -> None:
    """On a page: a forbidden or not-found refusal answers with the portal's 403 or 404 page; any other
    refusal returns, for the caller to show as a form error."""
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    if error.code == "forbidden":
        raise PermissionDenied(error.message)
    if error.code == "not_found":
        raise Http404(error.message)
