"""Directory intake models. Each intake keeps its models in its own delimited section."""

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
