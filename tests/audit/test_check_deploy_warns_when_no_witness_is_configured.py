"""`manage.py check --deploy` warns when the audit log has no external witness, and any check refuses
a malformed PIM_AUDIT_WITNESS (which would otherwise quietly mean no witness)."""

import pytest
from django.core.checks import run_checks


def ids(deploy=True):
    return {message.id for message in run_checks(include_deployment_checks=deploy)}


def test_no_witness_warns_on_deploy_only(settings):
    settings.PIM_AUDIT_WITNESS = ""
    assert "audit.W001" in ids()
    assert "audit.W001" not in ids(deploy=False)


def test_a_witness_on_another_volume_passes(settings, tmp_path):
    settings.PIM_AUDIT_WITNESS = (tmp_path / "witness.jsonl").as_uri()
    assert not {"audit.W001", "audit.W003", "audit.E001"} & ids()


def test_a_witness_file_beside_the_portal_data_warns(settings):
    settings.PIM_AUDIT_WITNESS = (settings.VAR_DIR / "witness.jsonl").as_uri()
    assert "audit.W003" in ids()


@pytest.mark.parametrize("value", ["witness.jsonl", "file://relative/witness", "syslog://host:notaport",
                                   "https://witness.example.com/in", "ftp://witness.example.com/"])
def test_a_malformed_witness_is_an_error(settings, value):
    settings.PIM_AUDIT_WITNESS_SECRET = ""
    settings.PIM_AUDIT_WITNESS = value
    assert "audit.E001" in ids(deploy=False)
