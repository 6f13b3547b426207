"""Deploy checks of the portal's own settings (`manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def audit_signing_key_check(app_configs, **kwargs):
    if not settings.PIM_AUDIT_SIGNING_KEY_DERIVED:
        return []
    return [Warning(
        "PIM_AUDIT_SIGNING_KEY is not set: audit checkpoints are signed with a key derived from "
        "DJANGO_SECRET_KEY, so rotating the secret key makes earlier checkpoints unverifiable and whoever "
        "holds the secret key can re-sign a rewritten log.",
        hint="Set PIM_AUDIT_SIGNING_KEY to a long random value kept away from database administrators.",
        id="pim_portal.W001")]


@register(Tags.security, Tags.caches, deploy=True)
def shared_cache_check(app_configs, **kwargs):
    if settings.PIM_CACHE_URL or settings.PIM_WEB_WORKERS <= 1:
        return []
    return [Warning(
        f"{settings.PIM_WEB_WORKERS} web workers without PIM_CACHE_URL: each process keeps its own sign-in "
        "rate limits and API throttles, so the limits are that many times looser.",
        hint="Point PIM_CACHE_URL at Redis (e.g. redis://redis:6379/1).",
        id="pim_portal.W002")]
