"""Sign-in and MFA state changes, each audited: sign-in success and failure, password reset, enrolment
codes, TOTP enrolment, static backup codes, step-up verification.

Services take the user (never the HTTP request); the step-up *view* marks the session verified
(`core.mfa.mfa_mark_verified`) after `mfa_verify` succeeds, and after a first enrolment that used
an enrolment code.

Password reset by emailed link, when PIM_PASSWORD_RESET is on (`password_reset_request`,
`password_reset_complete`).

The first authenticator needs a one-time enrolment code, so that a stolen password alone cannot
enrol a device and then pass the MFA step-up with it. The code comes from the user's mailbox
(`mfa_enrolment_code_email`) or from a directory administrator (`mfa_enrolment_code_issue`).
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from allauth.account.forms import default_token_generator as reset_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from assignments.models import RoleDefinition, User
from assignments.rules import check_mfa_fresh
from assignments.selectors import user_holds_any
from audit.models import AuditEvent
from audit.services import audit_event_record
from core import domain_events
from core.actors import Actor
from core.errors import DomainError, conflict, forbidden, invalid, not_found
from core.timezones import time_zone_valid
from notifications.email import absolute_url, email_enqueue

from .models import EnrolmentCode

TOTP_DEVICE_NAME = "Authenticator app"
BACKUP_DEVICE_NAME = "Backup codes"
BACKUP_CODE_COUNT = 10

ENROLMENT_CODE_LIFETIME = timedelta(minutes=30)
ENROLMENT_CODE_EMAIL_INTERVAL = timedelta(minutes=1)  # one mailbox code a minute: no mail-bombing
ENROLMENT_CODE_MAX_FAILURES = 5
# 10 characters of 32 (no 0/O, 1/I): 50 bits, typed as XXXXX-XXXXX.
ENROLMENT_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
ENROLMENT_CODE_ISSUERS = [RoleDefinition.GLOBAL_ADMINISTRATOR, RoleDefinition.PRIVILEGED_ROLE_ADMINISTRATOR]


# --- profile --------------------------------------------------------------------------------------------


def user_time_zone_set(*, actor: User, time_zone: str, only_if_unset: bool = False) -> bool:
    """Set the zone the person's pages show times in. `only_if_unset` is the browser's default, sent once
    after sign-in: it never overrides a zone already chosen (a conditional update, safe to race).
    Returns whether anything changed; audited when it did."""
    time_zone = (time_zone or "").strip()
    if not time_zone_valid(time_zone):
        raise invalid(f"Unknown time zone {time_zone[:64]!r}: pick one from the list.", field="time_zone")
    with transaction.atomic():
        rows = User.objects.filter(pk=actor.pk)
        rows = rows.filter(time_zone="") if only_if_unset else rows.exclude(time_zone=time_zone)
        if rows.update(time_zone=time_zone) != 1:
            return False
        source = "from the browser" if only_if_unset else "chosen"
        audit_event_record(action="profile.time_zone", actor=actor, target=actor,
                           message=f"Time zone set to {time_zone} ({source}).")
    actor.time_zone = time_zone
    return True


# --- sign-in ------------------------------------------------------------------------------------------


def auth_sign_in_record(*, user: User, method: str = "password") -> None:
    """A successful sign-in (Django records `last_login` itself)."""
    audit_event_record(action="auth.sign_in", actor=user, target=user, message=f"Signed in ({method}).")
    domain_events.emit("user.signed_in", key=f"user:{user.pk}:{int(timezone.now().timestamp() * 1e6)}", data={
        "user": {"username": user.username, "emergency_access": bool(user.is_emergency_access)}, "method": method})


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


def auth_sso_refused_record(*, user: User | None, email: str, provider: str, why: str) -> None:
    """A single sign-on that would have linked an identity to `user` without the identity provider
    having verified the matching email address: refused, nobody signed in, nothing linked."""
    audit_event_record(action="auth.sso_refused", actor=None, outcome=AuditEvent.Outcome.DENIED, target=user,
                       target_type="" if user else "login", target_label="" if user else email[:254],
                       message=f"Single sign-on from {provider} for {email[:254] or 'no email address'} refused: "
                               f"{why}.")


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


@dataclass(frozen=True)
class TotpEnrolment:
    """A confirmed device, and the enrolment code that allowed it (None for an additional device,
    which needed a fresh verification with an existing one instead)."""

    device: TOTPDevice
    enrolment_code: EnrolmentCode | None


def _enrol_refused(actor: User, message: str, *, field: str) -> DomainError:
    audit_event_record(action="mfa.enrol", actor=actor, target=actor, outcome=AuditEvent.Outcome.DENIED,
                       message=message)
    return invalid(message, field=field)


def mfa_totp_enrol_confirm(*, actor: User, device_id: int, token: str, enrolment_code: str = "",
                           mfa_verified_at: datetime | None = None) -> TotpEnrolment:
    """Confirm a new TOTP device with a code from the app. The first device needs a live enrolment
    code, which this uses up; another device needs a fresh verification with an existing one (so a
    stolen session cannot plant its own). Audited as "mfa.enrol"; the user is emailed about it."""
    token = (token or "").strip().replace(" ", "")
    device = TOTPDevice.objects.filter(pk=device_id, user=actor, confirmed=False).first()
    if device is None:
        raise not_found("That enrolment is no longer pending; start again.")
    first = not mfa_has_device(user=actor)
    code = None
    if first:
        # Checked before the app's code, so a wrong enrolment code does not use up the app's code.
        if not _enrolment_code_normalised(enrolment_code):
            raise _enrol_refused(actor, "Your first authenticator needs an enrolment code: have one emailed to you, "
                                        "or ask a directory administrator.", field="enrolment_code")
        code = _enrolment_code_match(user=actor, code=enrolment_code, now=timezone.now())
        if code is None:
            raise _enrol_refused(actor, "That enrolment code is not right, has expired or was already used. "
                                        "Ask for a new one.", field="enrolment_code")
    else:
        check_mfa_fresh(actor=Actor.person(actor, mfa_verified_at=mfa_verified_at), what="add another authenticator")
    if not token.isdigit() or not device.verify_token(token):
        raise _enrol_refused(actor, "That code is not right. Check the time on your phone and enter the current "
                                    "code.", field="token")
    with transaction.atomic():
        if code is not None and not EnrolmentCode.objects.filter(
                pk=code.pk, used_at__isnull=True, voided_at__isnull=True).update(used_at=timezone.now()):
            raise conflict("That enrolment code was used a moment ago. Ask for a new one.")
        if not TOTPDevice.objects.filter(pk=device.pk, confirmed=False).update(confirmed=True):
            raise not_found("That enrolment is no longer pending; start again.")
        device.confirmed = True
        TOTPDevice.objects.filter(user=actor, confirmed=False).delete()
        how = f" with an {'emailed' if code.channel == EnrolmentCode.Channel.EMAIL else 'administrator-issued'} " \
              f"enrolment code" if code is not None else " after a verification with an existing one"
        audit_event_record(action="mfa.enrol", actor=actor, target=actor,
                           message=f"Authenticator app enrolled (device {device.pk}){how}.")
        email_enqueue(recipients=[actor.email], template="email/mfa_enrolled", dedupe_key=f"mfa.enrol:{device.pk}",
                      context={"username": actor.get_username(), "device": device.name,
                               "at": f"{timezone.now():%Y-%m-%d %H:%M} UTC",
                               "url": absolute_url(reverse("accounts:security"))})
    return TotpEnrolment(device=device, enrolment_code=code)


# --- Enrolment codes ------------------------------------------------------------------------------------


def _enrolment_code_normalised(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def _enrolment_code_hash(code: str) -> str:
    """Keyed with the secret key: the table alone does not let anyone test guesses offline."""
    return salted_hmac("accounts.enrolment_code", _enrolment_code_normalised(code), algorithm="sha256").hexdigest()


def _enrolment_code_live(*, user: User, now: datetime):
    return EnrolmentCode.objects.filter(user=user, used_at__isnull=True, voided_at__isnull=True, expires_at__gt=now,
                                        failed_attempts__lt=ENROLMENT_CODE_MAX_FAILURES)


def _enrolment_code_match(*, user: User, code: str, now: datetime) -> EnrolmentCode | None:
    """The user's live code that `code` is, or None; a wrong code counts against the live ones."""
    wanted = _enrolment_code_hash(code)
    live = list(_enrolment_code_live(user=user, now=now))
    for candidate in live:
        if constant_time_compare(candidate.code_hash, wanted):
            return candidate
    if live:
        EnrolmentCode.objects.filter(pk__in=[c.pk for c in live]).update(failed_attempts=F("failed_attempts") + 1)
    return None


