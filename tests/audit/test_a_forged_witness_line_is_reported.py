"""Witness lines are signed with the audit signing key: a line added or edited without it (to make a
cut-back look witnessed, say) is reported by verify, with its line number."""

import json

from audit.integrity import audit_chain_verify
from audit.services import audit_event_record
from audit.tasks import audit_witness


def test_an_edited_witness_line_is_reported(events, witness):
    audit_event_record(action="test.witnessed")
    audit_witness()
    record = json.loads(witness.read_text())
    record["seq"] -= 1  # point the witness at an earlier event, keeping the real signature
    witness.write_text(witness.read_text() + json.dumps(record) + "\n")
    result = audit_chain_verify()
    assert not result.ok and "witness record at line 2 is not validly signed" in result.reason, result.summary()
