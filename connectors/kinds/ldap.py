"""LDAP / Active Directory groups (ldap3, pure Python).

A mapping's grant is a group DN; granting adds the user's DN to the group's member attribute (`member`
for groupOfNames and AD groups, `uniqueMember` for groupOfUniqueNames), revoking deletes it. The user's
DN comes from a template (`uid={username},ou=people,dc=example,dc=org`) or, for Active Directory where
DNs carry the display name, from a search (`sAMAccountName={username}` under a base).

LDAP result codes are mapped so that the relay does the right thing: "value exists" on add and "no
such attribute" on delete mean the effect already holds (idempotent); invalid credentials, no such
object (unknown group), insufficient access and object-class violations are refusals; busy, unavailable
and network errors are retried.
"""

from collections.abc import Iterable

from core.errors import FieldErrors, invalid

from .base import ConfigField, ConnectorKind, ConnectorRefused, ConnectorUnavailable, Holder, Session

ALREADY = {20: "already a member", 16: "was not a member"}  # attributeOrValueExists, noSuchAttribute
RETRYABLE = {3, 11, 51, 52, 80}  # timeLimitExceeded, adminLimitExceeded, busy, unavailable, other
REASONS = {
    32: "no such object (check the group DN)",
    49: "invalid credentials (check the bind DN and password)",
    50: "insufficient access rights (the bind DN may not change this group)",
    53: "the server is unwilling to perform the change",
    65: "object class violation (a groupOfNames cannot lose its last member: keep a placeholder member)",
    21: "invalid attribute syntax (is the member DN well formed?)",
    34: "invalid DN syntax",
}


def normalise_dn(dn: str) -> str:
    """DNs compare case-insensitively and without spaces around separators."""
    from ldap3.core.exceptions import LDAPInvalidDnError
    from ldap3.utils.dn import safe_dn

    try:
        return safe_dn(dn).lower()
    except (LDAPInvalidDnError, ValueError, TypeError):
        return ",".join(part.strip() for part in dn.split(",")).lower()


