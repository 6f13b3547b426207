"""Signed checkpoints: HMAC-SHA256 over (kind, last seq, last hash, previous signature, time) with
PIM_AUDIT_SIGNING_KEY, each recorded in the chain, none when nothing happened; a key rotated into
PIM_AUDIT_SIGNING_KEY_FALLBACKS still verifies, an unknown key does not."""

from datetime import timedelta

import time_machine
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from audit.integrity import audit_chain_verify
from audit.models import AuditChainHead, AuditCheckpoint, AuditEvent
from audit.services import audit_event_record, checkpoint_signature_valid, signing_key_id
from audit.tasks import audit_checkpoint


def test_a_checkpoint_signs_the_head_and_is_recorded_in_the_chain(events):
    head = AuditChainHead.objects.get(pk=1)
    checkpoint = AuditCheckpoint.objects.get(pk=audit_checkpoint())
    assert (checkpoint.last_seq, checkpoint.last_hash, checkpoint.prev_signature) == (head.last_seq, head.last_hash, "")
    assert checkpoint.key_id == signing_key_id(settings.PIM_AUDIT_SIGNING_KEY)
    assert checkpoint_signature_valid(checkpoint=checkpoint)
    recorded = AuditEvent.objects.get(seq=head.last_seq + 1)
    assert recorded.action == "audit.checkpoint"
    assert recorded.after["signature"] == checkpoint.signature


def test_each_checkpoint_signs_the_previous_one_and_idle_periods_add_nothing(events):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        first = AuditCheckpoint.objects.get(pk=audit_checkpoint())
        clock.shift(timedelta(minutes=5))
        assert audit_checkpoint() is None  # nothing happened since: no new checkpoint, no new event
        audit_event_record(action="test.something")
        clock.shift(timedelta(minutes=5))
        second = AuditCheckpoint.objects.get(pk=audit_checkpoint())
    assert second.prev_signature == first.signature
    assert second.last_seq == first.last_seq + 2
    assert audit_chain_verify().checkpoints == 2


def test_the_beat_schedule_runs_the_task():
    entry = settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"]
    assert entry["task"] == "audit.tasks.audit_checkpoint" == audit_checkpoint.name


def test_a_rotated_key_kept_as_fallback_still_verifies_and_an_unknown_key_does_not(events):
    with override_settings(PIM_AUDIT_SIGNING_KEY="old-key", PIM_AUDIT_SIGNING_KEY_FALLBACKS=[]):
        audit_checkpoint()
    with override_settings(PIM_AUDIT_SIGNING_KEY="new-key", PIM_AUDIT_SIGNING_KEY_FALLBACKS=["old-key"]):
        audit_event_record(action="test.something")
        audit_checkpoint()
        assert audit_chain_verify().ok
    with override_settings(PIM_AUDIT_SIGNING_KEY="new-key", PIM_AUDIT_SIGNING_KEY_FALLBACKS=[]):
        result = audit_chain_verify()
    assert not result.ok and "unknown key" in result.reason


def test_the_default_key_is_derived_from_the_secret_key_but_is_not_it():
    assert settings.PIM_AUDIT_SIGNING_KEY
    assert settings.PIM_AUDIT_SIGNING_KEY != settings.SECRET_KEY
