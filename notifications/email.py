"""Email through the outbox: one row per recipient per event.

Templates: `templates/<template>_subject.txt`, `<template>.txt` and `<template>.html` (the HTML part
is optional). The subject gets the `PIM: ` prefix. Links in the context should be absolute
(`absolute_url(path)`).

Rendering happens when the row is *delivered* when the context is plain JSON (strings, numbers,
lists, dicts): the payload keeps `template` and `context`, so a write that queues mail never renders
templates (cheap, and a template error can never break a domain write) and a sweep can queue
100,000 messages with one bulk insert. A context holding objects is rendered at once, as before.

An email that carries a secret (an enrolment code, a password reset link) is queued with
`sealed=True`: its context (or its rendering) is stored sealed with `core.crypto` under the key
`sealed` (the template's name stays readable), so the outbox row, its backups and the read-only
admin never hold the secret in clear; the relay unseals it when it sends.
"""

import email.policy
import json
import logging
import random
import re
import smtplib
import sys
from datetime import UTC
from email.utils import formatdate, make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends import smtp as smtp_backend
from django.core.mail.message import DNS_NAME, forbid_multi_line_headers, sanitize_address
from django.db import IntegrityError, connection, transaction
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone

from core.crypto import UnsealError, seal, unseal

from .models import OutboxMessage
from .outbox import PermanentDeliveryError, outbox_initial_state, outbox_kick_on_commit

logger = logging.getLogger(__name__)

CHANNEL = "email"


def absolute_url(path: str) -> str:
    return settings.SITE_URL + path if path.startswith("/") else path


def email_render(*, template: str, context: dict) -> tuple[str, str, str | None]:
    ctx = {"site_url": settings.SITE_URL, "site_name": settings.PIM_SITE_NAME, **context}
    # Emails say "UTC": render them in UTC even when queued from a page showing the person's own zone.
    with timezone.override(UTC):
        subject = " ".join(render_to_string(f"{template}_subject.txt", ctx).split())
        text = render_to_string(f"{template}.txt", ctx)
        try:
            html = render_to_string(f"{template}.html", ctx)
        except TemplateDoesNotExist:
            html = None
    return settings.EMAIL_SUBJECT_PREFIX + subject, text, html


def _is_plain(context: dict) -> bool:
    try:
        return json.loads(json.dumps(context)) == context
    except (TypeError, ValueError):
        return False


def _distinct(recipients) -> list[str]:
    seen: dict[str, str] = {}
    for address in recipients:
        address = (address or "").strip()
        if address and "@" in address and address.lower() not in seen:
            seen[address.lower()] = address
    return list(seen.values())


# Templates of the emails someone waits on (OutboxMessage.Priority.ACTIONABLE): the relay sends them
# before informational notices, so a sweep's backlog never delays an approval or a sign-in.
ACTIONABLE_TEMPLATES = frozenset({
    "email/approval_request", "email/mfa_enrolment_code", "email/password_reset",
    "email/alert_emergency_sign_in", "email/alert_incident",
})


def email_priority(template: str) -> int:
    if template in ACTIONABLE_TEMPLATES:
        return OutboxMessage.Priority.ACTIONABLE
    return OutboxMessage.Priority.INFORMATIONAL


def email_dedupe_key(dedupe_key: str, address: str) -> str:
    return f"{dedupe_key}:{address.lower()}"[:255]


def email_enqueue(*, recipients: list[str], template: str, context: dict, dedupe_key: str,
                  correlation_id=None, sealed: bool = False) -> int:
    """Queue one email per distinct recipient (case-insensitive), in the caller's transaction.
    `dedupe_key` names the event; the recipient is appended, so each recipient gets it once.
    `sealed`: the email carries a secret, stored sealed until it is sent (see the module's doc)."""
    return email_enqueue_each([(recipients, template, context, dedupe_key, correlation_id)], sealed=sealed)


