"""The connector type interface: what every kind of target implements.

A type validates its configuration and its mappings' grants (on save), and opens a `Session` on a
target, which grants, revokes, lists holders and tests the connection. Every call is idempotent:
granting what is held, or revoking what is not, succeeds and says so — the relay may run an effect a
second time after a worker died between the effect and its acknowledgement.

Errors: `ConnectorUnavailable` (network, timeouts, server busy: retried with backoff) and
`ConnectorRefused` (bad credentials, unknown group or role, a login that does not exist: the target's
configuration must change; permanent for grants, kept retrying for revokes, since an ending is never lost).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from core.errors import FieldErrors, invalid


class ConnectorError(Exception):
    """A target said no or could not be reached; the message is for the people running the portal."""

    permanent = False


class ConnectorUnavailable(ConnectorError):
    """Unreachable, timed out or temporarily failing: try again later."""


class ConnectorRefused(ConnectorError):
    """Refused for a reason that retrying cannot change (credentials, unknown group, missing account)."""

    permanent = True


@dataclass(frozen=True)
class ConfigField:
    name: str
    label: str
    help: str = ""
    required: bool = True
    kind: str = "text"  # text | int | bool | list
    default: object = ""
    choices: tuple[str, ...] = ()  # a list field whose items must be among these (shown as checkboxes)


@dataclass(frozen=True)
class Holder:
    """One account holding a grant in the target: its account name (a DN, a login) and the PIM
    username it corresponds to (None: not an account of a PIM user)."""

    account: str
    username: str | None


class Session:
    """An open connection to one target. Use as a context manager."""

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        pass

    def test(self) -> str:
        """Check the connection and credentials; returns what was checked."""
        raise NotImplementedError

    def check_grant(self, grant: str) -> str:
        """Check that `grant` exists in the target (Test connection of a mapping)."""
        raise NotImplementedError

    def account_for(self, username: str) -> str:
        """The account of the PIM user `username` in the target (raises ConnectorRefused if none)."""
        raise NotImplementedError

    def account_of(self, principal) -> str:
        """The account of a PIM user principal (a type that creates accounts keeps its profile)."""
        return self.account_for(principal.user.username)

    def grant(self, *, account: str, grant: str, options: dict) -> str:
        """Give `grant` to `account`; returns what happened ("added", "already a member")."""
        raise NotImplementedError

    def revoke(self, *, account: str, grant: str, options: dict) -> str:
        """Take `grant` from `account`; returns what happened ("removed", "was not a member")."""
        raise NotImplementedError

    def holders(self, grant: str) -> Iterable[Holder]:
        """Every account holding `grant` now."""
        raise NotImplementedError


@dataclass(frozen=True)
class ConnectorKind:
    """A type of target: its form fields, how to validate them, and how to open a session."""

    key: str
    label: str
    fields: tuple[ConfigField, ...]
    secret_label: str
    grant_label: str
    grant_help: str
    option_fields: tuple[ConfigField, ...] = field(default_factory=tuple)
    # False for a type whose effects are event deliveries (webhooks): it has no mappings, no holders
    # and is not reconciled.
    has_holders: bool = True

    def clean_config(self, config: dict) -> dict:
        """The configuration with only this type's fields, typed; raises DomainError on bad input."""
        found = FieldErrors()
        clean: dict = {}
        for spec in self.fields:
            raw = config.get(spec.name, spec.default)
            with found.check():
                clean[spec.name] = _typed(spec, raw, invalid)
        found.raise_if_any()
        with found.check():
            self.check_config(clean)
        found.raise_if_any()
        return clean

    def clean_options(self, options: dict) -> dict:
        clean = {}
        for spec in self.option_fields:
            clean[spec.name] = _typed(spec, (options or {}).get(spec.name, spec.default), invalid)
        return clean

    def check_config(self, config: dict) -> None:
        """Type-specific rules across fields (raise `core.errors.invalid`)."""

    def clean_grant(self, grant: str) -> str:
        raise NotImplementedError

    def open(self, *, config: dict, secret: str) -> Session:
        raise NotImplementedError


def _typed(spec: ConfigField, raw, invalid):
    if spec.kind == "bool":
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() in {"1", "true", "on", "yes"}:
            return True
        if str(raw).lower() in {"", "0", "false", "off", "no", "none"}:
            return False
        raise invalid(f"{spec.label}: say yes or no.", field=spec.name)
    if spec.kind == "int":
        if raw in (None, "") and not spec.required:
            return spec.default
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise invalid(f"{spec.label}: a whole number.", field=spec.name) from None
    if spec.kind == "list":
        items = raw if isinstance(raw, list) else [line for line in str(raw or "").splitlines()]
        items = [str(item).strip() for item in items if str(item).strip()]
        if spec.choices:
            unknown = sorted({item for item in items if item not in spec.choices})
            if unknown:
                raise invalid(f"{spec.label}: unknown {', '.join(unknown)}.", field=spec.name)
            items = sorted(set(items))
        if spec.required and not items:
            raise invalid(f"{spec.label}: choose at least one." if spec.choices else f"{spec.label} is required.",
                          field=spec.name)
        return items
    value = str(raw if raw is not None else "").strip()
    if spec.required and not value:
        raise invalid(f"{spec.label} is required.", field=spec.name)
    return value
