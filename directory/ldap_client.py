"""Reading an LDAP directory (Active Directory, OpenLDAP) or an LDIF export of one, into the users and
groups the sync applies. Reads only: nothing here writes to the database.

The server is read with ldap3 (pure Python) over LDAP, LDAPS or LDAP + StartTLS, certificates always
verified (against the source's CA certificate when it has one), with the simple paged results control
(RFC 2696) so that directories larger than the server's size limit are read whole. Every search of a
run happens before anything is applied: a server that fails half-way leaves nothing half-done.

An LDIF file (RFC 2849 content records, as `ldapsearch -L` or `ldifde` write them) goes through the same
mapping: its entries are scoped by the source's base DNs and matched against its user and group filters
by a small RFC 4515 filter evaluator (equality, presence, substrings, >=, <=, and, or, not, and Active
Directory's bitwise matching rules).
"""

import base64
import re
import ssl
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import ldap3
from ldap3.core.exceptions import LDAPException

from .models import DirectorySource
from .services import UserRecord

PAGED_RESULTS_OID = "1.2.840.113556.1.4.319"
MAX_PROBLEMS = 100
MAX_LDIF_BYTES = 100 * 1024 * 1024

# The attribute mapping of each preset, as the source form fills it in.
PRESETS: dict[str, dict[str, str]] = {
    DirectorySource.Preset.ACTIVE_DIRECTORY: {
        "user_filter": "(&(objectClass=user)(objectCategory=person))",
        "group_filter": "(objectClass=group)",
        "user_id_attribute": "objectGUID",
        "username_attribute": "sAMAccountName",
        "email_attribute": "mail",
        "email_fallback_attribute": "userPrincipalName",
        "display_name_attribute": "displayName",
        "group_id_attribute": "objectGUID",
        "group_name_attribute": "cn",
        "member_attribute": "member",
        "disabled_attribute": "userAccountControl",
        "disabled_mode": DirectorySource.DisabledMode.BITMASK,
        "disabled_value": "2",
        "change_attribute": DirectorySource.ChangeAttribute.USN_CHANGED,
    },
    DirectorySource.Preset.OPENLDAP: {
        "user_filter": "(objectClass=inetOrgPerson)",
        "group_filter": "(objectClass=groupOfNames)",
        "user_id_attribute": "entryUUID",
        "username_attribute": "uid",
        "email_attribute": "mail",
        "email_fallback_attribute": "",
        "display_name_attribute": "cn",
        "group_id_attribute": "entryUUID",
        "group_name_attribute": "cn",
        "member_attribute": "member",
        "disabled_attribute": "",
        "disabled_mode": DirectorySource.DisabledMode.NONE,
        "disabled_value": "",
        "change_attribute": DirectorySource.ChangeAttribute.MODIFY_TIMESTAMP,
    },
}


class LdapReadError(Exception):
    """The directory could not be read (connection, TLS, bind, search, a bad file): nothing is applied."""


def dn_key(dn: str) -> str:
    """A DN compared as directories compare them: case-insensitive, no spaces around separators."""
    return re.sub(r"\s*([,=+])\s*", r"\1", (dn or "").strip()).lower()


@dataclass(frozen=True)
class Entry:
    """One directory entry: its DN and its attributes (names lower-cased, values as bytes)."""

    dn: str
    attributes: dict[str, list[bytes]]

    def raw(self, name: str) -> list[bytes]:
        return self.attributes.get(name.lower(), []) if name else []

    def text(self, name: str) -> list[str]:
        return [value.decode("utf-8", errors="replace") for value in self.raw(name)]

    def first(self, name: str) -> str:
        values = self.text(name)
        return values[0].strip() if values else ""

    def identifier(self, name: str) -> str:
        """A stable id: objectGUID (16 bytes, little-endian GUID) as its canonical string, else text."""
        values = self.raw(name)
        if not values:
            return ""
        value = values[0]
        if len(value) == 16 and name.lower() in ("objectguid", "msds-consistencyguid"):
            return str(uuid.UUID(bytes_le=value))
        try:
            return value.decode("utf-8").strip()
        except UnicodeDecodeError:
            return value.hex()