def email_enqueue_each(items, *, sealed: bool = False) -> int:
    """`email_enqueue` for several notices of one event at once (`items` as for `email_enqueue_many`,
    contexts plain or not): one INSERT … ON CONFLICT DO NOTHING for all of them, so a recipient already
    queued for a notice (same key) keeps the row it has. The relay is kicked once per transaction."""
    now = timezone.now()
    state = outbox_initial_state(now)
    messages = []
    for recipients, template, context, dedupe_key, correlation_id in items:
        addresses = _distinct(recipients)
        if not addresses:
            continue
        if _is_plain(context):
            body = {"template": template, "context": context}
        else:
            subject, text, html = email_render(template=template, context=context)
            body = {"subject": subject, "text": text, "html": html}
        if sealed:  # the template's name stays readable; what it is rendered with does not
            body = {**({"template": template} if "template" in body else {}),
                    "sealed": seal(json.dumps({key: value for key, value in body.items() if key != "template"}))}
        messages += [OutboxMessage(channel=CHANNEL, dedupe_key=email_dedupe_key(dedupe_key, address),
                                   payload={"to": address, **body}, available_at=now, created_at=now,
                                   correlation_id=correlation_id, priority=email_priority(template), **state)
                     for address in addresses]
    if not messages:
        return 0
    OutboxMessage.objects.bulk_create(messages, ignore_conflicts=True)
    if not state:
        outbox_kick_on_commit()
    return len(messages)


def email_enqueue_many(items) -> int:
    """Bulk form for sweeps: `items` yields (recipients, template, plain context, dedupe_key,
    correlation_id). An effect already queued (same key) is kept as it is. On PostgreSQL the rows
    are streamed with COPY (see `_copy_insert`); elsewhere `bulk_create(ignore_conflicts)`.
    Returns how many rows were offered."""
    now = timezone.now()
    rows = []
    dumps = json.dumps
    for recipients, template, context, dedupe_key, correlation_id in items:
        addresses = _distinct(recipients)
        if not addresses:
            continue
        # The payload is {"to", "template", "context"}: the context is serialised once per event,
        # not once per recipient.
        rest = f', "template": {dumps(template)}, "context": {dumps(context)}}}'
        priority = email_priority(template)
        for address in addresses:
            rows.append((email_dedupe_key(dedupe_key, address), f'{{"to": {dumps(address)}{rest}', correlation_id,
                         priority))
    if not rows:
        return 0
    state = outbox_initial_state(now)
    if connection.vendor == "postgresql" and not state:
        _copy_insert(rows, now)
    else:
        OutboxMessage.objects.bulk_create(
            [OutboxMessage(channel=CHANNEL, dedupe_key=key, payload=json.loads(payload), available_at=now,
                           created_at=now, correlation_id=correlation_id, priority=priority, **state)
             for key, payload, correlation_id, priority in rows],
            ignore_conflicts=True, batch_size=1000)
    if not state:
        outbox_kick_on_commit()
    return len(rows)


_COLUMNS = ("channel, dedupe_key, payload, status, attempts, max_attempts, available_at, created_at, last_error, "
            "correlation_id, priority")


def _copy_insert(rows: list[tuple[str, str, object, int]], now) -> None:
    """COPY straight into the outbox in a savepoint: the rows of a sweep are new effects, so this is
    the common case and the cheapest write there is. If one of them was queued already (a task run
    twice), the savepoint is rolled back and the rows go through a temporary table and one
    INSERT … ON CONFLICT DO NOTHING instead, which keeps the rows already there."""
    try:
        with transaction.atomic():
            _copy_rows(OutboxMessage._meta.db_table, rows, now)
        return
    except IntegrityError:
        pass
    table = OutboxMessage._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS outbox_staging ON COMMIT DELETE ROWS AS "  # noqa: S608
                       f"SELECT {_COLUMNS} FROM {table} WITH NO DATA")
        cursor.execute("TRUNCATE outbox_staging")
        _copy_rows("outbox_staging", rows, now)
        # Table and column names come from model metadata; values were streamed with COPY.
        cursor.execute(f"INSERT INTO {table} ({_COLUMNS}) SELECT {_COLUMNS} FROM outbox_staging "  # noqa: S608
                       f"ON CONFLICT (channel, dedupe_key) DO NOTHING")


def _copy_rows(table: str, rows, now) -> None:
    # The columns every row shares go as text made once: psycopg's per-value dumpers (above all the
    # datetime's) cost twice what the rest of writing a row does.
    default_attempts = str(OutboxMessage._meta.get_field("max_attempts").default)
    pending, now_text = str(OutboxMessage.Status.PENDING), now.isoformat()
    # The psycopg cursor under Django's wrapper; its errors are turned into Django's (IntegrityError).
    with connection.cursor() as cursor, connection.wrap_database_errors:
        with cursor.cursor.copy(f"COPY {table} ({_COLUMNS}) FROM STDIN") as copy:
            for key, payload, correlation_id, priority in rows:
                copy.write_row((CHANNEL, key, payload, pending, "0", default_attempts, now_text, now_text, "",
                                correlation_id, str(priority)))


