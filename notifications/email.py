"""Email through the outbox: one row per recipient per event, rendered when enqueued.

Templates: `templates/<template>_subject.txt`, `<template>.txt` and `<template>.html` (the HTML part
is optional). The subject gets the `PIM: ` prefix. Links in the context should be absolute
(`absolute_url(path)`).
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string

from .models import OutboxMessage
from .outbox import PermanentDeliveryError, outbox_enqueue

CHANNEL = "email"


def absolute_url(path: str) -> str:
    return settings.SITE_URL + path if path.startswith("/") else path


def email_render(*, template: str, context: dict) -> tuple[str, str, str | None]:
    ctx = {"site_url": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"{template}_subject.txt", ctx).split())
    text = render_to_string(f"{template}.txt", ctx)
    try:
        html = render_to_string(f"{template}.html", ctx)
    except TemplateDoesNotExist:
        html = None
    return settings.EMAIL_SUBJECT_PREFIX + subject, text, html


def email_enqueue(*, recipients: list[str], template: str, context: dict, dedupe_key: str,
                  correlation_id=None) -> int:
    """Queue one email per distinct recipient (case-insensitive), in the caller's transaction.
    `dedupe_key` names the event; the recipient is appended, so each recipient gets it once."""
    subject, text, html = email_render(template=template, context=context)
    seen: set[str] = set()
    for address in recipients:
        address = (address or "").strip()
        if not address or "@" not in address or address.lower() in seen:
            continue
        seen.add(address.lower())
        outbox_enqueue(channel=CHANNEL, dedupe_key=f"{dedupe_key}:{address.lower()}",
                       payload={"to": address, "subject": subject, "text": text, "html": html},
                       correlation_id=correlation_id)
    return len(seen)


def deliver_email(message: OutboxMessage) -> None:
    payload = message.payload
    if "@" not in payload.get("to", ""):
        raise PermanentDeliveryError(f"Not an email address: {payload.get('to')!r}")
    mail = EmailMultiAlternatives(subject=payload["subject"], body=payload["text"], to=[payload["to"]],
                                  from_email=settings.DEFAULT_FROM_EMAIL,
                                  headers={"X-PIM-Outbox-Id": str(message.pk)})
    if payload.get("html"):
        mail.attach_alternative(payload["html"], "text/html")
    mail.send(fail_silently=False)
