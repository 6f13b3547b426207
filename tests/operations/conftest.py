"""A real rsyslog (Debian's rsyslogd with its GnuTLS driver) on a free loopback port, with its own
configuration and a TLS certificate made by the test, writing what it receives to a file."""

import datetime
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_tls_files(directory: Path) -> Path:
    """A CA and a server certificate for 127.0.0.1 signed by it; returns the CA file."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    valid = {"not_valid_before": now - datetime.timedelta(hours=1), "not_valid_after": now + datetime.timedelta(days=2)}
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "PIM test SIEM CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(valid["not_valid_before"])
          .not_valid_after(valid["not_valid_after"])
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(valid["not_valid_before"]).not_valid_after(valid["not_valid_after"])
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "server.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                             serialization.PrivateFormat.PKCS8,
                                                             serialization.NoEncryption()))
    return directory / "ca.pem"


CONFIG = """
global(workDirectory="{d}/work" DefaultNetstreamDriver="gtls" DefaultNetstreamDriverCAFile="{d}/ca.pem"
       DefaultNetstreamDriverCertFile="{d}/server.pem" DefaultNetstreamDriverKeyFile="{d}/server.key")
# Direct queues: a message is written before the next one is read, as a SIEM collector that must not
# lose what it accepted is set up (no in-memory queue for a kill to empty).
main_queue(queue.type="Direct")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")
template(name="whole" type="string" string="%rawmsg%\\n")
ruleset(name="siem" queue.type="Direct") {{
  action(type="omfile" file="{d}/siem.log" template="whole" queue.type="Direct" asyncWriting="off")
}}
input(type="imtcp" port="{port}" address="127.0.0.1" ruleset="siem")
"""


class Rsyslog:
    def __init__(self, directory: Path):
        self.directory = directory
        (directory / "work").mkdir()
        self.port = free_port()
        self.ca_file = write_tls_files(directory)
        self.config = directory / "rsyslog.conf"
        self.config.write_text(CONFIG.format(d=directory, port=self.port))
        self.output = directory / "siem.log"
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"syslog+tls://127.0.0.1:{self.port}"

    def start(self) -> None:
        (self.directory / "rsyslogd.pid").unlink(missing_ok=True)
        self.starts += 1
        log = (self.directory / f"rsyslogd-{self.starts}.out").open("w")
        self.process = subprocess.Popen([RSYSLOGD, "-n", "-f", str(self.config), "-i",
                                         str(self.directory / "rsyslogd.pid")], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"rsyslogd exited: {(self.directory / f'rsyslogd-{self.starts}.out').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("rsyslogd did not listen within 20 s")
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush; whatever it had not written is gone."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def lines(self) -> list[str]:
        return self.output.read_text().splitlines() if self.output.exists() else []


@pytest.fixture
def rsyslog(tmp_path, settings):
    if not Path(RSYSLOGD).exists() or not list(Path("/usr/lib").glob("*/rsyslog/lmnsd_gtls.so")):
        reason = "needs rsyslog and rsyslog-gnutls (apt-get install rsyslog rsyslog-gnutls)"
        if REQUIRE_SERVICES:
            pytest.fail(f"{reason} (PIM_REQUIRE_SERVICES=1: required in CI)")
        pytest.skip(reason)
    (tmp_path / "rsyslog").mkdir()
    server = Rsyslog(tmp_path / "rsyslog")
    settings.PIM_SIEM_CA_FILE = str(server.ca_file)
    server.start()
    try:
        yield server
    finally:
        server.kill()