def _rendered(payload: dict, cache: dict | None) -> tuple[str, str, str | None]:
    """A templated payload's (subject, text, html). With `cache` (one relay batch), each distinct
    (template, context) is rendered once: every administrator told of the same expiry, or every
    recipient of one notice, gets the same rendering (only the `To` differs)."""
    template, context = payload["template"], payload.get("context") or {}
    key = None
    if cache is not None:
        key = (template, json.dumps(context, sort_keys=True, separators=(",", ":")))
        if key in cache:
            return cache[key]
    try:
        rendered = email_render(template=template, context=context)
    except TemplateDoesNotExist as error:
        raise PermanentDeliveryError(f"No template {error}")
    if key is not None:
        cache[key] = rendered
    return rendered


def _opened(payload: dict) -> dict:
    """The payload with a sealed body unsealed (in memory only; the row keeps it sealed)."""
    if "sealed" not in payload:
        return payload
    try:
        opened = json.loads(unseal(payload["sealed"]))
    except UnsealError as error:
        raise PermanentDeliveryError(str(error))
    return {**{key: value for key, value in payload.items() if key != "sealed"}, **opened}


def email_message(message: OutboxMessage, *, rendered: dict | None = None) -> EmailMultiAlternatives:
    payload = _opened(message.payload)
    if "@" not in payload.get("to", ""):
        raise PermanentDeliveryError(f"Not an email address: {payload.get('to')!r}")
    if "template" in payload:
        subject, text, html = _rendered(payload, rendered)
    else:
        subject, text, html = payload["subject"], payload["text"], payload.get("html")
    mail = EmailMultiAlternatives(subject=subject, body=text, to=[payload["to"]],
                                  from_email=settings.DEFAULT_FROM_EMAIL,
                                  headers={"X-PIM-Outbox-Id": str(message.pk)})
    if html:
        mail.attach_alternative(html, "text/html")
    return mail


def deliver_email(message: OutboxMessage) -> None:
    email_message(message).send(fail_silently=False)


# The relay's SMTP path writes each email's bytes itself: the parts every recipient of a notice shares
# (its MIME body, Subject and From) are made once with Django's EmailMultiAlternatives and kept as bytes,
# and each email adds only its own To, Date, Message-ID and X-PIM-Outbox-Id. The bytes are those
# `EmailMultiAlternatives.message().as_bytes(linesep="\r\n")` writes (Django's SMTP backend sends that),
# at a tenth of its cost: building and flattening the MIME tree per email was most of the relay's CPU.
_HEADER_POLICY = email.policy.compat32.clone(linesep="\r\n")  # what as_bytes(linesep="\r\n") folds with
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                            r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                            r"[A-Za-z0-9])?)*")
_UNFOLDED = re.compile(r"[!-~]+(?: [!-~]+)*")  # printable ASCII, single spaces: a header the policy keeps as is


def _header_line(name: str, value: str) -> bytes:
    if len(name) + len(value) + 2 <= _HEADER_POLICY.max_line_length and _UNFOLDED.fullmatch(value):
        return f"{name}: {value}\r\n".encode("ascii")
    return _HEADER_POLICY.fold_binary(name, value)


def _envelope_address(address: str, encoding: str) -> str:
    """The SMTP envelope's form of an address, as Django's backend makes it (`sanitize_address`); a plain
    ASCII address (the usual case) is its own form, which that parser takes a tenth of a millisecond to say."""
    if _PLAIN_ADDRESS.fullmatch(address):
        return address
    return sanitize_address(address, encoding)


def _mime_shared(rendered: tuple[str, str, str | None], mime: dict) -> tuple[bytes, bytes]:
    """The headers before `To` (Content-Type, MIME-Version, Subject, From) and the body (from the blank
    line on) of a rendered notice, as Django writes them; made once per notice and kept in `mime`."""
    shared = mime.get(rendered)
    if shared is None:
        shared = mime[rendered] = _mime_composed(*rendered) or _mime_by_django(*rendered)
    return shared


