"""LDAP / Active Directory sources: their configuration (directory administrators, fresh MFA, audited)
and their runs — full, incremental (entries changed since the last run's watermark) and LDIF imports.

A run reads everything first (`directory.ldap_client`), then checks that what it read is plausible,
then applies it in ONE transaction through the intake core (`directory.services`), so that:
- a run that fails to read (server down, half-way or from the start, TLS, bind, a bad base DN or file)
  changes nothing, is recorded `failed` and raises a "Directory sync failed or was refused" incident;
- a full run (or LDIF import) that reads fewer entries than `min_entries_percent` of the last
  successful one changes nothing, is recorded `refused` and raises the same incident;
- a run that succeeds clears that incident, and its counts are exactly what it committed.

Entries the portal cannot take (a username already used by another source, the last Global
Administrator disabled) are skipped one by one, each in its own savepoint, and listed on the run.
A full run disables the source's users that are no longer in it (which ends everything they hold)
and removes the directory memberships of its groups that are gone; incremental runs cannot see
deletions and leave that to the next full run.
"""

import logging
import time
from datetime import datetime, timedelta

from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone
from ldap3.core.exceptions import LDAPException
from ldap3.operation.search import parse_filter
from ldap3.utils.dn import parse_dn

from alerts.services import alert_directory_sync_recovered, alert_directory_sync_refused
from assignments import rules
from assignments.models import Principal, User
from assignments.services import audited_refusal
from audit.services import audit_event_record
from core.actors import Actor, as_actor
from core.crypto import UnsealError, seal, unseal
from core.errors import DomainError, conflict, invalid

from .ldap_apply import Applier
from .ldap_client import MAX_LDIF_BYTES, PRESETS, DirectoryRead, LdapReadError, ldap_read, ldap_test, ldif_read
from .models import DirectoryLdifUpload, DirectorySource, DirectorySyncRun
from .services import (
    directory_actor,
)

logger = logging.getLogger(__name__)

STALE_CLAIM = timedelta(hours=1)  # longer than any run; a claim older than this was left by a crashed worker

CONFIG_FIELDS = (
    "name", "enabled", "preset", "url", "start_tls", "ca_certificate", "bind_dn", "base_dns", "user_filter",
    "group_filter", "user_id_attribute", "username_attribute", "email_attribute", "email_fallback_attribute",
    "display_name_attribute", "group_id_attribute", "group_name_attribute", "member_attribute",
    "disabled_attribute", "disabled_mode", "disabled_value", "change_attribute", "page_size", "timeout_seconds",
    "full_every_minutes", "incremental_every_minutes", "min_entries_percent",
)
REQUIRED = ("name", "base_dns", "user_filter", "group_filter", "user_id_attribute", "username_attribute",
            "group_id_attribute", "group_name_attribute", "member_attribute")


def source_actor(source: DirectorySource, job: str = "ldap-sync") -> Actor:
    return directory_actor(job=job, source_label=source.name)


# --- configuration -----------------------------------------------------------------------------------


def _check_admin(actor) -> None:
    rules.check_directory_admin(actor=actor, what="manage directory sources")


def _check_mfa(actor, mfa_verified_at: datetime | None, what: str) -> None:
    rules.check_admin_mfa(actor=as_actor(actor).with_mfa_verified_at(mfa_verified_at), what=what)


def directory_source_defaults(preset: str) -> dict:
    """The attribute mapping and filters of a preset (Active Directory or OpenLDAP)."""
    if preset not in PRESETS:
        raise invalid("Choose Active Directory or OpenLDAP.", field="preset")
    return dict(PRESETS[preset])