@dataclass(frozen=True)
class UserEntry:
    dn: str
    record: UserRecord


@dataclass(frozen=True)
class GroupEntry:
    dn: str
    external_id: str
    name: str
    member_dns: tuple[str, ...]


@dataclass
class DirectoryRead:
    """What one read found: users, groups, the entries it skipped (and why), and the highest change
    marker it saw (the next incremental run's watermark)."""

    users: list[UserEntry] = field(default_factory=list)
    groups: list[GroupEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: int = 0
    watermark: str = ""

    def skip(self, message: str) -> None:
        self.skipped += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)


# --- mapping ------------------------------------------------------------------------------------------


def _is_disabled(source: DirectorySource, entry: Entry) -> bool:
    if not source.disabled_attribute or not source.disabled_mode:
        return False
    values = entry.text(source.disabled_attribute)
    if source.disabled_mode == DirectorySource.DisabledMode.PRESENT:
        return any(value.strip() for value in values)
    if source.disabled_mode == DirectorySource.DisabledMode.EQUALS:
        return any(value.strip().lower() == source.disabled_value.strip().lower() for value in values)
    if source.disabled_mode == DirectorySource.DisabledMode.BITMASK:
        bits = int(source.disabled_value or "2", 0)
        for value in values:
            try:
                if int(value.strip(), 0) & bits:
                    return True
            except ValueError:
                continue
    return False


def user_entry(source: DirectorySource, entry: Entry, read: DirectoryRead) -> UserEntry | None:
    external_id = entry.identifier(source.user_id_attribute)
    username = entry.first(source.username_attribute)
    if not external_id:
        read.skip(f"{entry.dn}: no {source.user_id_attribute}, skipped.")
        return None
    if not username:
        read.skip(f"{entry.dn}: no {source.username_attribute}, skipped.")
        return None
    email = entry.first(source.email_attribute) or entry.first(source.email_fallback_attribute)
    if email and "@" not in email:
        email = ""
    display_name = entry.first(source.display_name_attribute) or username
    return UserEntry(dn=entry.dn, record=UserRecord(
        external_id=external_id[:200], username=username[:150], email=email[:254], display_name=display_name[:200],
        active=not _is_disabled(source, entry)))


def group_entry(source: DirectorySource, entry: Entry, read: DirectoryRead) -> GroupEntry | None:
    external_id = entry.identifier(source.group_id_attribute)
    name = entry.first(source.group_name_attribute)
    if not external_id or not name:
        missing = source.group_id_attribute if not external_id else source.group_name_attribute
        read.skip(f"{entry.dn}: no {missing}, skipped.")
        return None
    return GroupEntry(dn=entry.dn, external_id=external_id[:200], name=name[:200],
                      member_dns=tuple(entry.text(source.member_attribute)))


def _later_marker(source: DirectorySource, current: str, entry: Entry) -> str:
    value = entry.first(source.change_attribute)
    if not value:
        return current
    if source.change_attribute == DirectorySource.ChangeAttribute.USN_CHANGED:
        try:
            return value if not current or int(value) > int(current) else current
        except ValueError:
            return current
    return value if value > current else current  # generalized time: same format sorts as text


def _changed_since(source: DirectorySource, base_filter: str, since: str) -> str:
    """Entries changed after the watermark. uSNChanged counts every change, so the next one is
    watermark + 1; modifyTimestamp has a one-second resolution, so the watermark's own second is read
    again (a change made in that second after the last read must not be missed; re-reading an entry
    that did not change costs a read and no write)."""
    if not since:
        return base_filter
    if source.change_attribute == DirectorySource.ChangeAttribute.USN_CHANGED and since.isdigit():
        since = str(int(since) + 1)
    return f"(&{base_filter}({source.change_attribute}>={ldap3.utils.conv.escape_filter_chars(since)}))"


