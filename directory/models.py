"""Directory intake: the files administrators upload for a bulk import."""

import uuid

from django.conf import settings
from django.db import models


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
