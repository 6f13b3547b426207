import pytest


@pytest.fixture
def events(directory, global_admin):
    """A few real events written through the services (scopes, a user, assignments), plus some with
    awkward content for the canonical form: non-ASCII text, nested JSON, IPv6 client addresses."""
    from audit import context
    from audit.services import audit_event_record

    directory.scope("/subscriptions/s1/resourceGroups/rg1")
    with context.bind(client_ip="2001:DB8:0:0::1"):
        audit_event_record(action="test.unicode", actor=global_admin, justification="Zürich — 東京 ✓",
                           before={"b": [1, 2.5, {"z": None, "a": "é"}], "a": True},
                           after={"n": 10**15, "big": 1e20, "small": 1e-7, "x": 0.1, "neg": -2.0})
    with context.bind(client_ip="192.0.2.7"):
        audit_event_record(action="test.formula", actor=global_admin, justification="=HYPERLINK(\"x\")",
                           ticket="+1 555", message="-2", after={"v": "@SUM(A1)"})
    return global_admin


@pytest.fixture
def witness(settings, tmp_path):
    """A file witness (the sink audit_verify reads back), written every 1000 events or 60 s by default."""
    path = tmp_path / "witness" / "audit-witness.jsonl"
    path.parent.mkdir()
    settings.PIM_AUDIT_WITNESS = path.as_uri()
    settings.PIM_AUDIT_WITNESS_EVERY_EVENTS = 1000
    settings.PIM_AUDIT_WITNESS_EVERY_SECONDS = 60
    return path


@pytest.fixture
def celery_eager():
    """Tasks queued on commit run inline, as a worker would run them right after."""
    from pim_portal.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = previous


@pytest.fixture
def witness_records(witness):
    """The records in the witness file so far."""
    import json

    def read():
        return [json.loads(line) for line in witness.read_text().splitlines()] if witness.exists() else []

    return read