def _mime_by_django(subject: str, text: str, html: str | None) -> tuple[bytes, bytes]:
    mail = EmailMultiAlternatives(subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL)
    if html:
        mail.attach_alternative(html, "text/html")
    message = mail.message()
    del message["Date"], message["Message-ID"]
    if message.is_multipart():
        message.set_boundary(_boundary(text, html))
    head, _, body = message.as_bytes(linesep="\r\n").partition(b"\r\n\r\n")
    return head + b"\r\n", b"\r\n" + body


def _boundary(text: str, html: str | None) -> str:
    """The boundary the generator would pick (`email.generator._make_boundary`). Chosen here because the
    generator also compiles a regular expression per message to check it is not in the text (a third of
    its cost); a substring test does the same."""
    while True:
        boundary = "=" * 15 + f"{random.randrange(sys.maxsize):019d}" + "=="
        if boundary not in text and not (html and boundary in html):
            return boundary


_NEWLINE = re.compile(r"\r\n|\r|\n")
_LONGEST_LINE = 998  # bytes (RFC 5322); Django quoted-printable-encodes a text with a longer line


def _text_part(content: str, subtype: str) -> tuple[bytes, bytes] | None:
    """(headers, payload) of a text part as Django's SafeMIMEText writes it in UTF-8 (7bit or 8bit), or
    None when Django would encode it otherwise (a line over 998 bytes: quoted-printable)."""
    payload = content.encode("utf-8")
    if any(len(line) > _LONGEST_LINE for line in payload.splitlines()):
        return None
    encoding = "7bit" if payload.isascii() else "8bit"
    headers = (f'Content-Type: text/{subtype}; charset="utf-8"\r\nMIME-Version: 1.0\r\n'
               f"Content-Transfer-Encoding: {encoding}\r\n").encode("ascii")
    return headers, _NEWLINE.sub("\r\n", content).encode("utf-8")


def _mime_composed(subject: str, text: str, html: str | None) -> tuple[bytes, bytes] | None:
    """`_mime_by_django`'s bytes written directly for what notices are (UTF-8 text and HTML parts whose
    lines fit), at a tenth of the cost of building and flattening the MIME tree; None otherwise."""
    if settings.DEFAULT_CHARSET.lower() != "utf-8" or not text:
        return None
    plain = _text_part(text, "plain")
    rich = _text_part(html, "html") if html else None
    if plain is None or (html and rich is None):
        return None
    after = (_header_line("Subject", forbid_multi_line_headers("Subject", subject, "utf-8")[1])
             + _header_line("From", forbid_multi_line_headers("From", settings.DEFAULT_FROM_EMAIL, "utf-8")[1]))
    if rich is None:
        return plain[0] + after, b"\r\n" + plain[1]
    boundary = _boundary(text, html).encode("ascii")
    head = (_HEADER_POLICY.fold_binary("Content-Type", f'multipart/alternative; boundary="{boundary.decode()}"')
            + b"MIME-Version: 1.0\r\n" + after)
    body = b"".join((b"\r\n--", boundary, b"\r\n", plain[0], b"\r\n", plain[1],
                     b"\r\n--", boundary, b"\r\n", rich[0], b"\r\n", rich[1],
                     b"\r\n--", boundary, b"--\r\n"))
    return head, body


def email_bytes(message: OutboxMessage, *, rendered: dict, mime: dict) -> tuple[str, bytes]:
    """(envelope recipient, the email's bytes) of a row, for sending over SMTP: what Django's SMTP backend
    would send for `email_message(message)`, with the shared parts from `mime`."""
    payload = _opened(message.payload)
    to = payload.get("to", "")
    if "@" not in to:
        raise PermanentDeliveryError(f"Not an email address: {to!r}")
    if "template" in payload:
        notice = _rendered(payload, rendered)
    else:
        notice = (payload["subject"], payload["text"], payload.get("html"))
    head, body = _mime_shared(notice, mime)
    encoding = settings.DEFAULT_CHARSET
    to_header = forbid_multi_line_headers("To", to, encoding)[1]
    data = b"".join((head, _header_line("To", to_header),
                     _header_line("Date", formatdate(localtime=settings.EMAIL_USE_LOCALTIME)),
                     _header_line("Message-ID", make_msgid(domain=DNS_NAME)),
                     _header_line("X-PIM-Outbox-Id", str(message.pk)), body))
    return _envelope_address(to, encoding), data


