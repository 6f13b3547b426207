from django.conf import settings
from django.db import models


class EnrolmentCode(models.Model):
    """A one-time code that lets a user enrol their first authenticator: something a password thief
    does not have. It reaches the user by email (they ask for it on the enrolment page) or from a
    directory administrator (issued on the user's page and handed over by a trusted channel).

    Invariants: only a keyed hash of the code is stored (`code_hash`); a code is live while
    `used_at`, `voided_at` are empty and `expires_at` is in the future; it is used at most once (a
    conditional update sets `used_at`); issuing a new code voids the user's older live codes; too
    many wrong entries void it.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "Emailed to the user"
        ADMIN = "admin", "Issued by an administrator"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrolment_codes")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    code_hash = models.CharField(max_length=64)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["user", "expires_at"], name="accounts_enrolcode_user_exp")]

    def __str__(self) -> str:
        return f"Enrolment code {self.pk} for user {self.user_id} ({self.channel})"
