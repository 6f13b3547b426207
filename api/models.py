"""API credentials: personal tokens of people and credentials of service principals.

Writes go through `api.services`; the authentication lookup through `api.selectors`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class ApiToken(models.Model):
    """A bearer credential `pim_<prefix>_<secret>`.

    Invariants:
    - The secret is shown once, at creation; only `secret_hash` (sha256 hex of the secret) is stored.
      `prefix` is public, unique and used to find the row; the hash is compared in constant time.
    - `principal` is who the token acts as. A personal token has `user` set and `principal` is that
      user's principal; a service-principal credential has `user` null and `principal.kind` is
      `service_principal` (services check that; the constraint below keeps `user` and kind apart).
    - Every token expires (`expires_at` is required). A revoked token (`revoked_at` set) never
      authenticates again; revocation is a guarded update and is not undone.
    - `last_used_at` is bumped at most once a minute (one guarded update), so reads stay cheap.
    - `purpose` "administration": a personal token created right after a fresh MFA verification
      (recorded in `mfa_verified_at`; emergency access accounts are exempt and may have none) with a
      short lifetime (`PIM_API_ADMIN_TOKEN_MINUTES`). Only such a token makes privileged
      administrative changes; a general token never can.
    - `purpose` "cli": a personal token the `pim` command line received through a device-code sign-in
      (`DeviceAuthorization`), approved in the browser right after a step-up; `mfa_verified_at` is that
      step-up, and self-service actions that ask for MFA accept it while it is fresh (as the portal
      session's own step-up), never a privileged administrative change. Lives PIM_CLI_TOKEN_HOURS.
    """

    class Kind(models.TextChoices):
        PERSONAL = "personal", "Personal token"
        SERVICE_PRINCIPAL = "service_principal", "Service principal credential"

    class Purpose(models.TextChoices):
        GENERAL = "general", "General"
        ADMINISTRATION = "administration", "Administration (privileged changes, short-lived)"
        CLI = "cli", "Command-line sign-in (device code)"

    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    purpose = models.CharField(max_length=20, choices=Purpose.choices, default=Purpose.GENERAL)
    # The creator's MFA step-up an administrative token was created after (audited with the creation).
    mfa_verified_at = models.DateTimeField(null=True, blank=True)
    principal = models.ForeignKey("assignments.Principal", on_delete=models.CASCADE, related_name="api_tokens")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="api_tokens"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                name="api_token_user_iff_personal",
                condition=(Q(kind="personal", user__isnull=False) | Q(kind="service_principal", user__isnull=True)),
            ),
            models.CheckConstraint(name="api_token_expires_after_creation",
                                   condition=Q(expires_at__gt=models.F("created_at"))),
            models.CheckConstraint(
                name="api_token_administration_is_personal",
                condition=Q(purpose="general") | Q(purpose__in=["administration", "cli"], kind="personal"),
            ),
        ]
        indexes = [models.Index(fields=["principal", "created_at"], name="api_token_principal_idx")]

    def __str__(self) -> str:
        return f"{self.name} (pim_{self.prefix}_…)"

    def is_usable_at(self, when) -> bool:
        return self.revoked_at is None and self.expires_at > when

    @property
    def is_administrative(self) -> bool:
        return self.purpose == self.Purpose.ADMINISTRATION

    @property
    def display_id(self) -> str:
        return f"pim_{self.prefix}_…"


class DeviceAuthorization(models.Model):
    """A device-code sign-in of a command-line client (RFC 8628's flow): the client asks for a code, the
    person opens the verification page in a browser, signs in, passes the MFA step-up and approves; the
    client, polling, then receives a personal token (purpose "cli") once.

    Invariants:
    - Only `device_code_hash` (sha256 of the secret device code the client polls with) is stored; the
      short `user_code` the person types is unique among the authorizations still pending.
    - Status moves pending → approved | denied → (approved only) issued, by conditional updates; a
      pending or approved one past `expires_at` is expired and can do nothing more.
    - `token` is set exactly when status is issued; it is the one token this sign-in ever gives.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the person"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        ISSUED = "issued", "Token issued"

    device_code_hash = models.CharField(max_length=64, unique=True)
    user_code = models.CharField(max_length=9)
    client_name = models.CharField(max_length=100)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    interval_seconds = models.PositiveSmallIntegerField(default=5)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    mfa_verified_at = models.DateTimeField(null=True, blank=True)
    token = models.OneToOneField(ApiToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user_code"], condition=Q(status="pending"),
                                    name="device_authorization_pending_user_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.client_name} ({self.user_code}, {self.status})"

    def is_expired_at(self, when) -> bool:
        return self.expires_at <= when
