"""System checks of the operations settings: a SIEM stream that cannot work stops `manage.py check` (and so
`migrate` and the deploy check) instead of failing quietly in the beat job."""

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

from .siem_sinks import SiemError, siem_sink


@checks.register()
def siem_streams_check(app_configs=None, **kwargs):
    problems = []
    for name, url in settings.PIM_SIEM_STREAMS.items():
        try:
            siem_sink(url, stream=name)
        except SiemError as error:
            problems.append(checks.Error(f"PIM_SIEM_STREAMS {name}: {error}", id="operations.E001"))
            continue
        parts = urlsplit(url)
        if parts.scheme.lower() == "http" and not _loopback(parts.hostname or ""):
            problems.append(checks.Warning(
                f"PIM_SIEM_STREAMS {name} sends the audit log over plain HTTP to {parts.hostname}",
                hint="Use https:// (the POSTs are signed, but the events would travel readable).",
                id="operations.W001"))
    return problems


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
