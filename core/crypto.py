"""Secrets at rest: SCIM bearer tokens, webhook signing secrets, connector and directory source
passwords, and the one-time codes an email carries while it waits in the outbox are sealed with
Fernet, with a key derived from SECRET_KEY (and SECRET_KEY_FALLBACKS, so rotating SECRET_KEY keeps
old values readable). In `core` so that every layer may seal what it stores."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

# The derivation context predates the move to core; values sealed under it must stay readable.
_CONTEXT = b"pim-portal.provisioning.secrets-at-rest\n"


class UnsealError(Exception):
    """The value cannot be decrypted with the current or fallback keys (SECRET_KEY changed?)."""


def _fernet(secret_key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(_CONTEXT + secret_key.encode()).digest()))


def _keys() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_fernet(key) for key in keys])


def seal(value: str) -> str:
    return _keys().encrypt(value.encode()).decode() if value else ""


def unseal(sealed: str) -> str:
    if not sealed:
        return ""
    try:
        return _keys().decrypt(sealed.encode()).decode()
    except InvalidToken as error:
        raise UnsealError("The stored secret cannot be decrypted: was SECRET_KEY changed without keeping the old "
                          "one in SECRET_KEY_FALLBACKS? Set a new secret or token.") from error
