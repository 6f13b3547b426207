"""A real OpenLDAP server for the tests and the benchmark (self-contained).

`Slapd(tmpdir)` writes a cn=config (slapd.d) with the core, cosine and inetOrgPerson schemas and one
mdb database (`dc=example,dc=org`, root `cn=admin,dc=example,dc=org` / `ADMIN_PASSWORD`), starts
`/usr/sbin/slapd` on a free loopback port in the foreground, and waits until it answers. `stop()` and
`start()` again (same port, same data) simulate an outage. Nothing leaves the temporary directory.
"""

import shutil
import socket
import subprocess
import time
from pathlib import Path

SLAPD = "/usr/sbin/slapd"
SLAPADD = shutil.which("slapadd") or "/usr/sbin/slapadd"
SCHEMAS = "/etc/ldap/schema"
SUFFIX = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-password-for-tests"  # noqa: S105 — a throwaway server's root password
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
PLACEHOLDER = f"cn=placeholder,{SUFFIX}"  # a groupOfNames needs a member; reconciliation ignores this one


def available() -> str | None:
    """None when slapd can run here, else why not."""
    for path in (SLAPD, SLAPADD, f"{SCHEMAS}/core.ldif", "/usr/lib/ldap/back_mdb.so"):
        if not Path(path).exists():
            return f"{path} is missing (apt-get install slapd ldap-utils)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CONFIG = """dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {root}/slapd.pid
olcLogLevel: none

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file://{schemas}/core.ldif

include: file://{schemas}/cosine.ldif

include: file://{schemas}/inetorgperson.ldif

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {suffix}
olcRootDN: {admin}
olcRootPW: {password}
olcDbDirectory: {root}/data
olcDbMaxSize: 1073741824
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcAccess: {{0}}to * by * read
"""

DATA = """dn: {suffix}
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: {people}
objectClass: organizationalUnit
ou: people

dn: {groups}
objectClass: organizationalUnit
ou: groups

dn: {placeholder}
objectClass: organizationalRole
cn: placeholder
"""


class Slapd:
    def __init__(self, root: Path, port: int | None = None):
        self.root = Path(root)
        self.port = port or free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        config_dir = self.root / "slapd.d"
        config_dir.mkdir(parents=True)
        (self.root / "data").mkdir()
        (self.root / "config.ldif").write_text(CONFIG.format(root=self.root, schemas=SCHEMAS, suffix=SUFFIX,
                                                             admin=ADMIN_DN, password=ADMIN_PASSWORD))
        (self.root / "data.ldif").write_text(DATA.format(suffix=SUFFIX, people=PEOPLE, groups=GROUPS,
                                                         placeholder=PLACEHOLDER))
        subprocess.run([SLAPADD, "-n", "0", "-F", str(config_dir), "-l", str(self.root / "config.ldif")],
                       check=True, capture_output=True)
        subprocess.run([SLAPADD, "-n", "1", "-F", str(config_dir), "-l", str(self.root / "data.ldif")],
                       check=True, capture_output=True)

    def start(self) -> None:
        # -d 0: stay in the foreground (the fixture owns the process) and log nothing.
        self.process = subprocess.Popen([SLAPD, "-F", str(self.root / "slapd.d"), "-h", f"{self.url}/", "-d", "0"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"slapd exited: {self.process.stderr.read().decode(errors='replace')[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("slapd did not start listening within 15 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    # --- helpers for arranging tests ------------------------------------------------------------------

    def connection(self):
        from ldap3 import Connection, Server

        return Connection(Server(self.url), user=ADMIN_DN, password=ADMIN_PASSWORD, auto_bind=True)

    def add_user(self, uid: str, conn=None) -> str:
        dn = f"uid={uid},{PEOPLE}"
        own = conn is None
        conn = conn or self.connection()
        ok = conn.add(dn, ["inetOrgPerson"], {"cn": uid, "sn": uid, "uid": uid})
        if own:
            conn.unbind()
        if not ok and conn.result.get("result") != 68:  # entryAlreadyExists
            raise RuntimeError(conn.result)
        return dn

    def add_group(self, cn: str, members=()) -> str:
        dn = f"cn={cn},{GROUPS}"
        conn = self.connection()
        ok = conn.add(dn, ["groupOfNames"], {"cn": cn, "member": [PLACEHOLDER, *members]})
        conn.unbind()
        if not ok:
            raise RuntimeError(conn.result)
        return dn

    def members(self, group_dn: str) -> list[str]:
        from ldap3 import BASE

        conn = self.connection()
        conn.search(group_dn, "(objectClass=*)", search_scope=BASE, attributes=["member"])
        values = list(conn.entries[0].member.values) if conn.entries else []
        conn.unbind()
        return [v for v in values if v.lower() != PLACEHOLDER.lower()]

    def add_member(self, group_dn: str, member_dn: str) -> None:
        from ldap3 import MODIFY_ADD

        conn = self.connection()
        conn.modify(group_dn, {"member": [(MODIFY_ADD, [member_dn])]})
        conn.unbind()

    def target_config(self, **overrides) -> dict:
        """A connector target's configuration for this server (template mode)."""
        return {"server_url": self.url, "bind_dn": ADMIN_DN, "user_dn_template": f"uid={{username}},{PEOPLE}",
                "member_attribute": "member", "ignored_members": [PLACEHOLDER], "timeout_seconds": 3,
                **overrides}