def directory_source_problems(values: dict) -> tuple[dict, list[tuple[str, str]]]:
    """The configuration values cleaned, and every problem with them as (field, message), so that a
    form shows them all at once; the services refuse on the first."""
    clean = {name: values[name] for name in CONFIG_FIELDS if name in values}
    for name, value in clean.items():
        if isinstance(value, str):
            clean[name] = value.replace("\x00", "").strip()
    problems: list[tuple[str, str]] = []
    for name in REQUIRED:
        if not clean.get(name):
            problems.append((name, "This field is required."))
    url = clean.get("url", "")
    if url and not url.lower().startswith(("ldap://", "ldaps://")):
        problems.append(("url", "Use ldap://host[:port] or ldaps://host[:port]."))
    if clean.get("start_tls") and url.lower().startswith("ldaps://"):
        problems.append(("start_tls", "StartTLS is for ldap:// URLs; an ldaps:// URL already uses TLS."))
    if clean.get("ca_certificate") and "-----BEGIN CERTIFICATE-----" not in clean["ca_certificate"]:
        problems.append(("ca_certificate", "Paste the CA certificate in PEM form (-----BEGIN CERTIFICATE-----)."))
    for line in (clean.get("base_dns") or "").splitlines():
        if line.strip():
            try:
                parse_dn(line.strip())
            except LDAPException as error:
                problems.append(("base_dns", f"{line.strip()} is not a DN ({error})."))
    if clean.get("bind_dn") and "=" in clean["bind_dn"]:  # Active Directory also binds as user@domain
        try:
            parse_dn(clean["bind_dn"])
        except LDAPException as error:
            problems.append(("bind_dn", f"Not a DN ({error})."))
    for name in ("user_filter", "group_filter"):
        if clean.get(name):
            try:
                parse_filter(clean[name], None, auto_escape=False, auto_encode=True, validator=None,
                             check_names=False)
            except (LDAPException, IndexError, ValueError) as error:
                problems.append((name, f"Not an LDAP filter ({error})."))
    if clean.get("disabled_mode") and not clean.get("disabled_attribute"):
        problems.append(("disabled_attribute", "Name the attribute that says an account is disabled."))
    if clean.get("disabled_mode") == DirectorySource.DisabledMode.BITMASK:
        try:
            int(clean.get("disabled_value") or "2", 0)
        except ValueError:
            problems.append(("disabled_value", "The bit mask is a number (2 for userAccountControl's disabled bit)."))
    for name, low, high in (("page_size", 1, 10000), ("timeout_seconds", 1, 600), ("min_entries_percent", 0, 100),
                            ("full_every_minutes", 5, 60 * 24 * 31), ("incremental_every_minutes", 0, 60 * 24)):
        if clean.get(name) is not None and not low <= int(clean[name]) <= high:
            problems.append((name, f"Between {low} and {high}."))
    return clean, problems


def _clean(values: dict) -> dict:
    clean, problems = directory_source_problems(values)
    if problems:
        raise invalid(problems[0][1], field=problems[0][0])
    return clean


def _snapshot(source: DirectorySource) -> dict:
    snapshot = {name: getattr(source, name) for name in CONFIG_FIELDS if name != "ca_certificate"}
    snapshot["ca_certificate"] = bool(source.ca_certificate)
    snapshot["bind_password"] = "(set)" if source.bind_password_sealed else ""
    return snapshot


@audited_refusal("directory_source.create")
def directory_source_create(*, actor: User, values: dict, password: str = "",
                            mfa_verified_at: datetime | None = None) -> DirectorySource:
    """Configure a source (it will create users and groups: a privileged change)."""
    _check_admin(actor)
    clean = _clean({**directory_source_defaults(values.get("preset", DirectorySource.Preset.ACTIVE_DIRECTORY)),
                    **values})
    _check_mfa(actor, mfa_verified_at, "configure a directory source")
    now = timezone.now()
    with transaction.atomic():
        if DirectorySource.objects.filter(name__iexact=clean["name"]).exists():
            raise conflict("A directory source of that name exists.")
        source = DirectorySource.objects.create(**clean, bind_password_sealed=seal(password or ""), created_at=now,
                                                updated_at=now, created_by=actor)
        audit_event_record(action="directory_source.create", actor=actor, target=source, after=_snapshot(source))
    return source


@audited_refusal("directory_source.update")
def directory_source_update(*, actor: User, source: DirectorySource, values: dict, password: str | None = None,
                            mfa_verified_at: datetime | None = None) -> DirectorySource:
    """Change a source; `password` None keeps the stored one, "" removes it."""
    _check_admin(actor)
    clean = _clean({**{name: getattr(source, name) for name in CONFIG_FIELDS}, **values})
    _check_mfa(actor, mfa_verified_at, "change a directory source")
    with transaction.atomic():
        locked = DirectorySource.objects.select_for_update().get(pk=source.pk)
        if DirectorySource.objects.filter(name__iexact=clean["name"]).exclude(pk=locked.pk).exists():
            raise conflict("A directory source of that name exists.")
        before = _snapshot(locked)
        for name, value in clean.items():
            setattr(locked, name, value)
        if password is not None:
            locked.bind_password_sealed = seal(password)
        # Another server or other base DNs: the old watermark means nothing there.
        if before["url"] != locked.url or before["base_dns"] != locked.base_dns:
            locked.watermark = ""
        locked.updated_at = timezone.now()
        locked.save()
        after = _snapshot(locked)
        if password is not None:
            after["bind_password"] = "(changed)" if password else ""
        if before != after:
            audit_event_record(action="directory_source.update", actor=actor, target=locked, before=before,
                               after=after)
    return locked


