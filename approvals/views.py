"""Self-service pages: my roles, activation, extend / renew / deactivate, my requests, the approvals
queue and a request's page. Each view: permission gate, parse, call one service or selector,
respond; `DomainError` becomes a form error, a message or a 4xx page, never a 500."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from assignments import rules
from assignments import selectors as assignment_selectors
from assignments.models import Assignment
from audit.middleware import client_ip_of
from core.actors import Actor
from core.errors import DomainError, invalid
from core.forms import form_add_domain_error
from core.mfa import mfa_is_fresh, mfa_verified_at
from core.stepup import step_up_redirect, step_up_restored
from core.timezones import local_text

from . import selectors, services
from .forms import (
    ActivateForm,
    BulkApproveForm,
    DeactivateForm,
    DecisionForm,
    DelegationForm,
    DelegationRevokeForm,
    ExtendForm,
    RenewForm,
)
from .models import Request


def _refuse(error: DomainError):
    """A refusal that has no form to show it in: a 4xx page naming the reason."""
    if error.code == "not_found":
        raise Http404(error.message)
    if error.code == "forbidden":
        raise PermissionDenied(error.message)
    return error


def _assignment_or_404(pk) -> Assignment:
    assignment = (Assignment.objects.select_related("principal", "role", "scope", "activated_from")
                  .filter(pk=pk).first())
    if assignment is None:
        raise Http404("No such assignment.")
    return assignment


def _request_or_404(request_id) -> Request:
    found = selectors.request_get_for_user(user=None, request_id=request_id)
    if found is None:
        raise Http404("No such request.")
    return found


def _form_error(form, error: DomainError) -> None:
    form_add_domain_error(form, error)


def _submitted(request):
    """A form's data: what was posted (even nothing: an empty submission is refused with its errors, not
    shown blank), or what was typed before the step-up, or None (a fresh form)."""
    return request.POST if request.method == "POST" else step_up_restored(request)


def _verify_url(next_url: str) -> str:
    from urllib.parse import urlencode

    return reverse("accounts:verify") + "?" + urlencode({"next": next_url})


# --- My roles -----------------------------------------------------------------------------------------


@login_required
def my_roles(request):
    roles = selectors.my_roles(user=request.user)
    pending = selectors.pending_request_for(user=request.user,
                                            assignment_ids=[a.pk for a in roles.eligible + roles.active])
    labels = assignment_selectors.role_labels()  # "Owner (group)" and "Owner (resource)" told apart
    for a in roles.eligible + roles.active + roles.expired:
        a.pending_request = pending.get(a.pk)
        a.role_label = labels.get(a.role_id, a.role.name)
    return render(request, "approvals/my_roles.html", {"roles": roles, "now": timezone.now()})


def _approver_summary(setting) -> str:
    if not setting.require_approval:
        return ""
    names = [str(p) for p in setting.approvers.all()] if setting.pk else []
    if names:
        return ", ".join(names)
    fallback = selectors.FALLBACK_APPROVER_ROLES[setting.role.kind]
    return "the role's administrators (" + ", ".join(s.replace("-", " ").title() for s in fallback) + ")"


@login_required
@require_http_methods(["GET", "POST"])
def activate(request, assignment_id: int):
    eligible = _assignment_or_404(assignment_id)
    if eligible.kind != Assignment.Kind.ELIGIBLE:
        raise Http404("No such eligible assignment.")
    me = request.user.principal
    if eligible.principal_id != me.pk and eligible.principal_id not in selectors.user_group_ids(user=request.user):
        raise PermissionDenied("That eligible assignment is not yours.")
    setting = assignment_selectors.role_setting_effective(role=eligible.role, scope=eligible.scope)
    # Back from the step-up: the form as it was typed, to check and submit (never submitted for you).
    form = ActivateForm(_submitted(request), eligible=eligible, setting=setting)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.request_self_activate(
                actor=request.user, eligible_assignment=eligible, scope=data["scope"],
                duration_minutes=data["duration_minutes"], start_at=data["start_at"],
                justification=data["justification"], ticket_system=data["ticket_system"],
                ticket_number=data["ticket_number"], mfa_verified_at=mfa_verified_at(request),
                client_ip=client_ip_of(request),
            )
        except DomainError as error:
            if rules.asks_for_step_up(error):
                return step_up_redirect(request, request.get_full_path(), message=error.message)
            _form_error(form, error)
            if error.code == "conflict" and "already active" in error.message:
                active = (Assignment.objects.filter(principal=me, role=eligible.role, scope=data["scope"],
                                                    kind=Assignment.Kind.ACTIVE, status=Assignment.Status.LIVE)
                          .order_by("-start_at").first())
                form.extend_url = reverse("approvals:extend", args=[active.pk]) if active else ""
        else:
            if created.status == Request.Status.PENDING_APPROVAL:
                messages.success(request, f"Your activation of {eligible.role.name} is waiting for approval "
                                          f"({created.approvals_required} needed). You will get an email.")
                return redirect("approvals:my_requests")
            when = "now" if created.status == Request.Status.PROVISIONED else f"from {local_text(created.start_at)}"
            messages.success(request, f"{eligible.role.name} is active {when} until "
                                      f"{local_text(created.end_at)}. {created.status_message}".strip())
            return redirect("approvals:my_roles")
    return render(request, "approvals/activate.html", {
        "eligible": eligible, "setting": setting, "form": form, "mfa_fresh": mfa_is_fresh(request),
        "approvers": _approver_summary(setting), "verify_url": _verify_url(request.get_full_path()),
        "permissions": list(eligible.role.permissions.all()[:20]),
    }, status=400 if request.method == "POST" else 200)


@login_required
@require_http_methods(["GET", "POST"])
def deactivate(request, assignment_id: int):
    """GET: what ends, and a confirmation; POST: end it."""
    assignment = _assignment_or_404(assignment_id)
    if assignment.principal_id != request.user.principal.pk:
        raise PermissionDenied("That assignment is not yours.")
    if request.method == "GET":
        return render(request, "approvals/deactivate.html", {"assignment": assignment, "form": DeactivateForm(),
                                                             "now": timezone.now()})
    form = DeactivateForm(request.POST)
    if not form.is_valid():
        return render(request, "approvals/deactivate.html", {"assignment": assignment, "form": form,
                                                             "now": timezone.now()}, status=400)
    try:
        services.assignment_deactivate(actor=request.user, assignment=assignment,
                                       justification=form.cleaned_data["justification"])
    except DomainError as error:
        _refuse(error)
        messages.error(request, error.message)
    else:
        messages.success(request, f"{assignment.role.name} at {assignment.scope.path} is deactivated.")
    return redirect("approvals:my_roles")


@login_required
@require_http_methods(["GET", "POST"])
def extend(request, assignment_id: int):
    assignment = _assignment_or_404(assignment_id)
    if assignment.principal_id != request.user.principal.pk:
        raise PermissionDenied("That assignment is not yours.")
    setting = assignment_selectors.role_setting_effective(role=assignment.role, scope=assignment.scope)
    form = ExtendForm(_submitted(request), assignment=assignment, setting=setting)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.request_self_extend(actor=request.user, assignment=assignment,
                                         duration_minutes=data["duration_minutes"], end_at=data["end_at"],
                                         justification=data["justification"])
        except DomainError as error:
            if rules.asks_for_step_up(error):
                return step_up_redirect(request, request.path, message=error.message)
            _refuse(error)
            _form_error(form, error)
        else:
            messages.success(request, f"Your extension of {assignment.role.name} is waiting for approval by its "
                                      f"administrators.")
            return redirect("approvals:my_requests")
    return render(request, "approvals/extend.html", {"assignment": assignment, "form": form, "setting": setting},
                  status=400 if request.method == "POST" else 200)


@login_required
@require_http_methods(["GET", "POST"])
def renew(request, assignment_id: int):
    assignment = _assignment_or_404(assignment_id)
    if assignment.principal_id != request.user.principal.pk:
        raise PermissionDenied("That assignment is not yours.")
    form = RenewForm(_submitted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.request_self_renew(actor=request.user, assignment=assignment, end_at=data["end_at"],
                                        justification=data["justification"])
        except DomainError as error:
            if rules.asks_for_step_up(error):
                return step_up_redirect(request, request.path, message=error.message)
            _refuse(error)
            _form_error(form, error)
        else:
            messages.success(request, f"Your renewal of {assignment.role.name} is waiting for approval by its "
                                      f"administrators.")
            return redirect("approvals:my_requests")
    return render(request, "approvals/renew.html", {"assignment": assignment, "form": form},
                  status=400 if request.method == "POST" else 200)


# --- Requests -----------------------------------------------------------------------------------------


MY_REQUESTS_PAGE_SIZE = 25


@login_required
def my_requests(request):
    tab = request.GET.get("tab")
    if tab not in selectors.REQUEST_TABS:
        tab = "pending" if selectors.request_has_pending(user=request.user) else "history"
    rows = selectors.request_list_for_requester(user=request.user, limit=None, tab=tab)
    page = Paginator(rows, MY_REQUESTS_PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    for row in page.object_list:
        row.timeline = selectors.request_timeline(request=row)
        row.state_label, row.state_badge = selectors.request_state(request=row, now=now)
    return render(request, "approvals/my_requests.html", {
        "requests": page.object_list, "page": page, "tab": tab, "query": f"tab={tab}",
    })


def _can_view(user, pim_request: Request) -> bool:
    if pim_request.requested_by_id == user.pk or pim_request.principal_id == user.principal.pk:
        return True
    if pim_request.decisions.filter(approver=user).exists():
        return True
    if selectors.approver_can_decide(user=user, request=pim_request):
        return True
    return assignment_selectors.user_can_view(user=user, role=pim_request.role, scope=pim_request.scope)


@login_required
def request_detail(request, request_id):
    pim_request = _request_or_404(request_id)
    if not _can_view(request.user, pim_request):
        raise PermissionDenied("This request is someone else's, and you are not one of its approvers.")
    can_decide, delegation = selectors.approver_decides_as(user=request.user, request=pim_request)
    recent = []
    if can_decide:
        recent = list(Assignment.objects.filter(principal=pim_request.principal, activated_from__isnull=False)
                      .select_related("role", "scope").order_by("-created_at")[:5])
    pim_request.state_label, pim_request.state_badge = selectors.request_state(request=pim_request)
    return render(request, "approvals/request_detail.html", {
        "req": pim_request, "timeline": selectors.request_timeline(request=pim_request), "can_decide": can_decide,
        "is_requester": pim_request.requested_by_id == request.user.pk, "recent": recent,
        "permissions": list(pim_request.role.permissions.all()[:20]),
        "stages": selectors.request_stages(request=pim_request),
        "decides_for": delegation.delegator if delegation is not None else None,
        "decision_form": DecisionForm(initial=_restored_decision(request) if can_decide else None),
        "now": timezone.now(),
    })


def _restored_decision(request) -> dict | None:
    """Back from the step-up an approval asked for: the comment as it was typed, to approve in one click."""
    restored = step_up_restored(request)
    if restored is None:
        return None
    return {"comment": restored.get("comment", "")[:2000], "start_at": restored.get("start_at") or None,
            "end_at": restored.get("end_at") or None, "restored": True}


@login_required
@require_POST
def cancel(request, request_id):
    pim_request = _request_or_404(request_id)
    if pim_request.requested_by_id != request.user.pk:
        raise PermissionDenied("Only the person who made a request can cancel it.")
    try:
        services.request_cancel(actor=request.user, request=pim_request)
    except DomainError as error:
        _refuse(error)
        messages.error(request, error.message)
    else:
        messages.success(request, f"Your request for {pim_request.role.name} is canceled.")
    return redirect("approvals:my_requests")


# --- Approvals ------------------------------------------------------------------------------------------


def _queue_place(data) -> dict[str, str]:
    """The queue page a request came from (`after` / `before` cursor), for the way back to it."""
    return {name: data[name] for name in ("after", "before")
            if selectors.queue_cursor_parse(data.get(name)) is not None}


def _queue_url(place: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return reverse("approvals:queue") + (f"?{urlencode(place)}" if place else "")


@login_required
def queue(request):
    # Keyset pages (oldest first): someone who may decide thousands of requests reads one page of them.
    page = selectors.request_page_pending_for_approver(user=request.user, after=request.GET.get("after"),
                                                       before=request.GET.get("before"))
    restored = step_up_restored(request)  # the selection typed before a step-up, once
    selected = set(restored.getlist("ids")) if restored is not None else set()
    for row in page.rows:
        row.selected = str(row.pk) in selected
    return render(request, "approvals/queue.html", {
        "requests": page.rows, "page": page, "place": _queue_place(request.GET), "decision_form": DecisionForm(),
        "now": timezone.now(), "bulk_comment": restored.get("comment", "") if restored is not None else "",
    })


@login_required
@require_POST
def approve_bulk(request):
    """Approve the selected requests of the queue: each decided on its own, one result per request."""
    form = BulkApproveForm(request.POST)
    back = _queue_url(_queue_place(request.POST))  # the page of the queue the selection was made on
    if not form.is_valid():
        for error in form.non_field_errors() or ["The comment is too long (2000 characters at most)."]:
            messages.error(request, error)
        return redirect(back)
    approver = Actor.person(request.user, mfa_verified_at=mfa_verified_at(request))
    try:
        outcomes = services.request_approve_many(actor=approver, request_ids=form.cleaned_data["ids"],
                                                 comment=form.cleaned_data["comment"])
    except DomainError as error:
        if error.field == "mfa":  # once for the whole batch; the selection comes back after the step-up
            return step_up_redirect(request, back)
        _refuse(error)
        messages.error(request, error.message)
        return redirect(back)
    done = sum(1 for outcome in outcomes if outcome.ok)
    level = messages.SUCCESS if done == len(outcomes) else messages.WARNING
    messages.add_message(request, level, f"{done} of {len(outcomes)} selected requests approved.")
    return render(request, "approvals/bulk_result.html", {"outcomes": outcomes})


def _decide(request, request_id, *, approve: bool):
    pim_request = _request_or_404(request_id)
    form = DecisionForm(request.POST)
    detail_url = reverse("approvals:request_detail", args=[pim_request.pk]) + "#decide"
    if not form.is_valid():
        if "comment" in form.errors:
            length = len(request.POST.get("comment", ""))
            messages.error(request, f"The comment is too long: {length} characters, 2000 at most. Nothing was decided.")
            return redirect(detail_url)
        for field, errors in form.errors.items():
            messages.error(request, f"{form.fields[field].label}: {' '.join(errors)}")
        return redirect(detail_url)
    comment = form.cleaned_data["comment"]
    try:
        if approve:
            # The approver's fresh step-up counts where the approval makes an active assignment
            # (a renewal under "require MFA on active assignment").
            approver = Actor.person(request.user, mfa_verified_at=mfa_verified_at(request))
            done = services.request_approve(actor=approver, request=pim_request, comment=comment,
                                            start_at=form.cleaned_data["start_at"],
                                            end_at=form.cleaned_data["end_at"])
        else:
            done = services.request_deny(actor=request.user, request=pim_request, comment=comment)
    except DomainError as error:
        if rules.asks_for_step_up(error):
            # Verify and come back to the request's page, the comment kept; approving is one more click.
            # Verify and come back to the request's page (the kept form is bound to its path, no
            # fragment), the comment kept; approving is one more click.
            return step_up_redirect(request, reverse("approvals:request_detail", args=[pim_request.pk]),
                                    message=error.message)
        _refuse(error)
        messages.error(request, error.message)
        if error.field in ("comment", "start_at", "end_at"):
            return redirect(detail_url)
    else:
        who = pim_request.principal
        if not approve:
            messages.success(request, f"You denied {who}'s request for {pim_request.role.name}.")
        elif done.status == Request.Status.PENDING_APPROVAL:
            messages.success(request, services.request_pending_note(request=done))
        elif done.status == Request.Status.FAILED:
            messages.warning(request, f"Approved, but it could not be carried out: {done.status_message}")
        else:
            changed = f" {done.status_message}" if done.status_message.startswith("Approved with") else ""
            messages.success(request, f"You approved {who}'s request for {pim_request.role.name}.{changed}")
    return redirect("approvals:queue")


@login_required
@require_POST
def approve(request, request_id):
    return _decide(request, request_id, approve=True)


@login_required
@require_POST
def deny(request, request_id):
    return _decide(request, request_id, approve=False)



# --- Delegation -------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def delegation(request):
    """Your delegations: give one (out of office) and revoke one, given or received."""
    form = DelegationForm(request.POST if request.method == "POST" and "delegate" in request.POST else None)
    status = 200
    if request.method == "POST" and "delegate" in request.POST:
        if form.is_valid():
            data = form.cleaned_data
            delegate = assignment_selectors.user_by_username(username=data["delegate"])
            try:
                if delegate is None:
                    raise invalid(f"There is no user {data['delegate']}.", field="delegate")
                services.delegation_create(actor=request.user, delegate=delegate, starts_at=data["starts_at"],
                                           ends_at=data["ends_at"], reason=data["reason"])
            except DomainError as error:
                _form_error(form, error)
                status = error.status
            else:
                messages.success(request, f"{delegate} decides your approvals from {local_text(data['starts_at'])} "
                                          f"until {local_text(data['ends_at'])}.")
                return redirect("approvals:delegation")
        else:
            status = 400
    elif request.method == "POST":
        revoke = DelegationRevokeForm(request.POST)
        if revoke.is_valid():
            try:
                services.delegation_revoke(actor=request.user, delegation=revoke.cleaned_data["delegation"])
            except DomainError as error:
                _refuse(error)
                messages.error(request, error.message)
            else:
                messages.success(request, "The delegation is revoked.")
        return redirect("approvals:delegation")
    now = timezone.now()
    rows = list(selectors.delegations_of(user=request.user)[:100])
    for row in rows:
        row.current = row.is_current_at(now)
        row.revocable = row.revoked_at is None and row.ends_at > now
    return render(request, "approvals/delegation.html", {
        "form": form, "given": [r for r in rows if r.delegator_id == request.user.pk],
        "received": [r for r in rows if r.delegate_id == request.user.pk], "now": now,
    }, status=status)
