"""Every write path of a role setting (the service the page, the API and the alert fixes call) records
a version in the same transaction: who, when, why and the diff; the first keeps the state as found."""

import pytest
from django.db import transaction

from assignments import services
from assignments.models import RoleSetting
from core.config_changes import config_change_reason
from policy.models import ConfigVersion

KEY = "exchange-administrator@/"


def _versions():
    return list(ConfigVersion.objects.filter(kind="role_setting", key=KEY).order_by("number"))


def test_a_change_records_a_version_with_who_why_and_diff(directory, role_admin, as_verified):
    role = directory.role("exchange-administrator")
    before = RoleSetting.objects.get(role=role, scope=directory.root).max_activation_minutes
    known = len(_versions())
    assert known >= 1  # the bootstrap's creation of the setting is its first version
    with config_change_reason("shorter activations after the incident"):
        services.role_setting_update(actor=as_verified(role_admin), role=role, scope=directory.root,
                                     values={"max_activation_minutes": 90})
    versions = _versions()
    assert len(versions) == known + 1
    change = versions[-1]
    assert change.number == known + 1 and change.source == "change"
    assert change.created_by == role_admin and change.actor_label == str(role_admin)
    assert change.reason == "shorter activations after the incident"
    assert change.diff == [{"field": "max_activation_minutes", "before": before, "after": 90}]
    assert change.data["max_activation_minutes"] == 90


def test_a_setting_made_before_the_history_keeps_its_state_as_found_as_version_one(directory, role_admin,
                                                                                  as_verified):
    ConfigVersion.objects.all().delete()  # a portal upgraded with settings made before versioning
    role = directory.role("exchange-administrator")
    before = RoleSetting.objects.get(role=role, scope=directory.root).max_activation_minutes
    services.role_setting_update(actor=as_verified(role_admin), role=role, scope=directory.root,
                                 values={"max_activation_minutes": 90})
    baseline, change = _versions()
    assert (baseline.number, baseline.source, baseline.created_by) == (1, "baseline", None)
    assert baseline.data["max_activation_minutes"] == before
    assert (change.number, change.source) == (2, "change")


def test_an_unchanged_save_records_nothing(directory, role_admin, as_verified):
    role = directory.role("exchange-administrator")
    services.role_setting_update(actor=as_verified(role_admin), role=role, scope=directory.root,
                                 values={"max_activation_minutes": 90})
    known = len(_versions())
    services.role_setting_update(actor=as_verified(role_admin), role=role, scope=directory.root,
                                 values={"max_activation_minutes": 90})
    assert len(_versions()) == known


@pytest.mark.django_db(transaction=True)
def test_a_change_rolled_back_leaves_no_version(postgres, directory, role_admin, as_verified):
    role = directory.role("exchange-administrator")
    known = len(_versions())
    with pytest.raises(RuntimeError), transaction.atomic():
        services.role_setting_update(actor=as_verified(role_admin), role=role, scope=directory.root,
                                     values={"require_ticket_on_activation": True})
        raise RuntimeError("the caller's transaction fails after the write")
    assert len(_versions()) == known


def test_approvers_are_versioned_by_name_not_database_id(directory, role_admin, as_verified):
    role = directory.role("exchange-administrator")
    approver = directory.user("approver-one")
    services.role_setting_update(actor=as_verified(role_admin), role=role, scope=directory.root,
                                 values={"require_approval": True}, approver_ids=[approver.principal.pk])
    latest = _versions()[-1]
    assert latest.data["approvers"] == ["user:approver-one"]
    assert {"field": "approvers", "before": [], "after": ["user:approver-one"]} in latest.diff