# --- the server --------------------------------------------------------------------------------------


def _server(source: DirectorySource) -> tuple[ldap3.Server, bool]:
    parts = urlsplit(source.url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("ldap", "ldaps") or not parts.hostname:
        raise LdapReadError("The URL must be ldap://host[:port] or ldaps://host[:port].")
    if scheme == "ldaps" and source.start_tls:
        raise LdapReadError("StartTLS is for ldap:// URLs; an ldaps:// URL is TLS from the start.")
    try:
        port = parts.port or (636 if scheme == "ldaps" else 389)
    except ValueError as error:
        raise LdapReadError(f"The URL's port is not a number: {error}") from error
    tls = None
    if scheme == "ldaps" or source.start_tls:
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, version=ssl.PROTOCOL_TLS_CLIENT,
                        ca_certs_data=source.ca_certificate.strip() or None, valid_names=[parts.hostname])
    server = ldap3.Server(parts.hostname, port=port, use_ssl=scheme == "ldaps", tls=tls, get_info=ldap3.NONE,
                          connect_timeout=source.timeout_seconds)
    return server, source.start_tls


def _describe(error: Exception) -> str:
    text = str(error) or error.__class__.__name__
    return f"{error.__class__.__name__.removeprefix('LDAP')}: {text}"[:1000]


def ldap_connect(source: DirectorySource, password: str) -> ldap3.Connection:
    """An open, bound, read-only connection (raises LdapReadError with the reason)."""
    server, start_tls = _server(source)
    connection = ldap3.Connection(
        server, user=source.bind_dn or None, password=password or None,
        authentication=ldap3.SIMPLE if source.bind_dn else ldap3.ANONYMOUS, read_only=True,
        raise_exceptions=True, receive_timeout=source.timeout_seconds, auto_referrals=False)
    try:
        connection.open()
        if start_tls:
            connection.start_tls()
        connection.bind()
    except (LDAPException, OSError, ssl.SSLError) as error:
        _close(connection)
        raise LdapReadError(f"Cannot connect and bind to {source.url}: {_describe(error)}") from error
    return connection


def _close(connection: ldap3.Connection) -> None:
    try:
        connection.unbind()
    except (LDAPException, OSError):
        pass  # the server or the TLS handshake is already gone: nothing to close


def _paged(connection: ldap3.Connection, *, base: str, search_filter: str, attributes: list[str], page_size: int,
           on_page: Callable[[int], None] | None) -> Iterator[Entry]:
    cookie = None
    while True:
        connection.search(base, search_filter, search_scope=ldap3.SUBTREE, attributes=attributes,
                          paged_size=page_size, paged_cookie=cookie, dereference_aliases=ldap3.DEREF_NEVER)
        # Continuation references (other domains) are not followed. The page's cookie is taken before
        # any ranged values are fetched: those searches replace the connection's last result.
        items = [item for item in connection.response or [] if item.get("type") == "searchResEntry"]
        cookie = (((connection.result or {}).get("controls") or {}).get(PAGED_RESULTS_OID) or {}) \
            .get("value", {}).get("cookie")
        for item in items:
            yield Entry(dn=item["dn"], attributes=_complete_ranges(connection, item["dn"], item["raw_attributes"]))
        if on_page is not None:
            on_page(len(items))
        if not cookie:
            return


_RANGE = re.compile(r"^(?P<name>[^;]+)(?:;.*)?;range=(?P<low>\d+)-(?P<high>\d+|\*)$", re.I)


