"""PIM_LOG_FORMAT=json: one JSON object a line, with the correlation id of the request being served
(the one its audit events and its X-Correlation-ID header carry), and the exception when there is one."""

import json
import logging
import uuid

from audit import context
from operations.jsonlog import JsonFormatter


def line(logger, *args, exc=False):
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        if exc:
            try:
                raise ValueError("boom")
            except ValueError:
                logger.exception(*args)
        else:
            logger.warning(*args)
    finally:
        logger.removeHandler(handler)
    text = JsonFormatter().format(records[-1])
    assert "\n" not in text.replace("\\n", "")
    return json.loads(text)


def test_a_line_inside_a_request_names_its_correlation_id_and_client():
    logger = logging.getLogger("tests.jsonlog")
    correlation = uuid.uuid4()
    with context.bind(correlation_id=correlation, client_ip="192.0.2.1"):
        data = line(logger, "approved %s for %s", "request 7", "bob")
    assert data["message"] == "approved request 7 for bob"
    assert data["correlation_id"] == str(correlation)
    assert data["client_ip"] == "192.0.2.1"
    assert data["level"] == "WARNING" and data["logger"] == "tests.jsonlog"
    assert data["time"].endswith("Z")


def test_a_line_outside_a_request_has_no_made_up_correlation_id_and_keeps_the_exception():
    data = line(logging.getLogger("tests.jsonlog"), "failed", exc=True)
    assert "correlation_id" not in data
    assert "ValueError: boom" in data["exception"]


def test_the_settings_switch_the_console_to_json_and_refuse_unknown_formats():
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    code = ("import logging, django; django.setup(); from django.conf import settings; "
            "print(settings.LOGGING['handlers']['console'].get('formatter')); "
            "logging.getLogger('x').warning('hello')")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "pim_portal.settings", "PIM_LOG_FORMAT": "json"}
    done = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "json", done.stderr
    assert json.loads(done.stderr.strip().splitlines()[-1])["message"] == "hello"
    env["PIM_LOG_FORMAT"] = "yaml"
    refused = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
                             timeout=60)
    assert refused.returncode != 0 and "PIM_LOG_FORMAT='yaml'" in refused.stderr
