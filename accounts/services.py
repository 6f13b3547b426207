"""Sign-in and MFA state changes, each audited: sign-in success and failure, TOTP enrolment,
static backup codes, step-up verification.

Services take the user (never the HTTP request); the step-up *view* marks the session verified
(`accounts.mfa.mfa_mark_verified`) after `mfa_verify` succeeds.
"""

from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from assignments.errors import DomainError, forbidden, invalid, not_found
from assignments.models import User
from audit.models import AuditEvent
from audit.services import audit_event_record

TOTP_DEVICE_NAME = "Authenticator app"
BACKUP_DEVICE_NAME = "Backup codes"
BACKUP_CODE_COUNT = 10


# --- sign-in ------------------------------------------------------------------------------------------


def auth_sign_in_record(*, user: User, method: str = "password") -> None:
    """A successful sign-in (Django records `last_login` itself)."""
    audit_event_record(action="auth.sign_in", actor=user, target=user, message=f"Signed in ({method}).")


def auth_sign_in_failed_record(*, login: str) -> None:
    """A refused sign-in: wrong password, unknown or disabled account. The attempted login name is
    kept (truncated) so that guessing against one account shows in the log; the password never is."""
    login = (login or "").strip()[:150]
    user = User.objects.filter(username__iexact=login).first() if login else None
    if user is None and "@" in login:
        user = User.objects.filter(email__iexact=login).first()
    audit_event_record(action="auth.sign_in_failed", actor=None, outcome=AuditEvent.Outcome.DENIED,
                       target=user, target_type="" if user else "login", target_id="" if user else login,
                       target_label=login, message=f"Failed sign-in for '{login}'.")


def auth_sso_refused_record(*, user: User, email: str, provider: str) -> None:
    """A single sign-on that would have linked `user` on an email address the identity provider has
    not verified: refused, nobody signed in, nothing linked."""
    audit_event_record(action="auth.sso_refused", actor=None, outcome=AuditEvent.Outcome.DENIED, target=user,
                       message=f"Single sign-on from {provider} for {email[:254]} refused: the identity provider "
                               "has not verified this email address.")


# --- MFA ------------------------------------------------------------------------------------------------


def mfa_devices(*, user: User) -> dict:
    """The user's confirmed devices: {"totp": [...], "backup": StaticDevice|None, "backup_left": int}."""
    totp = list(TOTPDevice.objects.filter(user=user, confirmed=True).order_by("created_at"))
    backup = StaticDevice.objects.filter(user=user, confirmed=True).first()
    left = backup.token_set.count() if backup else 0
    return {"totp": totp, "backup": backup, "backup_left": left}


def mfa_has_device(*, user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def mfa_totp_enrol_start(*, user: User) -> TOTPDevice:
    """The unconfirmed TOTP device whose secret the enrolment page shows (reused until confirmed)."""
    with transaction.atomic():
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def mfa_totp_enrol_confirm(*, actor: User, device_id: int, token: str) -> TOTPDevice:
    """Confirm a new TOTP device with a code from the app. Audited as "mfa.enrol"."""
    token = (token or "").strip().replace(" ", "")
    device = TOTPDevice.objects.filter(pk=device_id, user=actor, confirmed=False).first()
    if device is None:
        raise not_found("That enrolment is no longer pending; start again.")
    if not token.isdigit() or not device.verify_token(token):
        audit_event_record(action="mfa.enrol", actor=actor, target=actor, outcome=AuditEvent.Outcome.DENIED,
                           message="Wrong code while enrolling an authenticator app.")
        raise invalid("That code is not right. Check the time on your phone and enter the current code.",
                      field="token")
    with transaction.atomic():
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
        device.confirmed = True
        TOTPDevice.objects.filter(user=actor, confirmed=False).delete()
        audit_event_record(action="mfa.enrol", actor=actor, target=actor,
                           message=f"Authenticator app enrolled (device {device.pk}).")
    return device


def mfa_backup_codes_generate(*, actor: User) -> list[str]:
    """Replace the user's backup codes with 10 new single-use codes, returned once (stored as given
    by django-otp). Needs an enrolled authenticator app first."""
    if not mfa_has_device(user=actor):
        raise forbidden("Enrol an authenticator app before creating backup codes.")
    with transaction.atomic():
        device, _ = StaticDevice.objects.get_or_create(user=actor, name=BACKUP_DEVICE_NAME,
                                                       defaults={"confirmed": True})
        device.token_set.all().delete()
        codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
        StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
        audit_event_record(action="mfa.backup_codes", actor=actor, target=actor,
                           message=f"{BACKUP_CODE_COUNT} new backup codes generated; older ones no longer work.")
    return codes


def mfa_verify(*, actor: User, token: str):
    """Step-up: check a TOTP code or a backup code against the user's confirmed devices. Returns the
    device that matched (a used backup code is consumed); audits "mfa.verify" or "mfa.verify_failed"."""
    token = (token or "").strip().replace(" ", "").replace("-", "")
    if not mfa_has_device(user=actor):
        raise DomainError("Enrol an authenticator app first.", code="conflict")
    matched = None
    if token:
        devices = list(TOTPDevice.objects.filter(user=actor, confirmed=True)) if token.isdigit() else []
        devices += list(StaticDevice.objects.filter(user=actor, confirmed=True))
        for device in devices:
            if device.verify_token(token.lower() if isinstance(device, StaticDevice) else token):
                matched = device
                break
    if matched is None:
        audit_event_record(action="mfa.verify_failed", actor=actor, target=actor, outcome=AuditEvent.Outcome.DENIED,
                           message="Wrong or reused verification code.")
        raise invalid("That code is not right (or was already used). Try the current code from your app.",
                      field="token")
    kind = "backup code" if isinstance(matched, StaticDevice) else "authenticator app"
    left = matched.token_set.count() if isinstance(matched, StaticDevice) else None
    audit_event_record(action="mfa.verify", actor=actor, target=actor,
                       message=f"Verified with {kind}" + (f"; {left} backup codes left." if left is not None else "."))
    return matched
