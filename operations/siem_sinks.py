"""Where the audit stream goes: syslog over TLS (RFC 5424 messages, RFC 5425 octet-counted framing) or
JSON lines POSTed over HTTPS. `siem_sink(url)` reads one PIM_SIEM_STREAMS entry.

A sink's `deliver(messages)` returns how many of `messages`, from the first, the receiver confirmed;
the streamer advances the consumer's cursor by exactly that many, and sends the rest again later.

Confirmation:
- HTTP answers each POST: a 2xx means the whole batch is stored.
- Syslog has no acknowledgement. A connection counts as delivered when the receiver closes it after
  reading our TLS close_notify, which comes after the messages in the stream: a receiver killed before
  it read everything resets the connection instead (unread data), so its messages are sent again. With
  `?batch=1` (the default) every message has its own connection, so a receiver dying mid-stream makes
  at most the one message in flight unconfirmed, and nothing it wrote is sent twice — the one window is
  the few microseconds between the receiver writing a message and reading the close_notify behind it.
  `?batch=N` sends N messages per connection (faster; a receiver that dies mid-batch may get the part
  of that batch it had written again — every message carries its `seq` and `hash` to deduplicate on).
"""

import hashlib
import hmac
import os
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import requests
from django.conf import settings

TIMEOUT_SECONDS = 5.0
FACILITY_LOG_AUDIT = 13


class SiemError(Exception):
    """A malformed PIM_SIEM_STREAMS entry, or a receiver that failed (carrying how many it confirmed)."""

    def __init__(self, message: str, *, confirmed: int = 0):
        super().__init__(message)
        self.confirmed = confirmed


@dataclass(frozen=True)
class Message:
    """One record of the stream: an audit event or a checkpoint (a witness record)."""

    msgid: str  # "pim-audit" (event) or "pim-audit-witness" (checkpoint)
    timestamp: str  # RFC 3339, UTC, microseconds: the event's time, or the checkpoint's
    severity: int  # 6 informational; 5 notice for refusals and failures
    seq: int
    hash: str
    line: str  # the JSON record

    def syslog_bytes(self, hostname: str, procid: str) -> bytes:
        data = f'[pim@32473 seq="{self.seq}" hash="{self.hash}"]'
        return (f"<{FACILITY_LOG_AUDIT * 8 + self.severity}>1 {self.timestamp} {hostname} pim-portal {procid} "
                f"{self.msgid} {data} {self.line}").encode()


def _header_token(text: str) -> str:
    """RFC 5424 HOSTNAME: printable US-ASCII without spaces, at most 255, '-' when unknown."""
    token = "".join(c for c in text if 33 <= ord(c) <= 126)[:255]
    return token or "-"


@dataclass(frozen=True)
class SyslogTlsSink:
    host: str
    port: int
    batch: int
    cafile: str | None
    certfile: str | None
    keyfile: str | None

    def __str__(self) -> str:
        return f"syslog+tls://{self.host}:{self.port}?batch={self.batch}"

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.cafile)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.certfile:
            context.load_cert_chain(self.certfile, self.keyfile)
        return context

    def deliver(self, messages: list[Message]) -> int:
        context = self._context()
        hostname, procid = _header_token(socket.gethostname()), str(os.getpid())
        confirmed = 0
        for start in range(0, len(messages), self.batch):
            chunk = messages[start:start + self.batch]
            try:
                self._send(context, b"".join(_octet_counted(m.syslog_bytes(hostname, procid)) for m in chunk))
            except (OSError, ssl.SSLError) as error:
                raise SiemError(f"{self}: {type(error).__name__}: {error}", confirmed=confirmed) from error
            confirmed += len(chunk)
        return confirmed

    def _send(self, context: ssl.SSLContext, data: bytes) -> None:
        raw = socket.create_connection((self.host, self.port), timeout=TIMEOUT_SECONDS)
        try:
            # Without it a connection's last segment waits for the peer's delayed ACK (40 ms a connection).
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = context.wrap_socket(raw, server_hostname=self.host)
            tls.sendall(data)
            try:
                tls.unwrap()  # our close_notify; returns once the receiver answers it
            except ssl.SSLEOFError:
                pass  # the receiver closed after reading everything, without a close_notify (rsyslog does)
        finally:
            raw.close()