@audited_refusal("directory_source.delete")
def directory_source_delete(*, actor: User, source: DirectorySource,
                            mfa_verified_at: datetime | None = None) -> dict:
    """Delete a source: its configuration, runs and DN index go; what it imported stays. Its users and
    groups keep their accounts, state and memberships (deleting a configuration is not offboarding:
    nobody is disabled, no membership ends) and are released: their `external_source` / `external_id`
    are cleared, so no run touches them again and they are managed in the portal from then on (a
    source added later links the users again by username). Refused while a run is in progress (the
    claim is read under the source's row lock, which a starting run's claim waits for). Audited, with
    how many users and groups were released. Returns those counts."""
    _check_admin(actor)
    _check_mfa(actor, mfa_verified_at, "delete a directory source")
    now = timezone.now()
    with transaction.atomic():
        locked = DirectorySource.objects.select_for_update().filter(pk=source.pk).first()
        if locked is None:
            raise conflict("This directory source was deleted already.")
        if locked.running_since is not None and locked.running_since >= now - STALE_CLAIM:
            raise conflict(f"A run of {locked.name} is in progress (since {locked.running_since:%Y-%m-%d %H:%M} "
                           f"UTC): wait for it to finish, then delete the source.")
        imported = Principal.objects.filter(external_source=locked.source_key)
        released = {"users": imported.filter(kind=Principal.Kind.USER).count(),
                    "groups": imported.filter(kind=Principal.Kind.GROUP).count()}
        imported.update(external_source="", external_id="")
        snapshot = _snapshot(locked)
        key = locked.source_key
        locked.delete()
        audit_event_record(action="directory_source.delete", actor=actor, target_type="directory.directorysource",
                           target_id=str(source.pk), target_label=snapshot["name"], before=snapshot,
                           after={"released": released},
                           message=f"Deleted. {released['users']} users and {released['groups']} groups it imported "
                                   f"stay, no longer synced.")
        alert_directory_sync_recovered(source_key=key, actor=source_actor(source))
    return released


def directory_source_test(*, actor: User, source: DirectorySource) -> tuple[bool, list[str]]:
    """*Test connection*: (worked, what it found or why not). Reads only; changes nothing."""
    _check_admin(actor)
    if not source.url:
        return False, ["This source has no URL: it only imports LDIF files."]
    try:
        return True, ldap_test(source, password=unseal(source.bind_password_sealed))
    except (LdapReadError, UnsealError) as error:
        return False, [str(error)]


# --- runs -----------------------------------------------------------------------------------------------


def _claim(source: DirectorySource, now: datetime) -> bool:
    return bool(DirectorySource.objects.filter(pk=source.pk).filter(
        Q(running_since__isnull=True) | Q(running_since__lt=now - STALE_CLAIM)).update(running_since=now))


def _release(source: DirectorySource, *, kind: str, now: datetime) -> None:
    stamp = {"last_incremental_at": now} if kind == DirectorySyncRun.Kind.INCREMENTAL else {"last_full_at": now}
    if kind == DirectorySyncRun.Kind.LDIF:
        stamp = {}
    DirectorySource.objects.filter(pk=source.pk).update(running_since=None, **stamp)


def _last_success(source: DirectorySource) -> DirectorySyncRun | None:
    return (DirectorySyncRun.objects.filter(source=source, status=DirectorySyncRun.Status.SUCCEEDED,
                                            kind__in=[DirectorySyncRun.Kind.FULL, DirectorySyncRun.Kind.LDIF])
            .order_by("-started_at", "-pk").first())


def _implausible(source: DirectorySource, read: DirectoryRead) -> str:
    """Why a full read looks like a broken directory or a wrong filter rather than the real one."""
    if not source.min_entries_percent:
        return ""
    previous = _last_success(source)
    if previous is None or not previous.entries_read:
        return ""
    now_read = len(read.users) + len(read.groups)
    if now_read * 100 < previous.entries_read * source.min_entries_percent:
        return (f"Read {now_read} entries ({len(read.users)} users, {len(read.groups)} groups); the last successful "
                f"run (#{previous.pk}, {previous.started_at:%Y-%m-%d %H:%M} UTC) read {previous.entries_read}. Under "
                f"{source.min_entries_percent}% of that is implausible, so nothing was changed. If the directory "
                f"really shrank, lower the source's minimum share and run it again.")
    return ""