def _complete_ranges(connection: ldap3.Connection, dn: str, raw: dict) -> dict[str, list[bytes]]:
    """Attributes by lower-cased name, with Active Directory's ranged values fetched whole: a group
    with more than 1,500 members comes back as `member;range=0-1499`, and the rest must be asked for
    (`member;range=1500-*`, …) until a range ends with `*`. Reading only the first range would make the
    sync remove every member past it."""
    attributes: dict[str, list[bytes]] = {}
    for name, values in raw.items():
        match = _RANGE.match(name)
        key = (match.group("name") if match else name.split(";", 1)[0]).lower()
        attributes.setdefault(key, []).extend(values)
        while match and match.group("high") != "*":
            low = int(match.group("high")) + 1
            wanted = f"{match.group('name')};range={low}-*"
            connection.search(dn, "(objectClass=*)", search_scope=ldap3.BASE, attributes=[wanted])
            entries = [item for item in connection.response or [] if item.get("type") == "searchResEntry"]
            match = None
            for more_name, more in (entries[0]["raw_attributes"].items() if entries else []):
                more_match = _RANGE.match(more_name)
                if more_match and more_match.group("name").lower() == key:
                    attributes[key].extend(more)
                    match = more_match
            if match is None:
                raise LdapReadError(f"{dn}: the server did not return the values of {wanted}.")
    return attributes


def _attributes(source: DirectorySource, names: Iterable[str]) -> list[str]:
    wanted = [name for name in names if name] + [source.change_attribute]
    return sorted(set(wanted), key=str.lower)


def _user_attributes(source: DirectorySource) -> list[str]:
    return _attributes(source, [source.user_id_attribute, source.username_attribute, source.email_attribute,
                                source.email_fallback_attribute, source.display_name_attribute,
                                source.disabled_attribute])


def _group_attributes(source: DirectorySource) -> list[str]:
    return _attributes(source, [source.group_id_attribute, source.group_name_attribute, source.member_attribute])


def ldap_read(source: DirectorySource, *, password: str, since: str = "",
              on_page: Callable[[int], None] | None = None) -> DirectoryRead:
    """Every user and group under the source's base DNs (or only those changed at or after `since`, a
    change marker), read page by page. `on_page(entries_in_page)` is called after each page."""
    if not source.base_dn_list:
        raise LdapReadError("The source has no base DN.")
    read = DirectoryRead(watermark=since)
    connection = ldap_connect(source, password)
    try:
        for base in source.base_dn_list:
            for entry in _paged(connection, base=base, search_filter=_changed_since(source, source.user_filter, since),
                                attributes=_user_attributes(source), page_size=source.page_size, on_page=on_page):
                read.watermark = _later_marker(source, read.watermark, entry)
                if (user := user_entry(source, entry, read)) is not None:
                    read.users.append(user)
            for entry in _paged(connection, base=base,
                                search_filter=_changed_since(source, source.group_filter, since),
                                attributes=_group_attributes(source), page_size=source.page_size, on_page=on_page):
                read.watermark = _later_marker(source, read.watermark, entry)
                if (group := group_entry(source, entry, read)) is not None:
                    read.groups.append(group)
    except LdapReadError:
        raise
    except (LDAPException, OSError, ssl.SSLError) as error:
        raise LdapReadError(f"Reading {source.url} failed: {_describe(error)}") from error
    finally:
        _close(connection)
    return read


def ldap_test(source: DirectorySource, *, password: str) -> list[str]:
    """Connect, bind and look for one user and one group under each base DN: what an administrator
    needs to know before the first run. Raises LdapReadError with the reason."""
    lines = []
    connection = ldap_connect(source, password)
    try:
        protection = ("TLS (ldaps)" if source.url.lower().startswith("ldaps://")
                      else "StartTLS" if source.start_tls else "no TLS: the password travels in clear")
        lines.append(f"Connected to {source.url} ({protection}) and bound as {source.bind_dn or 'anonymous'}.")
        for base in source.base_dn_list:
            for label, search_filter, attributes in (("user", source.user_filter, _user_attributes(source)),
                                                     ("group", source.group_filter, _group_attributes(source))):
                connection.search(base, search_filter, search_scope=ldap3.SUBTREE, attributes=attributes,
                                  paged_size=1)
                entries = [item for item in connection.response or [] if item.get("type") == "searchResEntry"]
                if entries:
                    lines.append(f"Under {base}: found a {label} ({entries[0]['dn']}).")
                else:
                    lines.append(f"Under {base}: no {label} matches {search_filter}.")
    except (LDAPException, OSError, ssl.SSLError) as error:
        raise LdapReadError(f"Searching {source.url} failed: {_describe(error)}") from error
    finally:
        _close(connection)
    return lines