def _octet_counted(message: bytes) -> bytes:
    return f"{len(message)} ".encode() + message


@dataclass(frozen=True)
class HttpSink:
    """POST of JSON lines (`application/x-ndjson`), one batch a request, signed as the webhooks are:
    `X-PIM-Timestamp`, `X-PIM-Signature: sha256=<HMAC of "<timestamp>.<body>" under PIM_SIEM_HTTP_SECRET>`;
    `X-PIM-Stream` names the consumer and `X-PIM-Batch` is `<first seq>-<last seq>` (the same first seq
    when a batch is sent again after an unanswered POST: store by `seq`, idempotently). 2xx is success."""

    url: str
    secret: str
    batch: int
    stream: str

    def __str__(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"

    def deliver(self, messages: list[Message]) -> int:
        confirmed = 0
        for start in range(0, len(messages), self.batch):
            chunk = messages[start:start + self.batch]
            body = "".join(f"{m.line}\n" for m in chunk).encode()
            timestamp = str(int(time.time()))
            signature = hmac.new(self.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            try:
                response = requests.post(self.url, data=body, timeout=TIMEOUT_SECONDS, allow_redirects=False, headers={
                    "Content-Type": "application/x-ndjson", "X-PIM-Timestamp": timestamp,
                    "X-PIM-Signature": f"sha256={signature}", "X-PIM-Stream": self.stream,
                    "X-PIM-Batch": f"{chunk[0].seq}-{chunk[-1].seq}"})
            except requests.RequestException as error:
                raise SiemError(f"{self}: {type(error).__name__}: {error}", confirmed=confirmed) from error
            if not 200 <= response.status_code < 300:
                raise SiemError(f"{self} answered HTTP {response.status_code}", confirmed=confirmed)
            confirmed += len(chunk)
        return confirmed


Sink = SyslogTlsSink | HttpSink


def _batch(query: dict, default: int, url: str) -> int:
    text = (query.get("batch") or [str(default)])[-1]
    if not text.isdigit() or not 1 <= int(text) <= 10_000:
        raise SiemError(f"{url}: batch must be a number from 1 to 10000")
    return int(text)


def siem_sink(url: str, *, stream: str = "") -> Sink:
    """The sink a PIM_SIEM_STREAMS URL names; a malformed one is an error, never a silent no-stream."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    query = parse_qs(parts.query)
    try:
        port = parts.port
    except ValueError:
        raise SiemError(f"{url}: the port is not a number")
    if scheme == "syslog+tls":
        if not parts.hostname:
            raise SiemError(f"{url}: use syslog+tls://host:port")
        return SyslogTlsSink(host=parts.hostname, port=port or 6514, batch=_batch(query, 1, url),
                             cafile=settings.PIM_SIEM_CA_FILE or None, certfile=settings.PIM_SIEM_CLIENT_CERT or None,
                             keyfile=settings.PIM_SIEM_CLIENT_KEY or None)
    if scheme in ("https", "http"):
        if not parts.hostname:
            raise SiemError(f"{url}: no host")
        if not settings.PIM_SIEM_HTTP_SECRET:
            raise SiemError(f"{url}: set PIM_SIEM_HTTP_SECRET to sign the POSTs of an HTTP stream")
        batch = _batch(query, 500, url)
        rest = urlencode([(k, v) for k, values in query.items() if k != "batch" for v in values])
        return HttpSink(url=urlunsplit(parts._replace(query=rest)), secret=settings.PIM_SIEM_HTTP_SECRET, batch=batch,
                        stream=stream)
    raise SiemError(f"{url}: unknown scheme; use syslog+tls://host:port or https://…")
