"""A consumer another streamer holds (its lease not run out) is skipped, so two streamers never send the
same events to one SIEM; a dead streamer's lease runs out. A malformed stream URL is an error."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.services import audit_event_record
from operations.models import SiemStream
from operations.siem import siem_stream_deliver
from operations.siem_sinks import SiemError, siem_sink


@pytest.mark.django_db
def test_a_held_lease_skips_the_consumer_until_it_runs_out(settings):
    settings.PIM_SIEM_HTTP_SECRET = "s"
    audit_event_record(action="test.siem")
    now = timezone.now()
    SiemStream.objects.create(name="soc", lease_owner="other", lease_until=now + timedelta(seconds=30))
    # Port 9 refuses: had the streamer gone ahead, the stream row would carry its error.
    assert siem_stream_deliver(name="soc", url="http://127.0.0.1:9/in", now=now) == 0
    assert SiemStream.objects.get(name="soc").last_error == ""
    assert siem_stream_deliver(name="soc", url="http://127.0.0.1:9/in", now=now + timedelta(seconds=31)) == 0
    stream = SiemStream.objects.get(name="soc")
    assert "ConnectionError" in stream.last_error and stream.lease_owner == ""


@pytest.mark.parametrize("url, message", [
    ("syslog+tcp://siem:514", "unknown scheme"),
    ("syslog+tls://:6514", "use syslog"),
    ("syslog+tls://siem:65x", "port is not a number"),
    ("syslog+tls://siem:6514?batch=0", "batch must be a number"),
    ("https://siem.example.com/in", "PIM_SIEM_HTTP_SECRET"),
])
def test_malformed_destinations_are_refused(url, message, settings):
    settings.PIM_SIEM_HTTP_SECRET = ""
    with pytest.raises(SiemError, match=message):
        siem_sink(url)


def test_the_settings_refuse_a_malformed_list():
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    code = "import django; django.setup(); from django.conf import settings; print(settings.PIM_SIEM_STREAMS)"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "pim_portal.settings",
           "PIM_SIEM_STREAMS": "soc=syslog+tls://siem:6514, archive=https://a.example/in"}
    done = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "{'soc': 'syslog+tls://siem:6514', 'archive': 'https://a.example/in'}", done.stderr
    for bad in ("syslog+tls://siem:6514", "soc=a,soc=b", "s c=https://x"):
        env["PIM_SIEM_STREAMS"] = bad
        refused = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
                                 timeout=60)
        assert refused.returncode != 0 and "PIM_SIEM_STREAMS" in refused.stderr, bad


def test_the_system_check_names_a_stream_that_cannot_work(settings):
    from django.core.checks import run_checks

    settings.PIM_SIEM_HTTP_SECRET = "s"
    settings.PIM_SIEM_STREAMS = {"soc": "syslog+udp://siem:514", "archive": "http://archive.example.com/in",
                                 "local": "http://127.0.0.1:8080/in", "ok": "syslog+tls://siem:6514"}
    found = {(message.id, message.msg.split(":")[0]) for message in run_checks()
             if message.id.startswith("operations.")}
    plain = "PIM_SIEM_STREAMS archive sends the audit log over plain HTTP to archive.example.com"
    assert found == {("operations.E001", "PIM_SIEM_STREAMS soc"), ("operations.W001", plain)}