def _enrolment_code_create(*, user: User, channel: str, issued_by: User | None, now: datetime) -> tuple[
        EnrolmentCode, str]:
    """A new live code for `user` (the plain code is returned, never stored); older live ones are voided."""
    plain = "".join(secrets.choice(ENROLMENT_CODE_ALPHABET) for _ in range(10))
    plain = f"{plain[:5]}-{plain[5:]}"
    _enrolment_code_live(user=user, now=now).update(voided_at=now)
    row = EnrolmentCode.objects.create(user=user, channel=channel, code_hash=_enrolment_code_hash(plain),
                                       issued_by=issued_by, created_at=now, expires_at=now + ENROLMENT_CODE_LIFETIME)
    return row, plain


def _needs_first_enrolment(user: User) -> None:
    if mfa_has_device(user=user):
        raise conflict("This account already has an authenticator app: enrolment codes are for the first one. "
                       "Verify with it, then add another on the Security page.")


def mfa_enrolment_code_email(*, user: User) -> EnrolmentCode:
    """Email the user a one-time code for enrolling their first authenticator (through the outbox).
    Audited as "mfa.enrolment_code"."""
    if not (user.email or "").strip():
        raise invalid("Your account has no email address: ask a directory administrator for an enrolment code.")
    _needs_first_enrolment(user)
    now = timezone.now()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # one request at a time per user
        if EnrolmentCode.objects.filter(user=user, channel=EnrolmentCode.Channel.EMAIL,
                                        created_at__gt=now - ENROLMENT_CODE_EMAIL_INTERVAL).exists():
            raise conflict("A code was emailed to you less than a minute ago: check your mailbox, or ask again "
                           "in a minute.")
        row, plain = _enrolment_code_create(user=user, channel=EnrolmentCode.Channel.EMAIL, issued_by=None, now=now)
        audit_event_record(action="mfa.enrolment_code", actor=user, target=user,
                           message=f"Enrolment code {row.pk} emailed to {user.email}; valid until "
                                   f"{row.expires_at:%Y-%m-%d %H:%M} UTC.")
        email_enqueue(recipients=[user.email], template="email/mfa_enrolment_code",
                      dedupe_key=f"mfa.enrolment_code:{row.pk}", sealed=True,  # the row never holds the code
                      context={"username": user.get_username(), "code": plain,
                               "minutes": int(ENROLMENT_CODE_LIFETIME.total_seconds() // 60),
                               "url": absolute_url(reverse("accounts:totp_enrol"))})
    return row


def mfa_enrolment_code_issue(*, actor: User, user: User) -> tuple[EnrolmentCode, str]:
    """A directory administrator issues a one-time enrolment code for another user's first
    authenticator; the plain code is returned to be shown once. Audited (refusals too)."""
    try:
        if not user_holds_any(user=actor, role_slugs=ENROLMENT_CODE_ISSUERS):
            raise forbidden("Only an active Global Administrator or Privileged Role Administrator issues "
                            "enrolment codes.")
        if actor.pk == user.pk:
            raise forbidden("You cannot issue an enrolment code for your own account: ask another administrator, "
                            "or have one emailed to you from the enrolment page.")
        if not user.is_active:
            raise conflict(f"{user} is disabled.")
        _needs_first_enrolment(user)
    except DomainError as error:
        audit_event_record(action="mfa.enrolment_code", actor=actor, target=user, outcome=AuditEvent.Outcome.DENIED,
                           message=error.message)
        raise
    now = timezone.now()
    with transaction.atomic():
        row, plain = _enrolment_code_create(user=user, channel=EnrolmentCode.Channel.ADMIN, issued_by=actor, now=now)
        audit_event_record(action="mfa.enrolment_code", actor=actor, target=user,
                           message=f"Enrolment code {row.pk} issued by {actor} for {user}; valid until "
                                   f"{row.expires_at:%Y-%m-%d %H:%M} UTC.")
    return row, plain


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


# --- password reset -------------------------------------------------------------------------------------
# On when PIM_PASSWORD_RESET is (off by default with single sign-on). The link is allauth's (its token
# generator and its pages, in the portal's templates); the email goes through the outbox; the request
# and the completion are audited. The person asking sees the same page whether or not an account has
# the address; the audit log says which.

def password_reset_enabled() -> bool:
    return bool(settings.PIM_PASSWORD_RESET)


def _refuse_unless_enabled() -> None:
    if not password_reset_enabled():
        raise forbidden("Password reset is off in this portal: ask your administrators, or sign in with single "
                        "sign-on.")


def _reset_link(user: User) -> str:
    token = reset_token_generator.make_token(user)
    path = reverse("account_reset_password_from_key", kwargs={"uidb36": user_pk_to_url_str(user), "key": token})
    return absolute_url(path)


def password_reset_request(*, email: str, client_ip: str = "") -> int:
    """Email a reset link to each active account with this address (emergency access accounts excepted:
    their passwords live in a vault, not a mailbox). Audited as "auth.password_reset_request" in every
    case. Returns how many links were queued (for tests; callers must not show it)."""
    _refuse_unless_enabled()
    email = (email or "").strip()[:254]
    users = list(User.objects.filter(email__iexact=email, is_active=True, is_emergency_access=False)
                 .order_by("pk")) if "@" in email else []
    minutes = max(1, settings.PASSWORD_RESET_TIMEOUT // 60)
    origin = f" from {client_ip}" if client_ip else ""
    with transaction.atomic():
        if not users:
            audit_event_record(action="auth.password_reset_request", actor=None, target_type="login",
                               target_label=email, message=f"Password reset asked for '{email}'{origin}: no account "
                                                           f"can be reset with that address; nothing was sent.")
        for user in users:
            audit_event_record(action="auth.password_reset_request", actor=None, target=user,
                               message=f"Password reset link emailed to {user.email}{origin}; valid for "
                                       f"{minutes} minutes.")
            email_enqueue(recipients=[user.email], template="email/password_reset",
                          dedupe_key=f"password_reset:{user.pk}:{secrets.token_hex(8)}", sealed=True,  # the link
                          context={"name": str(user), "username": user.get_username(), "link": _reset_link(user),
                                   "minutes": minutes, "client_ip": client_ip,
                                   "login_url": absolute_url(reverse("account_login"))})
    return len(users)


def password_reset_complete(*, user: User, key: str, password: str, client_ip: str = "") -> None:
    """Set the new password from a reset link. Under the user's lock the link is checked again: it is
    bound to the old password, so the first use wins and a second (or a racing one) is refused. Other
    sessions of the account end with the old password (Django's session hash). Audited as
    "auth.password_reset"; the account's address is told."""
    _refuse_unless_enabled()
    with transaction.atomic():
        locked = User.objects.select_for_update().filter(pk=user.pk, is_active=True).first()
        if locked is None or not reset_token_generator.check_token(locked, key):
            raise conflict("This reset link has been used or has expired: ask for a new one.")
        locked.set_password(password)
        locked.save(update_fields=["password"])
        origin = f" from {client_ip}" if client_ip else ""
        audit_event_record(action="auth.password_reset", actor=locked, target=locked,
                           message=f"Password reset with an emailed link{origin}.")
        email_enqueue(recipients=[locked.email], template="email/password_changed",
                      dedupe_key=f"password_changed:{locked.pk}:{secrets.token_hex(8)}",
                      context={"name": str(locked), "username": locked.get_username(), "client_ip": client_ip,
                               "at": f"{timezone.now():%Y-%m-%d %H:%M} UTC",
                               "url": absolute_url(reverse("accounts:security"))})
    user.password = locked.password