class LdapSession(Session):
    def __init__(self, *, config: dict, secret: str):
        self.config = config
        self.secret = secret
        self.conn = None
        self._usernames: dict[str, str] | None = None

    # --- connection ---------------------------------------------------------------------------------

    def _connect(self):
        if self.conn is not None:
            return self.conn
        from ldap3 import NONE, Connection, Server
        from ldap3.core.exceptions import LDAPException

        timeout = self.config.get("timeout_seconds") or 10
        try:
            server = Server(self.config["server_url"], get_info=NONE, connect_timeout=timeout)
            conn = Connection(server, user=self.config.get("bind_dn") or None, password=self.secret or None,
                              raise_exceptions=False, receive_timeout=timeout, auto_referrals=False)
            conn.open()  # raises LDAPSocketOpenError when nothing answers
            if self.config.get("start_tls") and not conn.start_tls():
                raise ConnectorRefused(f"StartTLS failed: {conn.result.get('description')}")
            if not conn.bind():
                self._raise(conn.result, "bind")
        except LDAPException as error:
            raise ConnectorUnavailable(f"Could not connect to {self.config['server_url']}: {error}") from error
        self.conn = conn
        return conn

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.unbind()
            except Exception:  # noqa: BLE001, S110 — closing a broken connection; nothing to keep
                pass
            self.conn = None

    def _raise(self, result: dict, what: str):
        code = result.get("result")
        description = result.get("description") or ""
        message = result.get("message") or ""
        reason = REASONS.get(code, description)
        text = f"LDAP {what} failed: {reason}" + (f" — {message}" if message else "") + f" (result {code})"
        if code in RETRYABLE or code is None:
            raise ConnectorUnavailable(text)
        raise ConnectorRefused(text)

    def _call(self, what: str, fn, *args, **kwargs):
        from ldap3.core.exceptions import LDAPException

        conn = self._connect()
        try:
            ok = fn(conn, *args, **kwargs)
        except LDAPException as error:
            self.close()
            raise ConnectorUnavailable(f"LDAP {what} failed: {error}") from error
        return ok, conn.result

    # --- the interface ------------------------------------------------------------------------------

    def test(self) -> str:
        conn = self._connect()
        who = conn.extend.standard.who_am_i() if self.config.get("bind_dn") else "anonymous"
        return f"Bound to {self.config['server_url']} as {who or self.config.get('bind_dn')}."

    def check_grant(self, grant: str) -> str:
        from ldap3 import BASE

        ok, result = self._call("read", lambda c: c.search(grant, "(objectClass=*)", search_scope=BASE,
                                                           attributes=["objectClass"]))
        if not ok:
            self._raise(result, f"read of {grant}")
        classes = {str(v).lower() for v in self.conn.entries[0].objectClass.values} if self.conn.entries else set()
        attribute = self.config["member_attribute"]
        if attribute.lower() == "uniquemember" and "groupofuniquenames" not in classes:
            raise ConnectorRefused(f"{grant} is not a groupOfUniqueNames "
                                   f"(object classes: {', '.join(sorted(classes))}).")
        if attribute.lower() == "member" and not classes & {"groupofnames", "group"}:
            raise ConnectorRefused(f"{grant} is not a group (object classes: {', '.join(sorted(classes))}).")
        return f"{grant} exists."

    def account_for(self, username: str) -> str:
        from ldap3.utils.conv import escape_filter_chars
        from ldap3.utils.dn import escape_rdn

        template = self.config.get("user_dn_template")
        if template:
            return template.replace("{username}", escape_rdn(username))
        attribute = self.config["user_attribute"]
        ok, result = self._call("user search", lambda c: c.search(
            self.config["user_search_base"], f"({attribute}={escape_filter_chars(username)})", attributes=[]))
        if not ok and result.get("result") != 0:
            if result.get("result") == 32:
                raise ConnectorRefused(f"User search base {self.config['user_search_base']} does not exist.")
            if result.get("description") != "success":
                self._raise(result, "user search")
        entries = list(self.conn.response or [])
        dns = [e["dn"] for e in entries if e.get("type") == "searchResEntry"]
        if not dns:
            raise ConnectorRefused(f"No LDAP account with {attribute}={username} "
                                   f"under {self.config['user_search_base']}.")
        if len(dns) > 1:
            raise ConnectorRefused(f"{len(dns)} LDAP accounts have {attribute}={username}: refusing to guess.")
        return dns[0]

    def grant(self, *, account: str, grant: str, options: dict) -> str:
        from ldap3 import MODIFY_ADD

        change = {self.config["member_attribute"]: [(MODIFY_ADD, [account])]}
        ok, result = self._call("add", lambda c: c.modify(grant, change))
        if ok:
            return f"added {account} to {grant}"
        if result.get("result") == 20:
            return f"{account} already a member of {grant}"
        self._raise(result, f"add of {account} to {grant}")

    def revoke(self, *, account: str, grant: str, options: dict) -> str:
        from ldap3 import MODIFY_DELETE

        change = {self.config["member_attribute"]: [(MODIFY_DELETE, [account])]}
        ok, result = self._call("remove", lambda c: c.modify(grant, change))
        if ok:
            return f"removed {account} from {grant}"
        if result.get("result") == 16:
            return f"{account} was not a member of {grant}"
        self._raise(result, f"removal of {account} from {grant}")

    def holders(self, grant: str) -> Iterable[Holder]:
        from ldap3 import BASE

        attribute = self.config["member_attribute"]
        ok, result = self._call("read", lambda c: c.search(grant, "(objectClass=*)", search_scope=BASE,
                                                           attributes=[attribute]))
        if not ok:
            self._raise(result, f"read of {grant}")
        response = [e for e in (self.conn.response or []) if e.get("type") == "searchResEntry"]
        members = []
        for entry in response:
            for key, values in (entry.get("raw_attributes") or {}).items():
                if key.lower() == attribute.lower():
                    members.extend(v.decode() if isinstance(v, bytes) else str(v) for v in values)
        ignored = {normalise_dn(dn) for dn in self.config.get("ignored_members") or []}
        return [Holder(account=dn, username=self.username_of(dn)) for dn in members if normalise_dn(dn) not in ignored]

    def username_of(self, dn: str) -> str | None:
        """The PIM username of a member DN, or None. Template: read it out of the DN; search: the
        account's naming attribute (all accounts under the base, read once per session)."""
        template = self.config.get("user_dn_template")
        if template:
            prefix, _, suffix = template.partition("{username}")
            prefix_n, suffix_n = prefix.lower(), suffix.lower()
            text = dn.strip()
            if (text.lower().startswith(prefix_n) and text.lower().endswith(suffix_n)
                    and len(text) >= len(prefix) + len(suffix)):
                middle = text[len(prefix): len(text) - len(suffix)]
                if "," not in middle.replace("\\,", ""):
                    return middle.replace("\\", "")
            return None
        if self._usernames is None:
            from ldap3 import SUBTREE

            attribute = self.config["user_attribute"]
            conn = self._connect()
            entries = conn.extend.standard.paged_search(self.config["user_search_base"], f"({attribute}=*)",
                                                        search_scope=SUBTREE, attributes=[attribute],
                                                        paged_size=1000, generator=True)
            usernames = {}
            for entry in entries:
                if entry.get("type") != "searchResEntry":
                    continue
                values = (entry.get("attributes") or {}).get(attribute)
                value = values[0] if isinstance(values, list) and values else values
                if value:
                    usernames[normalise_dn(entry["dn"])] = str(value)
            self._usernames = usernames
        return self._usernames.get(normalise_dn(dn))


