"""Rules that apps above the request pipeline add to a self activation, without approvals importing them
(the layers forbid it): the pattern `alerts.definitions.findings_source_register` and the outbox's
`register_channel` follow.

- A *check* runs before the activation's transaction takes its locks (it may call a ticket system on the
  network) and refuses with a `DomainError`: justification and ticket rules (`selfservice`).
- A *waiver* runs under the eligibility's lock when the policy requires approval, and may approve the
  request without waiting for approvers: an auto-approval rule, or break-glass. Its `record` writes what
  approved it, in the activation's transaction, once the request row exists. Only the activation's own
  MFA and justification checks run before it, so a waiver never skips them.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ActivationDraft:
    """What a self activation asks for, as the pipeline has read it."""

    actor: object  # core.actors.Actor
    eligible: object  # the eligible Assignment
    role: object
    scope: object
    setting: object  # the effective RoleSetting; None for the checks before the lock (they read what they need)
    start_at: datetime
    end_at: datetime | None
    duration_minutes: int
    justification: str
    ticket_system: str
    ticket_number: str
    client_ip: str | None
    now: datetime


@dataclass(frozen=True)
class Waiver:
    """Approval given without approvers: `message` becomes the request's status message and is in its
    audit event; `record(request)` writes the waiving app's own rows and audit event."""

    message: str
    record: Callable[[object], None]


Check = Callable[[ActivationDraft], None]
WaiverSource = Callable[[ActivationDraft], Waiver | None]

_checks: list[Check] = []
_waivers: list[WaiverSource] = []


def activation_check_register(check: Check) -> None:
    if check not in _checks:
        _checks.append(check)


def activation_waiver_register(source: WaiverSource) -> None:
    if source not in _waivers:
        _waivers.append(source)


def activation_checks_run(draft: ActivationDraft) -> None:
    for check in _checks:
        check(draft)


def activation_waiver_find(draft: ActivationDraft, explicit: WaiverSource | None = None) -> Waiver | None:
    """The first waiver that applies: the caller's own (break-glass) first, then the registered ones."""
    for source in ([explicit] if explicit else []) + _waivers:
        waiver = source(draft)
        if waiver is not None:
            return waiver
    return None


@dataclass(frozen=True)
class FormNote:
    """What a higher app adds to the activation page: help text per field, and a line (with a link) under
    "What this role's policy asks"."""

    help_texts: dict
    policy_lines: tuple = ()  # (label, text, url or "")


NoteSource = Callable[[object, object], FormNote | None]  # (setting, eligible) → note
_notes: list[NoteSource] = []


def activation_note_register(source: NoteSource) -> None:
    if source not in _notes:
        _notes.append(source)


def activation_notes(*, setting, eligible) -> list[FormNote]:
    return [note for note in (source(setting, eligible) for source in _notes) if note is not None]


# Actions of other apps carried out by the pipeline once approved (the request catalogue's eligibility
# requests): `provision(request, actor, now)` runs in the approval's transaction and raises DomainError to
# fail the request; `needs_mfa(request)` says whether the approver needs a fresh verification first.
_provisioners: dict[str, Callable] = {}
_approval_mfa: list[Callable[[object], bool]] = []


def approved_action_register(action: str, *, provision: Callable, needs_mfa: Callable[[object], bool]) -> None:
    _provisioners[action] = provision
    if needs_mfa not in _approval_mfa:
        _approval_mfa.append(needs_mfa)


def approved_action_provisioner(action: str) -> Callable | None:
    return _provisioners.get(action)


def approval_needs_mfa(request) -> bool:
    return any(check(request) for check in _approval_mfa)
