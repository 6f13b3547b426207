"""The connector types a target can have. A new type implements `base.ConnectorKind` / `base.Session`
and is listed here."""

from .base import ConnectorError, ConnectorKind, ConnectorRefused, ConnectorUnavailable, Holder, Session
from .ldap import LDAP
from .postgresql import POSTGRESQL
from .scim import SCIM
from .webhook import WEBHOOK

KINDS: dict[str, ConnectorKind] = {kind.key: kind for kind in (LDAP, POSTGRESQL, SCIM, WEBHOOK)}

__all__ = ["KINDS", "ConnectorError", "ConnectorKind", "ConnectorRefused", "ConnectorUnavailable", "Holder",
           "Session"]
