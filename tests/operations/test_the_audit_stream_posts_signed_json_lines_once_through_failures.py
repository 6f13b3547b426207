"""The audit log streamed as JSON lines over HTTP: signed POSTs (X-PIM-Signature over the timestamp and
the body), one batch a request, every event once and in order; a batch the receiver refuses (500) or
drops is sent again from the cursor, and the cursor moves only by what a 2xx confirmed."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from audit.models import AuditChainHead
from audit.services import audit_checkpoint_create, audit_event_record
from operations.models import SiemStream
from operations.siem import siem_stream_deliver

SECRET = "siem-http-secret-for-tests"


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 — http.server's hook name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server = self.server
        server.posts.append((dict(self.headers), body))
        if server.fail_next:
            server.fail_next -= 1
            self.send_response(500)
            self.end_headers()
            return
        expected = hmac.new(SECRET.encode(), self.headers["X-PIM-Timestamp"].encode() + b"." + body,
                            hashlib.sha256).hexdigest()
        if self.headers["X-PIM-Signature"] != f"sha256={expected}":
            self.send_response(401)
            self.end_headers()
            return
        server.lines.extend(json.loads(line) for line in body.decode().splitlines())
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(settings):
    settings.PIM_SIEM_HTTP_SECRET = SECRET
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.posts, server.lines, server.fail_next = [], [], 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/in?batch=40&tenant=pim"
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.django_db
def test_json_lines_arrive_signed_once_and_in_order_through_a_refused_batch(receiver):
    for i in range(100):
        audit_event_record(action="test.siem", message=f"event {i}")
    audit_checkpoint_create()
    head = AuditChainHead.objects.get(pk=1).last_seq

    receiver.fail_next = 1
    assert siem_stream_deliver(name="archive", url=receiver.url) == 0  # the first batch was refused
    stream = SiemStream.objects.get(name="archive")
    assert stream.last_seq == 0 and "HTTP 500" in stream.last_error
    sent = siem_stream_deliver(name="archive", url=receiver.url)
    assert sent == head + 1  # every event and the checkpoint

    events = [line for line in receiver.lines if line["type"] == "pim-audit-event"]
    assert [event["seq"] for event in events] == list(range(1, head + 1))
    [checkpoint] = [line for line in receiver.lines if line["type"] == "pim-audit-witness"]
    assert checkpoint["seq"] == head - 1 and checkpoint["signature"]
    headers = [headers for headers, _ in receiver.posts]
    assert {h["Content-Type"] for h in headers} == {"application/x-ndjson"}
    assert {h["X-PIM-Stream"] for h in headers} == {"archive"}
    assert headers[0]["X-PIM-Batch"] == headers[1]["X-PIM-Batch"] == "1-40"  # the refused batch, sent again
    assert all("batch=" not in h.get("Host", "") for h in headers)
    assert SiemStream.objects.get(name="archive").last_seq == head


@pytest.mark.django_db
def test_an_unreachable_receiver_keeps_the_cursor_and_says_why(settings):
    settings.PIM_SIEM_HTTP_SECRET = SECRET
    audit_event_record(action="test.siem")
    assert siem_stream_deliver(name="archive", url="http://127.0.0.1:9/in") == 0
    stream = SiemStream.objects.get(name="archive")
    assert stream.last_seq == 0 and stream.failing_since is not None and "ConnectionError" in stream.last_error
