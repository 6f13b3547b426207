"""Directory intake models.

Each intake (SCIM clients, LDAP sources, OIDC providers, bulk import) keeps its models in its own
delimited section below; the shared intake state (a principal's source and external id) lives on
`assignments.Principal`.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

# --- SCIM 2.0 service provider (inbound provisioning) ---------------------------------------------------


class ScimClient(models.Model):
    """A provisioning client (an Entra ID enterprise application, an Okta app, Keycloak, …) that pushes
    users, groups and memberships to `/scim/v2/` with its own bearer tokens.

    Invariants: what a client creates is marked `Principal.external_source == source` ("scim:<pk>") and
    it sees and changes only those principals; its writes are audited as
    `directory_actor(job="scim", source_label=name)`. Created, renamed and deleted only through
    `directory.scim.clients` (audited).
    """

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def source(self) -> str:
        return f"scim:{self.pk}"


class ScimToken(models.Model):
    """A client's bearer token `scim_<prefix>_<secret>`.

    Invariants (as for API tokens): the secret is shown once at creation and only its sha256 is kept;
    `prefix` is public and finds the row, the hash is compared in constant time; every token expires;
    a revoked token (`revoked_at` set) never authenticates again and revocation is not undone;
    `last_used_at` is bumped at most once a minute by a guarded update.
    """

    client = models.ForeignKey(ScimClient, on_delete=models.CASCADE, related_name="tokens")
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(name="scim_token_expires_after_creation",
                                   condition=Q(expires_at__gt=models.F("created_at"))),
        ]

    def __str__(self) -> str:
        return f"{self.client} ({self.display_id})"

    @property
    def display_id(self) -> str:
        return f"scim_{self.prefix}_…"

    def is_usable_at(self, when) -> bool:
        return self.revoked_at is None and self.expires_at > when


class ScimResource(models.Model):
    """The SCIM side of a user or group a client provisioned: the attributes the portal has no column
    for (`name`, `emails`, the displayName as sent), kept so that a GET returns what was written.

    Invariants: one row per live SCIM resource; the principal's `external_source` is the client's
    source. `emails_index` is "\\n" + each email value lower-cased + "\\n" (filters on `emails` run in
    the database on it). `version` grows with every change (the ETag). A DELETE removes the row
    (the principal stays, disabled, with its history).
    """

    client = models.ForeignKey(ScimClient, on_delete=models.CASCADE, related_name="resources")
    principal = models.OneToOneField("assignments.Principal", on_delete=models.CASCADE, related_name="scim_resource")
    attributes = models.JSONField(default=dict, blank=True)
    emails_index = models.TextField(blank=True, default="")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["client", "created_at"], name="scim_resource_client_idx")]

    def __str__(self) -> str:
        return f"{self.client}: {self.principal}"


# --- Bulk import uploads -----------------------------------------------------------------------------


class ImportUpload(models.Model):
    """One uploaded import file between its dry run and its apply (`directory.bulk_import`).

    Invariants: only its uploader applies it, once (`applied_at` is set by a conditional update, so a
    double submit applies nothing twice), within `IMPORT_UPLOAD_TTL` of the upload. `data` is the file
    as uploaded; `report` the last run's report (dry run or apply)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    filename = models.CharField(max_length=200)
    format = models.CharField(max_length=4)
    data = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    report = models.JSONField(default=dict)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["uploaded_by", "created_at"], name="import_upload_by_idx")]

    def __str__(self) -> str:
        return f"{self.filename} ({self.created_at:%Y-%m-%d %H:%M})"


# --- LDAP / Active Directory sources (directory/ldap_sync.py) ----------------------------------------


