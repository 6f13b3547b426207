"""A real OpenLDAP server for the tests and the benchmarks — the directory read by LDAP sync
(tests/directory_sync, bench/ldap_sync.py) and the target written by the LDAP connector
(tests/connectors, bench/connectors.py): `/usr/sbin/slapd` on a free loopback port, with a slapd.conf
generated in a temporary directory (mdb backend, Debian's core / cosine / inetorgperson / nis schemas, a
rootdn with a password) and a generated LDIF loaded before it starts (with `slapadd`, so the entries
carry the operational attributes slapd maintains: entryUUID, modifyTimestamp).

Changes during a test go through the server itself (`Slapd.modify`, `add`, `delete`, and the connector
tests' `add_user`, `add_group`, `add_member`, with ldap3 bound as the rootdn), so they get new
modifyTimestamps like any directory change. `stop()` ends the server; `start()` starts it again on the
same port and data (an outage).
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import ldap3
import pytest
from ldap3.core.exceptions import LDAPEntryAlreadyExistsResult

SLAPD = Path("/usr/sbin/slapd")
SLAPADD = Path("/usr/sbin/slapadd")
BACK_MDB = Path("/usr/lib/ldap/back_mdb.so")
SCHEMA_DIR = Path("/etc/ldap/schema")
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")
SUFFIX = "dc=example,dc=org"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "slapd-test-secret"  # noqa: S105 — a throwaway server's root password
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
# A connector target's groupOfNames needs a member while PIM grants none: this one (ignored by the LDAP
# connector's reconciliation through `ignored_members`).
PLACEHOLDER = f"cn=placeholder,{SUFFIX}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def user_dn(uid: str) -> str:
    return f"uid={uid},{PEOPLE}"


def group_dn(cn: str) -> str:
    return f"cn={cn},{GROUPS}"


def ldif_for(*, users: list[dict], groups: list[dict], placeholder: bool = False) -> str:
    """The directory as LDIF: the suffix, two OUs, `users` as inetOrgPerson ({uid, cn, mail}) and
    `groups` as groupOfNames ({cn, members: [uid, …]}; an empty group gets the suffix as its one
    member, since groupOfNames requires one); with `placeholder`, the `PLACEHOLDER` entry too."""
    blocks = [f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example",
              f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people",
              f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups"]
    if placeholder:
        blocks.append(f"dn: {PLACEHOLDER}\nobjectClass: organizationalRole\ncn: placeholder")
    for user in users:
        lines = [f"dn: {user_dn(user['uid'])}", "objectClass: inetOrgPerson", f"uid: {user['uid']}",
                 f"cn: {user.get('cn', user['uid'])}", f"sn: {user.get('sn', user['uid'])}"]
        if user.get("mail"):
            lines.append(f"mail: {user['mail']}")
        blocks.append("\n".join(lines))
    for group in groups:
        members = [user_dn(uid) for uid in group.get("members", [])] or [SUFFIX]
        blocks.append("\n".join([f"dn: {group_dn(group['cn'])}", "objectClass: groupOfNames", f"cn: {group['cn']}",
                                 *[f"member: {member}" for member in members]]))
    return "\n\n".join(blocks) + "\n"


@dataclass
class Slapd:
    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    tls_port: int | None = None  # with `tls_files`: an ldaps:// listener too, and StartTLS on ldap://
    tls_files: tuple[Path, Path, Path] | None = None  # (CA certificate, server certificate, server key)

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://localhost:{self.tls_port}"

    @property
    def config(self) -> Path:
        return self.directory / "slapd.conf"

    def write_config(self) -> None:
        (self.directory / "data").mkdir(exist_ok=True)
        includes = "\n".join(f"include {SCHEMA_DIR / name}.schema" for name in SCHEMAS)
        tls = ""
        if self.tls_files:
            ca, certificate, key = self.tls_files
            tls = f"TLSCACertificateFile {ca}\nTLSCertificateFile {certificate}\nTLSCertificateKeyFile {key}\n"
        self.config.write_text(f"""{includes}
{tls}pidfile {self.directory / 'slapd.pid'}
argsfile {self.directory / 'slapd.args'}
modulepath /usr/lib/ldap
moduleload back_mdb
sizelimit unlimited
database mdb
maxsize 1073741824
suffix "{SUFFIX}"
rootdn "{ROOT_DN}"
rootpw {ROOT_PASSWORD}
directory {self.directory / 'data'}
index objectClass eq
index uid eq
index entryUUID eq
index modifyTimestamp eq
limits dn.exact="{ROOT_DN}" size=unlimited
""")

    def load(self, ldif: str) -> None:
        path = self.directory / "seed.ldif"
        path.write_text(ldif)
        subprocess.run([str(SLAPADD), "-q", "-f", str(self.config), "-l", str(path)], check=True,
                       capture_output=True, timeout=300)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(SLAPD), "-d", "0", "-f", str(self.config), "-h",
             self.url + (f" ldaps://127.0.0.1:{self.tls_port}" if self.tls_port else "")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"slapd exited: {self.process.stderr.read().decode(errors='replace')[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)  # waiting for a process to listen, not for time to pass
        raise RuntimeError("slapd did not start listening within 20 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def connection(self) -> ldap3.Connection:
        return ldap3.Connection(ldap3.Server(self.url, get_info=ldap3.NONE), user=ROOT_DN, password=ROOT_PASSWORD,
                                auto_bind=True, raise_exceptions=True)

    def modify(self, dn: str, changes: dict[str, list]) -> None:
        """`changes`: attribute → [(ldap3.MODIFY_REPLACE, [values])] as ldap3 takes them."""
        with self.connection() as conn:
            conn.modify(dn, changes)

    def add(self, dn: str, object_class: str | list[str], attributes: dict) -> None:
        with self.connection() as conn:
            conn.add(dn, object_class, attributes)

    def delete(self, dn: str) -> None:
        with self.connection() as conn:
            conn.delete(dn)

    def rename(self, dn: str, new_rdn: str) -> None:
        with self.connection() as conn:
            conn.modify_dn(dn, new_rdn)

    # --- a connector's target: accounts, groups and who is in them -----------------------------------

    def add_user(self, uid: str, conn: ldap3.Connection | None = None) -> str:
        """An inetOrgPerson under `PEOPLE` (kept when it exists); its DN. `conn`: reuse an open connection."""
        dn = user_dn(uid)
        try:
            if conn is not None:
                conn.add(dn, ["inetOrgPerson"], {"cn": uid, "sn": uid, "uid": uid})
            else:
                self.add(dn, ["inetOrgPerson"], {"cn": uid, "sn": uid, "uid": uid})
        except LDAPEntryAlreadyExistsResult:
            pass
        return dn

    def add_group(self, cn: str, members=()) -> str:
        """A groupOfNames under `GROUPS` holding `PLACEHOLDER` and `members` (DNs); its DN."""
        dn = group_dn(cn)
        self.add(dn, ["groupOfNames"], {"cn": cn, "member": [PLACEHOLDER, *members]})
        return dn

    def members(self, dn: str) -> list[str]:
        """The group's member DNs, `PLACEHOLDER` left out."""
        with self.connection() as conn:
            conn.search(dn, "(objectClass=*)", search_scope=ldap3.BASE, attributes=["member"])
            values = list(conn.entries[0].member.values) if conn.entries else []
        return [v for v in values if v.lower() != PLACEHOLDER.lower()]

    def ldapsearch_members(self, dn: str) -> set[str]:
        """The group's member DNs as the `ldapsearch` command line tool reads them (`PLACEHOLDER` left
        out); through ldap3 where the tool is not installed."""
        if shutil.which("ldapsearch") is None:
            return set(self.members(dn))
        out = subprocess.run(["ldapsearch", "-x", "-LLL", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PASSWORD,
                              "-b", dn, "-s", "base", "member"], check=True, capture_output=True, text=True).stdout
        members = {line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("member: ")}
        return members - {PLACEHOLDER}

    def add_member(self, dn: str, member_dn: str) -> None:
        self.modify(dn, {"member": [(ldap3.MODIFY_ADD, [member_dn])]})

    def target_config(self, **overrides) -> dict:
        """An LDAP connector target's configuration for this server (template mode)."""
        return {"server_url": self.url, "bind_dn": ROOT_DN, "user_dn_template": f"uid={{username}},{PEOPLE}",
                "member_attribute": "member", "ignored_members": [PLACEHOLDER], "timeout_seconds": 3,
                **overrides}