def directory_sync_run(*, source: DirectorySource, kind: str, started_by: User | None = None,
                       ldif: bytes | None = None, on_page=None) -> DirectorySyncRun:
    """One run of `source`: full, incremental or an LDIF import (`ldif`, the file's bytes), applied by
    the system on behalf of the source. Callers check who may start it (`directory_sync_request`,
    `directory_ldif_import`; the beat is trusted). Returns the recorded run, whatever its outcome.
    `on_page(entries)` is called after each page read from the server."""
    if kind not in DirectorySyncRun.Kind.values:
        raise invalid("Unknown kind of run.")
    if kind == DirectorySyncRun.Kind.LDIF and ldif is None:
        raise invalid("Choose an LDIF file.", field="file")
    if kind != DirectorySyncRun.Kind.LDIF and not source.url:
        raise invalid("This source has no URL: import an LDIF file instead.")
    now = timezone.now()
    if not _claim(source, now):
        raise conflict(f"A run of {source.name} is in progress.")
    source.refresh_from_db()
    if kind == DirectorySyncRun.Kind.INCREMENTAL and not source.watermark:
        kind = DirectorySyncRun.Kind.FULL  # nothing to be incremental from yet
    run = DirectorySyncRun.objects.create(source=source, kind=kind, started_at=now, started_by=started_by)
    started = time.monotonic()
    system = source_actor(source, "ldap-import" if kind == DirectorySyncRun.Kind.LDIF else "ldap-sync")
    try:
        try:
            if kind == DirectorySyncRun.Kind.LDIF:
                read = ldif_read(source, ldif)
            else:
                since = source.watermark if kind == DirectorySyncRun.Kind.INCREMENTAL else ""
                read = ldap_read(source, password=unseal(source.bind_password_sealed), since=since, on_page=on_page)
        except (LdapReadError, UnsealError) as error:
            return _finish_unapplied(run, source, system, status=DirectorySyncRun.Status.FAILED, error=str(error),
                                     started=started)
        run.users_read, run.groups_read = len(read.users), len(read.groups)
        run.save(update_fields=["users_read", "groups_read"])
        full = kind != DirectorySyncRun.Kind.INCREMENTAL
        refusal = _implausible(source, read) if full else ""
        if refusal:
            return _finish_unapplied(run, source, system, status=DirectorySyncRun.Status.REFUSED, error=refusal,
                                     started=started)
        try:
            counts = Applier(source=source, run=run, read=read, full=full, actor=system).apply()
        except (DomainError, DatabaseError) as error:
            logger.exception("Directory sync run %s of %s stopped while applying", run.pk, source)
            run.refresh_from_db()  # the counts of the chunks that were committed
            run.skipped, run.problems = read.skipped, read.problems
            return _finish_unapplied(run, source, system, status=DirectorySyncRun.Status.FAILED,
                                     error=f"Applying the entries stopped part-way ({error}). The chunks committed "
                                           f"before stay, as the counts say; the watermark did not move, so the "
                                           f"next run applies the rest.", started=started)
        with transaction.atomic():
            run.status = DirectorySyncRun.Status.SUCCEEDED
            for name, value in vars(counts).items():
                setattr(run, name, value)
            run.skipped, run.problems = read.skipped, read.problems
            run.watermark = read.watermark if kind != DirectorySyncRun.Kind.LDIF else source.watermark
            _finish(run, started)
            if kind != DirectorySyncRun.Kind.LDIF:
                DirectorySource.objects.filter(pk=source.pk).update(watermark=run.watermark)
            alert_directory_sync_recovered(source_key=source.source_key, actor=system)
        return run
    finally:
        _release(source, kind=kind, now=timezone.now())


def _finish(run: DirectorySyncRun, started: float) -> None:
    run.finished_at = timezone.now()
    run.duration_ms = int((time.monotonic() - started) * 1000)
    run.save()


def _finish_unapplied(run: DirectorySyncRun, source: DirectorySource, system: Actor, *, status: str, error: str,
                      started: float) -> DirectorySyncRun:
    run.status, run.error = status, error[:5000]
    with transaction.atomic():
        _finish(run, started)
        audit_event_record(action="directory_sync.refused" if status == DirectorySyncRun.Status.REFUSED
                           else "directory_sync.failed", actor=system, target=source,
                           after={"run": run.pk, "kind": run.kind, "users_read": run.users_read,
                                  "groups_read": run.groups_read}, message=error[:2000])
        alert_directory_sync_refused(source_key=source.source_key, source_name=source.name, run_id=run.pk,
                                     reason=error, actor=system)
    return run