class LdapKind(ConnectorKind):
    def check_config(self, config: dict) -> None:
        found = FieldErrors()
        url = config["server_url"]
        if not (url.startswith("ldap://") or url.startswith("ldaps://")):
            found.add("server_url", "The server URL starts with ldap:// or ldaps://.")
        template = config["user_dn_template"]
        if not template and not (config["user_search_base"] and config["user_attribute"]):
            found.add("user_dn_template", "Give a user DN template, or a search base and the attribute that holds "
                                          "the username.")
        if template and template.count("{username}") != 1:
            found.add("user_dn_template", "The user DN template contains {username} once.")
        if config["member_attribute"].lower() not in {"member", "uniquemember"}:
            found.add("member_attribute", "The member attribute is member or uniqueMember.")
        for name, dn in [("user_dn_template", template.replace("{username}", "x")),
                         ("user_search_base", config["user_search_base"]),
                         *[("ignored_members", dn) for dn in config["ignored_members"]]]:
            if dn and "{username}" not in dn:
                with found.check():
                    _check_dn(dn, field=name)
        found.raise_if_any()

    def clean_grant(self, grant: str) -> str:
        grant = (grant or "").strip()
        _check_dn(grant, field="grant")
        return grant

    def open(self, *, config: dict, secret: str) -> Session:
        return LdapSession(config=config, secret=secret)


def _check_dn(dn: str, *, field: str) -> None:
    from ldap3.core.exceptions import LDAPInvalidDnError
    from ldap3.utils.dn import parse_dn

    try:
        if not dn or not parse_dn(dn):
            raise LDAPInvalidDnError(dn)
    except (LDAPInvalidDnError, ValueError, TypeError):
        raise invalid(f"{dn!r} is not a distinguished name (like cn=DB-Admins,ou=groups,dc=example,dc=org).",
                      field=field) from None


LDAP = LdapKind(
    key="ldap",
    label="LDAP / Active Directory group",
    fields=(
        ConfigField("server_url", "Server URL", "ldap://ldap.example.org:389 or ldaps://dc1.example.org:636"),
        ConfigField("bind_dn", "Bind DN", "The account the portal binds as; it must be allowed to write the "
                    "member attribute of the mapped groups.", required=False),
        ConfigField("start_tls", "StartTLS", "Upgrade an ldap:// connection with StartTLS.", required=False,
                    kind="bool", default=False),
        ConfigField("user_dn_template", "User DN template", "uid={username},ou=people,dc=example,dc=org — or "
                    "leave empty and search (Active Directory).", required=False),
        ConfigField("user_search_base", "User search base", "ou=Users,dc=corp,dc=example (search mode)",
                    required=False),
        ConfigField("user_attribute", "Username attribute", "sAMAccountName or uid (search mode)", required=False,
                    default="uid"),
        ConfigField("member_attribute", "Member attribute", "member (groupOfNames, AD) or uniqueMember",
                    default="member"),
        ConfigField("ignored_members", "Ignored members", "DNs reconciliation ignores (one per line), e.g. the "
                    "placeholder member a groupOfNames needs.", required=False, kind="list", default=[]),
        ConfigField("timeout_seconds", "Timeout (seconds)", required=False, kind="int", default=10),
    ),
    secret_label="Bind password",
    grant_label="Group DN",
    grant_help="cn=DB-Admins,ou=groups,dc=example,dc=org",
)