class DirectorySource(models.Model):
    """An LDAP directory (Active Directory or OpenLDAP) the portal pulls users, groups and static
    memberships from, on the beat (full and incremental runs) or from an uploaded LDIF file.

    Invariants:
    - Principals it brings carry `external_source` = `source_key` ("ldap:<pk>") and their directory
      id (objectGUID / entryUUID) as `external_id`.
    - `bind_password_sealed` is sealed with `core.crypto` (never stored or shown in clear).
    - `url` empty means an LDIF-only source: the beat never runs it.
    - `watermark` is the highest change marker (modifyTimestamp or uSNChanged) of the last successful
      run, as the server wrote it; an incremental run reads entries changed at or after it.
    - `running_since` is the claim of the run in progress (a conditional update sets it), so two
      workers never run the same source at once; a claim older than `STALE_CLAIM` is abandoned.
    """

    class Preset(models.TextChoices):
        ACTIVE_DIRECTORY = "active_directory", "Active Directory"
        OPENLDAP = "openldap", "OpenLDAP"

    class DisabledMode(models.TextChoices):
        NONE = "", "No attribute (entries that leave the search are disabled at the next full run)"
        BITMASK = "bitmask", "Integer with a bit set (Active Directory userAccountControl, bit 0x2)"
        PRESENT = "present", "Any value means disabled (e.g. pwdAccountLockedTime)"
        EQUALS = "equals", "A given value means disabled"

    class ChangeAttribute(models.TextChoices):
        MODIFY_TIMESTAMP = "modifyTimestamp", "modifyTimestamp (OpenLDAP, any LDAP server)"
        USN_CHANGED = "uSNChanged", "uSNChanged (Active Directory, one domain controller)"

    name = models.CharField(max_length=200, unique=True)
    enabled = models.BooleanField(default=True)
    preset = models.CharField(max_length=20, choices=Preset.choices, default=Preset.ACTIVE_DIRECTORY)
    url = models.CharField(max_length=500, blank=True, help_text="ldap://host:389 or ldaps://host:636")
    start_tls = models.BooleanField(default=False)
    ca_certificate = models.TextField(blank=True, help_text="PEM; empty: the system's trusted CAs")
    bind_dn = models.CharField(max_length=500, blank=True)
    bind_password_sealed = models.TextField(blank=True)
    base_dns = models.TextField(help_text="One base DN a line")
    user_filter = models.CharField(max_length=1000)
    group_filter = models.CharField(max_length=1000)
    user_id_attribute = models.CharField(max_length=100)
    username_attribute = models.CharField(max_length=100)
    email_attribute = models.CharField(max_length=100, blank=True)
    email_fallback_attribute = models.CharField(max_length=100, blank=True)
    display_name_attribute = models.CharField(max_length=100, blank=True)
    group_id_attribute = models.CharField(max_length=100)
    group_name_attribute = models.CharField(max_length=100)
    member_attribute = models.CharField(max_length=100)
    disabled_attribute = models.CharField(max_length=100, blank=True)
    disabled_mode = models.CharField(max_length=10, choices=DisabledMode.choices, blank=True)
    disabled_value = models.CharField(max_length=200, blank=True)
    change_attribute = models.CharField(max_length=20, choices=ChangeAttribute.choices,
                                        default=ChangeAttribute.MODIFY_TIMESTAMP)
    page_size = models.PositiveIntegerField(default=500)
    timeout_seconds = models.PositiveIntegerField(default=30)
    full_every_minutes = models.PositiveIntegerField(default=24 * 60)
    incremental_every_minutes = models.PositiveIntegerField(default=15, help_text="0: no incremental runs")
    min_entries_percent = models.PositiveSmallIntegerField(
        default=50, help_text="A full run that reads fewer entries than this share of the last successful "
                              "one is refused (0: never)")
    watermark = models.CharField(max_length=40, blank=True)
    last_full_at = models.DateTimeField(null=True, blank=True)
    last_incremental_at = models.DateTimeField(null=True, blank=True)
    running_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def source_key(self) -> str:
        return f"ldap:{self.pk}"

    @property
    def base_dn_list(self) -> list[str]:
        return [line.strip() for line in self.base_dns.splitlines() if line.strip()]

    @property
    def has_password(self) -> bool:
        return bool(self.bind_password_sealed)

    @property
    def uses_tls(self) -> bool:
        return self.url.lower().startswith("ldaps://") or self.start_tls


class DirectorySyncRun(models.Model):
    """One run of a source: a full or incremental read from the server, or an LDIF import.

    Invariants: created `running` before anything is read and committed on its own, so a run that
    fails is recorded; it ends `succeeded`, `failed` (nothing changed: the error says why) or
    `refused` (the safety guard: it read implausibly few entries; nothing changed). The counts are
    those of the changes committed: a run applies in chunks, each writing the counts with its changes,
    so a run that failed while applying shows what its committed chunks did."""

    class Kind(models.TextChoices):
        FULL = "full", "Full"
        INCREMENTAL = "incremental", "Incremental"
        LDIF = "ldif", "LDIF import"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        REFUSED = "refused", "Refused (implausibly few entries)"

    source = models.ForeignKey(DirectorySource, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    users_read = models.PositiveIntegerField(default=0)
    groups_read = models.PositiveIntegerField(default=0)
    users_created = models.PositiveIntegerField(default=0)
    users_updated = models.PositiveIntegerField(default=0)
    users_disabled = models.PositiveIntegerField(default=0)
    users_unchanged = models.PositiveIntegerField(default=0)
    groups_created = models.PositiveIntegerField(default=0)
    groups_updated = models.PositiveIntegerField(default=0)
    groups_unchanged = models.PositiveIntegerField(default=0)
    memberships_added = models.PositiveIntegerField(default=0)
    memberships_removed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    watermark = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["source", "status", "kind", "started_at"], name="dirsync_run_source_idx")]

    def __str__(self) -> str:
        return f"{self.source} {self.kind} run at {self.started_at} ({self.status})"

    @property
    def entries_read(self) -> int:
        return self.users_read + self.groups_read


class DirectorySourceEntry(models.Model):
    """Which principal an entry of a source is, by its DN (lower-cased): how a group's `member` values
    are resolved in an incremental run that does not read every user again. Rewritten by full runs,
    kept up to date by incremental ones."""

    class Kind(models.TextChoices):
        USER = "user", "User"
        GROUP = "group", "Group"

    source = models.ForeignKey(DirectorySource, on_delete=models.CASCADE, related_name="entries")
    dn = models.CharField(max_length=1000)
    kind = models.CharField(max_length=5, choices=Kind.choices)
    principal = models.ForeignKey("assignments.Principal", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "dn"], name="dirsource_entry_unique_dn"),
            models.UniqueConstraint(fields=["source", "principal"], name="dirsource_entry_unique_principal"),
        ]

    def __str__(self) -> str:
        return self.dn

class DirectoryLdifUpload(models.Model):
    """An LDIF file uploaded for import, waiting for the worker (a large import outlasts a web request).
    Deleted by the worker once its run is recorded; holds directory data only that long."""

    source = models.ForeignKey(DirectorySource, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=255, blank=True)
    data = models.BinaryField()
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name or 'LDIF'} for {self.source_id}"

# --- end of LDAP / Active Directory sources -----------------------------------------------------------
