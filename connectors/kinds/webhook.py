"""Signed webhooks: a target of this type is one receiver URL and the events it subscribes to; the
secret is its signing secret. Its effects are event deliveries, not grants: it has no mappings, no
holders and is not reconciled (`connectors.webhooks` queues them, `connectors.effects` delivers them).

Each POST carries the JSON body fixed when the event happened and four headers:

    X-PIM-Event:      the event name, e.g. assignment.activated
    X-PIM-Delivery:   the delivery id (a UUID; the same on every retry of this delivery)
    X-PIM-Timestamp:  Unix seconds of this attempt
    X-PIM-Signature:  sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the signing secret>

A receiver verifies it like `webhook_signature_verify` below: recompute the HMAC over the timestamp
header, a dot and the raw body bytes, compare in constant time, refuse timestamps older than five
minutes (replays), and use X-PIM-Delivery to ignore a delivery it has already processed (a retry
after a lost response).

2xx is delivered; 408, 429, 5xx, timeouts and connection errors are retried by the outbox relay with
backoff; any other status (4xx, redirects, which are not followed) fails the delivery at once. Every
call goes through the pinned transport (`provisioning.outbound`): the address the name resolves to is
checked at connect time and connected to.
"""

import hashlib
import hmac
import json
import secrets
import time

import httpx

from core.domain_events import EVENTS
from core.errors import invalid
from notifications.outbox import PermanentDeliveryError
from provisioning.outbound import PinnedTransport
from provisioning.urlpolicy import outbound_url_problem

from .base import ConfigField, ConnectorKind, ConnectorRefused, ConnectorUnavailable, Session

TIMEOUT = None  # default: 10 s, 5 s to connect (an httpx.Timeout)
SIGNATURE_TOLERANCE_SECONDS = 300
RETRYABLE_STATUSES = {408, 429}
USER_AGENT = "PIM-portal-webhooks/1"
NO_GRANTS = "A webhook target receives events: it has no grants, mappings or holders."


class DeliveryRefused(ConnectorRefused):
    """The receiver refused the delivery, or the address is not one the portal calls."""

    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


class DeliveryUnavailable(ConnectorUnavailable):
    """The receiver may accept it later (5xx, 408, 429, timeout, connection refused)."""

    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


def webhook_secret_generate() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-PIM-Signature header value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_signature_verify(secret: str, timestamp: str, body: bytes, header: str, *,
                             tolerance: int = SIGNATURE_TOLERANCE_SECONDS, now: float | None = None) -> bool:
    """What a receiver does: True when `header` (X-PIM-Signature) signs `timestamp` (X-PIM-Timestamp)
    and the raw `body` with `secret`, and the timestamp is within `tolerance` seconds of now.
    Several comma-separated `sha256=` values are accepted (any one may match)."""
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - sent_at) > tolerance:
        return False
    expected = webhook_signature(secret, str(sent_at), body)
    candidates = [part.strip() for part in (header or "").split(",")]
    return any(hmac.compare_digest(expected.encode(), candidate.encode()) for candidate in candidates if candidate)


class WebhookSession(Session):
    """An HTTP client on the pinned transport, reused across deliveries to one receiver."""

    def __init__(self, *, config: dict, secret: str):
        self.config = config
        self.secret = secret
        self.client = None

    def _client(self):
        if self.client is None:
            self.client = httpx.Client(timeout=TIMEOUT or httpx.Timeout(10.0, connect=5.0), follow_redirects=False,
                                       trust_env=False, transport=PinnedTransport())
        return self.client

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def post_event(self, *, event: str, delivery_id: str, body: bytes) -> tuple[int, str]:
        """POST one signed delivery; returns (status code, "HTTP 200 OK") when accepted. Raises
        DeliveryUnavailable to retry, DeliveryRefused when retrying cannot help."""
        if not self.secret:
            raise DeliveryRefused("The target has no signing secret: generate one on its page.")
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-PIM-Event": event,
            "X-PIM-Delivery": delivery_id,
            "X-PIM-Timestamp": timestamp,
            "X-PIM-Signature": webhook_signature(self.secret, timestamp, body),
        }
        try:
            response = self._client().post(self.config["url"], content=body, headers=headers)
        except PermanentDeliveryError as error:  # the pinned transport refused the resolved address
            raise DeliveryRefused(str(error)) from error
        except httpx.TimeoutException as error:
            self.close()
            raise DeliveryUnavailable(f"Timed out: {error or type(error).__name__}") from error
        except httpx.HTTPError as error:
            self.close()
            raise DeliveryUnavailable(f"Could not connect: {error}") from error
        code = response.status_code
        reason = f"HTTP {code} {response.reason_phrase}".strip()
        if 200 <= code < 300:
            return code, reason
        if code >= 500 or code in RETRYABLE_STATUSES:
            raise DeliveryUnavailable(reason, code)
        if 300 <= code < 400:
            raise DeliveryRefused(f"{reason}: redirects are not followed; register the final URL.", code)
        raise DeliveryRefused(f"{reason}: the receiver refused the delivery.", code)

    def test(self) -> str:
        body = json.dumps({"event": "ping", "occurred_at": int(time.time()), "data": {}},
                          separators=(",", ":")).encode()
        _code, reason = self.post_event(event="ping", delivery_id="ping", body=body)
        return f"The receiver accepted a signed ping ({reason})."

    def check_grant(self, grant: str) -> str:
        raise ConnectorRefused(NO_GRANTS)

    def account_for(self, username: str) -> str:
        raise ConnectorRefused(NO_GRANTS)

    def grant(self, *, account: str, grant: str, options: dict) -> str:
        raise ConnectorRefused(NO_GRANTS)

    def revoke(self, *, account: str, grant: str, options: dict) -> str:
        raise ConnectorRefused(NO_GRANTS)

    def holders(self, grant: str):
        raise ConnectorRefused(NO_GRANTS)


class WebhookKind(ConnectorKind):
    def check_config(self, config: dict) -> None:
        config["url"] = config["url"].strip()
        problem = outbound_url_problem(config["url"])
        if problem:
            raise invalid(problem, field="url")
        if len(config["url"]) > 500:
            raise invalid("Receiver URL: up to 500 characters.", field="url")

    def clean_grant(self, grant: str) -> str:
        raise invalid(NO_GRANTS, field="grant")

    def open(self, *, config: dict, secret: str) -> Session:
        return WebhookSession(config=config, secret=secret)


WEBHOOK = WebhookKind(
    key="webhook",
    label="Signed webhook",
    fields=(
        ConfigField("url", "Receiver URL", "HTTPS recommended. Each delivery is a signed POST of JSON."),
        ConfigField("event_types", "Events", "The events this receiver is sent.", kind="list",
                    choices=tuple(EVENTS)),
    ),
    secret_label="Signing secret",
    grant_label="Grant",
    grant_help=NO_GRANTS,
    has_holders=False,
)