# --- LDIF ---------------------------------------------------------------------------------------------


def ldif_parse(data: bytes) -> list[Entry]:
    """The content records of an LDIF file (RFC 2849): folded lines, comments, base64 values (`::`).
    Change records other than `add` and URL values (`:<`) are refused."""
    if len(data) > MAX_LDIF_BYTES:
        raise LdapReadError(f"The file is larger than {MAX_LDIF_BYTES // (1024 * 1024)} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise LdapReadError(f"The file is not UTF-8 text (byte {error.start}).") from error
    entries: list[Entry] = []
    logical: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(" ") and logical:
            logical[-1] = (logical[-1][0], logical[-1][1] + line[1:])
        else:
            logical.append((number, line))
    record: list[tuple[int, str]] = []
    for number, line in [*logical, (0, "")]:
        if line.startswith("#"):
            continue
        if line.strip():
            record.append((number, line))
            continue
        if record:
            entry = _ldif_record(record)
            if entry is not None:
                entries.append(entry)
            record = []
    return entries


def _ldif_record(record: list[tuple[int, str]]) -> Entry | None:
    attributes: dict[str, list[bytes]] = {}
    dn = None
    for number, line in record:
        name, separator, rest = line.partition(":")
        if not separator:
            raise LdapReadError(f"Line {number}: expected 'attribute: value', found {line[:80]!r}.")
        name = name.strip()
        if rest.startswith(":"):
            try:
                value = base64.b64decode(rest[1:].strip(), validate=True)
            except ValueError as error:
                raise LdapReadError(f"Line {number}: the base64 value of {name} is invalid.") from error
        elif rest.startswith("<"):
            raise LdapReadError(f"Line {number}: URL values (:<) are not read; inline the value.")
        else:
            value = rest.lstrip(" ").encode()
        key = name.split(";", 1)[0].lower()
        if key == "version" and dn is None:
            continue
        if key == "dn" and dn is None:
            dn = value.decode("utf-8", errors="replace")
            continue
        if dn is None:
            raise LdapReadError(f"Line {number}: a record starts with 'dn:'.")
        if key == "changetype":
            if value.decode(errors="replace").strip().lower() != "add":
                raise LdapReadError(f"Line {number}: change records ({value.decode(errors='replace')}) are not "
                                    f"imported; export the entries themselves (ldapsearch -L, ldifde -f).")
            continue
        if key == "control":
            continue
        attributes.setdefault(key, []).append(value)
    if dn is None:
        return None
    return Entry(dn=dn, attributes=attributes)


def ldif_read(source: DirectorySource, data: bytes) -> DirectoryRead:
    """The users and groups of an LDIF file, as a full read of the source would find them: entries under
    one of its base DNs that match its user or group filter."""
    entries = ldif_parse(data)
    bases = [dn_key(base) for base in source.base_dn_list]
    if not bases:
        raise LdapReadError("The source has no base DN.")
    user_test, group_test = filter_compile(source.user_filter), filter_compile(source.group_filter)
    read = DirectoryRead()
    for entry in entries:
        key = dn_key(entry.dn)
        if not any(key == base or key.endswith("," + base) for base in bases):
            continue
        if user_test(entry):
            if (user := user_entry(source, entry, read)) is not None:
                read.users.append(user)
        elif group_test(entry):
            if (group := group_entry(source, entry, read)) is not None:
                read.groups.append(group)
    return read


# --- RFC 4515 filters, evaluated over LDIF entries ----------------------------------------------------

BITWISE_AND, BITWISE_OR = "1.2.840.113556.1.4.803", "1.2.840.113556.1.4.804"
_ITEM = re.compile(r"^([A-Za-z0-9;.\-]+)(?::([A-Za-z0-9.]+))?(=|~=|>=|<=|:=)(.*)$", re.S)


def _unescape(value: str) -> str:
    return re.sub(r"\\([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), value)


def filter_compile(text: str) -> Callable[[Entry], bool]:
    """A predicate for an LDAP filter string; raises LdapReadError on a filter it cannot read."""
    text = (text or "").strip()
    if not text.startswith("("):
        text = f"({text})"
    predicate, end = _filter_at(text, 0)
    if end != len(text):
        raise LdapReadError(f"Unexpected text after the filter: {text[end:][:40]!r}.")
    return predicate


def _filter_at(text: str, i: int) -> tuple[Callable[[Entry], bool], int]:
    if i >= len(text) or text[i] != "(":
        raise LdapReadError(f"Filter: expected '(' at position {i + 1}.")
    i += 1
    if i < len(text) and text[i] in "&|!":
        operator = text[i]
        i += 1
        parts = []
        while i < len(text) and text[i] == "(":
            part, i = _filter_at(text, i)
            parts.append(part)
        if i >= len(text) or text[i] != ")":
            raise LdapReadError(f"Filter: expected ')' at position {i + 1}.")
        if operator == "!":
            if len(parts) != 1:
                raise LdapReadError("Filter: '!' takes exactly one filter.")
            return (lambda entry, p=parts[0]: not p(entry)), i + 1
        if operator == "&":
            return (lambda entry: all(p(entry) for p in parts)), i + 1
        return (lambda entry: any(p(entry) for p in parts)), i + 1
    end = text.find(")", i)
    if end < 0:
        raise LdapReadError("Filter: missing ')'.")
    return _item(text[i:end]), end + 1


def _item(item: str) -> Callable[[Entry], bool]:
    match = _ITEM.match(item)
    if not match:
        raise LdapReadError(f"Filter: cannot read ({item}).")
    attribute, rule, operator, raw = match.groups()
    attribute = attribute.split(";", 1)[0]
    if operator == ":=":
        if rule not in (BITWISE_AND, BITWISE_OR):
            raise LdapReadError(f"Filter: the matching rule {rule} is not supported in an LDIF import.")
        bits = int(_unescape(raw))

        def bitwise(entry: Entry) -> bool:
            for value in entry.text(attribute):
                try:
                    number = int(value.strip())
                except ValueError:
                    continue
                if (number & bits == bits) if rule == BITWISE_AND else (number & bits):
                    return True
            return False
        return bitwise
    if operator == "=" and raw == "*":
        return lambda entry: bool(entry.raw(attribute))
    if operator == "=" and "*" in raw:
        pattern = re.compile(".*".join(re.escape(_unescape(part).lower()) for part in raw.split("*")), re.S)
        return lambda entry: any(pattern.fullmatch(v.lower()) for v in _values(entry, attribute))
    wanted = _unescape(raw).lower()
    if operator in ("=", "~="):
        return lambda entry: any(v.lower() == wanted for v in _values(entry, attribute))

    def ordered(entry: Entry) -> bool:
        for value in _values(entry, attribute):
            try:
                left, right = int(value), int(wanted)
            except ValueError:
                left, right = value.lower(), wanted
            if (left >= right) if operator == ">=" else (left <= right):
                return True
        return False
    return ordered


def _values(entry: Entry, attribute: str) -> list[str]:
    values = entry.text(attribute)
    if attribute.lower() == "objectcategory":
        # Active Directory matches objectCategory=person against the DN "CN=Person,CN=Schema,…".
        values = values + [value.split(",", 1)[0].split("=", 1)[-1] for value in values if "=" in value]
    return values