def _refusal(error: smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused) -> BaseException:
    """A 5xx answer about this message (bad recipient, refused sender or content) is permanent; a 4xx
    one asks for a retry later."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
    else:
        codes = [error.smtp_code]
    if codes and all(500 <= code < 600 for code in codes):
        return PermanentDeliveryError(f"Refused by the mail server: {error}")
    return error


SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
MIN_EMAILS_PER_SESSION = 10  # fewer: one session (opening one costs about as much as sending ten)


def deliver_email_batch(messages: list[OutboxMessage]) -> list[BaseException | None]:
    """The email channel's batch deliverer: the batch over `PIM_EMAIL_SMTP_SESSIONS` SMTP sessions at
    once (threads; one session for another backend or a small batch), each session sending its share
    in turn (`_deliver_over_one_connection`). Each distinct notice is rendered, and its MIME body made,
    once for the batch. Outcomes in the order of `messages`."""
    rendered: dict = {}
    mime: dict = {}
    sessions = 1
    if settings.EMAIL_BACKEND == SMTP_BACKEND:
        sessions = max(1, min(settings.PIM_EMAIL_SMTP_SESSIONS, len(messages) // MIN_EMAILS_PER_SESSION))
    if sessions == 1:
        return _deliver_over_one_connection(messages, rendered, mime)
    from concurrent.futures import ThreadPoolExecutor

    # Render the batch's notices before the sessions start, so that two sessions never render the same
    # one at once. A payload that cannot be rendered fails in its session, as its row's outcome.
    for message in messages:
        if "template" in message.payload:
            try:
                _mime_shared(_rendered(_opened(message.payload), rendered), mime)
            except Exception:  # noqa: BLE001, S112 — raised again, as that row's outcome, when it is sent
                continue

    # Interleaved shares: the batch (already in priority and age order) goes out in about that order.
    shares = [messages[index::sessions] for index in range(sessions)]
    with ThreadPoolExecutor(max_workers=sessions, thread_name_prefix="smtp") as pool:
        results = list(pool.map(lambda share: _deliver_over_one_connection(share, rendered, mime), shares))
    outcomes: list[BaseException | None] = [None] * len(messages)
    for index, result in enumerate(results):
        outcomes[index::sessions] = result
    return outcomes


def _deliver_over_one_connection(messages: list[OutboxMessage], rendered: dict,
                                 mime: dict) -> list[BaseException | None]:
    """Every message over one connection of the configured backend (one SMTP session, not one per
    email), each sent on its own so that one refusal fails only that row. If the connection breaks, the
    message being sent is retried later and the connection is opened again for the rest (once; after a
    second break the rest wait for a retry). Touches no database (it runs in a thread of its own).
    Over SMTP each email's bytes are made by `email_bytes` and handed to the session's `sendmail`, as
    Django's backend would hand them; another backend gets `EmailMultiAlternatives`."""
    outcomes: list[BaseException | None] = []
    mail_connection = get_connection(fail_silently=False)
    over_smtp = isinstance(mail_connection, smtp_backend.EmailBackend)
    reopened = False
    try:
        sender = _envelope_address(settings.DEFAULT_FROM_EMAIL, settings.DEFAULT_CHARSET) if over_smtp else None
        mail_connection.open()
    except Exception as error:  # noqa: BLE001 — the server is unreachable: every row retries later
        return [error] * len(messages)
    try:
        for index, message in enumerate(messages):
            try:
                if over_smtp:
                    to, data = email_bytes(message, rendered=rendered, mime=mime)
                    mail_connection.connection.sendmail(sender, [to], data)
                else:
                    mail = email_message(message, rendered=rendered)
                    mail.connection = mail_connection
                    mail.send(fail_silently=False)
                outcomes.append(None)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
                outcomes.append(_refusal(error))
            except (smtplib.SMTPServerDisconnected, ConnectionError, OSError) as error:
                outcomes.append(error)
                if reopened:
                    outcomes += [error] * (len(messages) - index - 1)
                    break
                reopened = True
                try:
                    mail_connection.close()
                except Exception:  # noqa: BLE001, S110 — a broken session may fail to quit; it is dropped
                    pass
                try:
                    mail_connection.open()
                except Exception as reopen_error:  # noqa: BLE001 — the rest retry later
                    outcomes += [reopen_error] * (len(messages) - index - 1)
                    break
            except Exception as error:  # noqa: BLE001 — this row's outcome (PermanentDeliveryError included)
                outcomes.append(error)
    finally:
        try:
            mail_connection.close()
        except Exception:  # noqa: BLE001, S110 — closing a session that already broke
            pass
    return outcomes
