"""The syslog sinks send RFC 5424 messages (UDP, and TCP with octet counting) whose message is the
witness record; the HTTP sink POSTs the records signed like the webhooks. What a receiver keeps,
exported to a file, is what `audit_verify --witness` checks."""

import hashlib
import hmac
import io
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.management import call_command

from audit.services import audit_checkpoint_create
from audit.witness import audit_witness_write

SECRET = "witness-secret-for-tests"


@pytest.fixture
def udp_receiver():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


@pytest.fixture
def tcp_receiver():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    received = bytearray()

    def serve():
        connection, _ = server.accept()
        with connection:
            while chunk := connection.recv(65536):
                received.extend(chunk)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], received, thread
    server.close()


@pytest.fixture
def http_receiver():
    posts = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            posts.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], posts
    server.shutdown()
    server.server_close()


def verify_against(lines, tmp_path):
    export = tmp_path / "exported-witness.log"
    export.write_text("".join(f"{line}\n" for line in lines))
    out = io.StringIO()
    call_command("audit_verify", "--witness", str(export), stdout=out)
    return out.getvalue()


def test_udp_syslog(events, settings, udp_receiver, tmp_path):
    settings.PIM_AUDIT_WITNESS = f"syslog://127.0.0.1:{udp_receiver.getsockname()[1]}"
    audit_checkpoint_create()
    assert audit_witness_write() == 2  # the checkpoint and the head after its own event
    messages = [udp_receiver.recv(65536).decode() for _ in range(2)]
    assert all(re.match(r"<110>1 \S+Z \S+ pim-portal \d+ pim-audit-witness - \{", m) for m in messages), messages
    assert "witness agrees: 2 records" in verify_against(messages, tmp_path)


def test_tcp_syslog_with_octet_counting(events, settings, tcp_receiver, tmp_path):
    port, received, thread = tcp_receiver
    settings.PIM_AUDIT_WITNESS = f"syslog+tcp://127.0.0.1:{port}"
    audit_checkpoint_create()
    assert audit_witness_write() == 2
    thread.join(timeout=5)
    messages, data = [], bytes(received)
    while data:
        length, _, rest = data.partition(b" ")
        messages.append(rest[:int(length)].decode())
        data = rest[int(length):]
    assert len(messages) == 2
    assert "witness agrees: 2 records" in verify_against(messages, tmp_path)


def test_https_post_is_signed(events, settings, http_receiver, tmp_path):
    port, posts = http_receiver
    settings.PIM_AUDIT_WITNESS = f"http://127.0.0.1:{port}/witness"
    settings.PIM_AUDIT_WITNESS_SECRET = SECRET
    audit_checkpoint_create()
    assert audit_witness_write() == 2
    [(headers, body)] = posts
    expected = hmac.new(SECRET.encode(), headers["X-PIM-Timestamp"].encode() + b"." + body, hashlib.sha256)
    assert headers["X-PIM-Signature"] == f"sha256={expected.hexdigest()}"
    assert headers["Content-Type"] == "application/x-ndjson"
    assert "witness agrees: 2 records" in verify_against(body.decode().splitlines(), tmp_path)