def slapd_available() -> str:
    """Why slapd cannot run here, or "" when it can."""
    for binary in (SLAPD, SLAPADD, BACK_MDB):
        if not binary.exists():
            return f"{binary} is not installed (apt-get install slapd ldap-utils; .ci/run does)"
    missing = [name for name in SCHEMAS if not (SCHEMA_DIR / f"{name}.schema").exists()]
    if missing:
        return f"OpenLDAP schemas missing from {SCHEMA_DIR}: {', '.join(missing)}"
    return ""


def tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate it signed for localhost / 127.0.0.1 (PEM files)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "PIM tests CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
              .issuer_name(ca_name).public_key(server_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
              .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                          x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))
    paths = (directory / "ca.pem", directory / "server.pem", directory / "server.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return paths


def start_slapd(ldif: str, *, tls: bool = False) -> Slapd:
    problem = slapd_available()
    if problem:
        if os.environ.get("PIM_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{problem} (PIM_REQUIRE_SERVICES=1: required in CI)")
        pytest.skip(problem)
    server = Slapd(directory=Path(tempfile.mkdtemp(prefix="pim-slapd-")))
    if tls:
        server.tls_files, server.tls_port = tls_files(server.directory), free_port()
    server.write_config()
    server.load(ldif)
    server.start()
    return server


def stop_slapd(server: Slapd) -> None:
    server.stop()
    shutil.rmtree(server.directory, ignore_errors=True)
