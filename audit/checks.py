"""System checks of the audit app: the external witness (audit/witness.py)."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from .witness_sinks import FileSink, HttpSink, WitnessError, witness_sink


@register(Tags.security)
def audit_witness_setting_is_valid(app_configs, **kwargs):
    """A malformed PIM_AUDIT_WITNESS would silently mean no witness: refuse it."""
    if not settings.PIM_AUDIT_WITNESS:
        return []
    try:
        witness_sink(settings.PIM_AUDIT_WITNESS)
    except WitnessError as error:
        return [Error(str(error), id="audit.E001")]
    return []


@register(Tags.security, deploy=True)
def audit_witness_is_configured(app_configs, **kwargs):
    if not settings.PIM_AUDIT_WITNESS:
        return [Warning(
            "The audit log has no external witness: whoever can rewrite the database can cut the log back to "
            "an older checkpoint, or rewrite its tail, and audit_verify still says intact.",
            hint="Set PIM_AUDIT_WITNESS to file:///path on another volume, syslog://host:port or https://… "
                 "(README, Security).", id="audit.W001")]
    try:
        sink = witness_sink(settings.PIM_AUDIT_WITNESS)
    except WitnessError:
        return []  # audit.E001 says why
    warnings = []
    if isinstance(sink, HttpSink) and not sink.url.lower().startswith("https://"):
        warnings.append(Warning("PIM_AUDIT_WITNESS posts over plain HTTP.", hint="Use an https:// endpoint.",
                                id="audit.W002"))
    if isinstance(sink, FileSink) and sink.path.resolve().is_relative_to(settings.VAR_DIR.resolve()):
        warnings.append(Warning(
            "The audit witness file is under PIM_VAR_DIR, beside the portal's own data.",
            hint="Put it on another volume or host that the database administrator cannot write.",
            id="audit.W003"))
    return warnings
