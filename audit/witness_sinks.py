"""Where the external witness of the audit log is written (`audit.witness` decides what and when).

PIM_AUDIT_WITNESS names one sink: `file:///path` (appended and fsync'd; the one `audit_verify` reads
back), `syslog://host:port` (RFC 5424 over UDP), `syslog+tcp://host:port` (octet counting),
`syslog:///dev/log`, or `https://…` (POST of the JSON lines, signed with PIM_AUDIT_WITNESS_SECRET like
the webhooks). Each sink's `write(lines)` raises on failure; the writer logs it and retries later.
"""

import hashlib
import hmac
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import requests
from django.conf import settings

RECORD_TYPE = "pim-audit-witness"  # also the syslog MSGID
TIMEOUT_SECONDS = 5
SYSLOG_PRI = 13 * 8 + 6  # facility 13 "log audit", severity 6 "informational" (RFC 5424)


class WitnessError(Exception):
    """The witness setting is malformed, a sink failed, or a witness file cannot be read."""


@dataclass(frozen=True)
class FileSink:
    """Appends and fsyncs. Meant for another volume or host mount, ideally with `chattr +a`."""

    path: Path

    def __str__(self) -> str:
        return f"file://{self.path}"

    def write(self, lines: list[str]) -> None:
        data = "".join(f"{line}\n" for line in lines).encode()
        created = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:  # the new directory entry must survive a crash too
            directory = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)


@dataclass(frozen=True)
class SyslogSink:
    """RFC 5424 messages, MSGID `pim-audit-witness`, the JSON record as the message."""

    transport: str  # "udp", "tcp" or "unix"
    host: str = ""
    port: int = 514
    path: str = ""

    def __str__(self) -> str:
        if self.transport == "unix":
            return f"syslog://{self.path}"
        return f"syslog{'+tcp' if self.transport == 'tcp' else ''}://{self.host}:{self.port}"

    @staticmethod
    def message(line: str) -> bytes:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        hostname = socket.gethostname() or "-"
        return f"<{SYSLOG_PRI}>1 {now} {hostname} pim-portal {os.getpid()} {RECORD_TYPE} - {line}".encode()

    def write(self, lines: list[str]) -> None:
        messages = [self.message(line) for line in lines]
        if self.transport == "tcp":
            # Octet-counting framing (RFC 6587), so a message may contain anything.
            with socket.create_connection((self.host, self.port), timeout=TIMEOUT_SECONDS) as sock:
                sock.sendall(b"".join(f"{len(m)} ".encode() + m for m in messages))
        elif self.transport == "udp":
            family, kind, proto, _, address = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)[0]
            with socket.socket(family, kind, proto) as sock:
                sock.settimeout(TIMEOUT_SECONDS)
                for message in messages:
                    sock.sendto(message, address)
        else:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.settimeout(TIMEOUT_SECONDS)
                sock.connect(self.path)
                for message in messages:
                    sock.send(message)


@dataclass(frozen=True)
class HttpSink:
    """POSTs the JSON lines with `X-PIM-Timestamp` and `X-PIM-Signature: sha256=<hex>`, the HMAC-SHA256
    of `<timestamp>.<body>` under PIM_AUDIT_WITNESS_SECRET (as the webhooks sign). 2xx is success."""

    url: str
    secret: str

    def __str__(self) -> str:
        return self.url

    def write(self, lines: list[str]) -> None:
        body = "".join(f"{line}\n" for line in lines).encode()
        timestamp = str(int(time.time()))
        signature = hmac.new(self.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        response = requests.post(self.url, data=body, timeout=TIMEOUT_SECONDS, allow_redirects=False, headers={
            "Content-Type": "application/x-ndjson", "X-PIM-Timestamp": timestamp,
            "X-PIM-Signature": f"sha256={signature}"})
        if not 200 <= response.status_code < 300:
            raise WitnessError(f"{self.url} answered HTTP {response.status_code}")


Sink = FileSink | SyslogSink | HttpSink


def witness_sink(url: str) -> Sink:
    """The sink PIM_AUDIT_WITNESS names; a malformed value is an error, never silently no witness."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        raise WitnessError(f"PIM_AUDIT_WITNESS={url!r}: the port is not a number")
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise WitnessError(f"PIM_AUDIT_WITNESS={url!r}: use file:///absolute/path")
        return FileSink(Path(unquote(parts.path)))
    if scheme in ("syslog", "syslog+udp", "syslog+tcp"):
        if parts.hostname:
            return SyslogSink("tcp" if scheme == "syslog+tcp" else "udp", host=parts.hostname, port=port or 514)
        if scheme == "syslog" and parts.path.startswith("/"):
            return SyslogSink("unix", path=unquote(parts.path))
        raise WitnessError(f"PIM_AUDIT_WITNESS={url!r}: use syslog://host:port, syslog+tcp://host:port "
                           f"or syslog:///dev/log")
    if scheme in ("https", "http"):
        if not parts.hostname:
            raise WitnessError(f"PIM_AUDIT_WITNESS={url!r}: no host")
        if not settings.PIM_AUDIT_WITNESS_SECRET:
            raise WitnessError("PIM_AUDIT_WITNESS is an HTTP endpoint: set PIM_AUDIT_WITNESS_SECRET to sign the POSTs")
        return HttpSink(url, settings.PIM_AUDIT_WITNESS_SECRET)
    raise WitnessError(f"PIM_AUDIT_WITNESS={url!r}: unknown scheme; use file://, syslog://, syslog+tcp:// or https://")