@audited_refusal("directory_sync.request")
def directory_sync_request(*, actor: User, source: DirectorySource, kind: str,
                           mfa_verified_at: datetime | None = None) -> None:
    """*Run now*: queue a full or incremental run of the source for the worker (a run creates users,
    so it is a privileged change). Audited; the run itself is recorded on its page."""
    from .tasks import ldap_sync_run  # the task module imports this one

    _check_admin(actor)
    if kind not in (DirectorySyncRun.Kind.FULL, DirectorySyncRun.Kind.INCREMENTAL):
        raise invalid("Run a full or an incremental sync.")
    if not source.url:
        raise invalid("This source has no URL: import an LDIF file instead.")
    _check_mfa(actor, mfa_verified_at, "run a directory sync")
    with transaction.atomic():
        audit_event_record(action="directory_sync.request", actor=actor, target=source, after={"kind": kind},
                           message=f"{kind.capitalize()} run requested.")
        transaction.on_commit(lambda: ldap_sync_run.delay(source_id=source.pk, kind=kind, user_id=actor.pk))


@audited_refusal("directory_sync.ldif_import")
def directory_ldif_import(*, actor: User, source: DirectorySource, data: bytes, name: str = "",
                          mfa_verified_at: datetime | None = None) -> DirectoryLdifUpload:
    """*Import an LDIF file*: queue the file for the worker, which runs its entries through the source's
    mapping and safety rules as a full run would apply them (users missing from the file are disabled;
    the implausibly-few guard applies) and records the run. Audited."""
    from .tasks import ldap_ldif_import  # the task module imports this one

    _check_admin(actor)
    if len(data) > MAX_LDIF_BYTES:
        raise invalid(f"The file is larger than {MAX_LDIF_BYTES // (1024 * 1024)} MB.", field="file")
    if not data.strip():
        raise invalid("The file is empty.", field="file")
    _check_mfa(actor, mfa_verified_at, "import an LDIF file")
    with transaction.atomic():
        upload = DirectoryLdifUpload.objects.create(source=source, name=name[:255], data=data, size=len(data),
                                                    uploaded_by=actor, created_at=timezone.now())
        audit_event_record(action="directory_sync.ldif_import", actor=actor, target=source,
                           after={"file": upload.name, "bytes": len(data)}, message="LDIF import queued.")
        transaction.on_commit(lambda: ldap_ldif_import.delay(upload_id=upload.pk))
    return upload


def directory_ldif_upload_run(*, upload: DirectoryLdifUpload) -> DirectorySyncRun:
    """The worker's part of an import: run the file, then forget it (its entries are in the run's
    outcome and the audit log). A source that is running now raises `conflict`: try again later."""
    run = directory_sync_run(source=upload.source, kind=DirectorySyncRun.Kind.LDIF, started_by=upload.uploaded_by,
                             ldif=bytes(upload.data))
    DirectoryLdifUpload.objects.filter(pk=upload.pk).delete()
    return run


# --- the beat -------------------------------------------------------------------------------------------


def directory_sources_due(*, now: datetime | None = None) -> list[tuple[DirectorySource, str]]:
    """Sources with a URL whose full or incremental run is due, and which kind."""
    now = now or timezone.now()
    due = []
    for source in DirectorySource.objects.filter(enabled=True).exclude(url="").order_by("pk"):
        if source.last_full_at is None or now - source.last_full_at >= timedelta(minutes=source.full_every_minutes):
            due.append((source, DirectorySyncRun.Kind.FULL))
        elif source.incremental_every_minutes:
            last = max(source.last_incremental_at or source.last_full_at, source.last_full_at)
            if last + timedelta(minutes=source.incremental_every_minutes) <= now:
                due.append((source, DirectorySyncRun.Kind.INCREMENTAL))
    return due


def directory_sync_due(*, now: datetime | None = None) -> list[DirectorySyncRun]:
    """Run every source that is due (the beat's job). A source already running is left to its run."""
    runs = []
    for source, kind in directory_sources_due(now=now):
        try:
            runs.append(directory_sync_run(source=source, kind=kind))
        except DomainError as error:
            logger.info("Directory source %s not run: %s", source, error.message)
    return runs
