"""Administration pages: assignments, role settings, the directory and elevate access.

Each view: gate with the selectors the services use (403 with a reason), parse with a form, call one
service, turn a `DomainError` into a form error (or the MFA step-up), say what happened.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.forms import MultiWidget
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.actors import Actor
from core.errors import DomainError
from core.forms import ChangeReasonForm, form_add_domain_error
from core.mfa import mfa_verified_at
from core.stepup import step_up_redirect, step_up_restored

from . import rules, selectors, services
from .capabilities import user_capabilities
from .filters import AssignmentFilterSet, PrincipalFilterSet, ScopeFilterSet
from .forms import (
    ApprovalStageForm,
    ApprovalStageFormSet,
    AssignForm,
    BulkMakeActiveForm,
    ConfirmForm,
    ElevateForm,
    ExtendForm,
    GroupCreateForm,
    RoleSettingForm,
    RoleSettingTargetForm,
    ServicePrincipalCreateForm,
    UpdateForm,
)
from .models import Assignment, ElevatedAccess, Principal, RoleDefinition, RoleSetting, Scope

PAGE_SIZE = 50
PICKER_LIMIT = 20
GROUP_ROLE_SLUGS = [RoleDefinition.GROUP_MEMBER, RoleDefinition.GROUP_OWNER]


# --- Gates and helpers ------------------------------------------------------------------------------


def _require_admin_or_viewer(request) -> dict:
    caps = user_capabilities(request)
    if not (caps.get("any_admin") or caps.get("directory_viewer")):
        raise PermissionDenied(
            "The administration pages are for administrators and directory readers: you need an active "
            "administering role (Privileged Role Administrator, Global Administrator, Owner or User Access "
            "Administrator of a scope, or Owner of a group) or a directory reader role.")
    return caps


def _require_any_admin(request) -> dict:
    caps = user_capabilities(request)
    if not caps.get("any_admin"):
        raise PermissionDenied(
            "Assigning roles needs an active administering role: Privileged Role Administrator or Global "
            "Administrator (directory roles), Owner or User Access Administrator of a scope (resource roles), or "
            "Owner of a group (its members and owners).")
    return caps


def _require_directory_admin(request) -> None:
    if not selectors.user_holds_any(user=request.user, role_slugs=selectors.DIRECTORY_ADMIN_ROLES):
        raise PermissionDenied("Only an active Global Administrator or Privileged Role Administrator can create "
                               "groups and service principals.")


def _admin_role_names(role: RoleDefinition) -> str:
    return ", ".join(RoleDefinition.objects.filter(slug__in=selectors.admin_roles_for(role=role))
                     .order_by("name").values_list("name", flat=True))


def _require_manage(request, role: RoleDefinition, scope: Scope) -> None:
    if not selectors.user_can_manage(user=request.user, role=role, scope=scope):
        raise PermissionDenied(f"You may not change {role.name} at {scope.path}: that needs an active "
                               f"{_admin_role_names(role)} at this scope or above.")


def _visible_assignment(request, pk: int) -> Assignment:
    return get_object_or_404(selectors.assignments_visible_to(user=request.user), pk=pk)


def _form_error(form, error: DomainError) -> None:
    form_add_domain_error(form, error)


def _initial_from(data, form_class, multi=()) -> dict:
    """Unbound initial values from GET/POST data (to re-show a form after a picker search, unvalidated)."""
    fields = form_class.base_fields
    initial = {}
    for name in fields:
        if name in multi:
            values = data.getlist(name)
            if values:
                initial[name] = values
        elif isinstance(fields[name].widget, MultiWidget):
            if not fields[name].widget.value_omitted_from_data(data, {}, name):
                initial[name] = fields[name].widget.value_from_datadict(data, {}, name)
        elif name in data:
            initial[name] = data.get(name)
    return initial


def _text(value, limit: int = 200) -> str:
    """Free text from a query string, safe for any database (PostgreSQL refuses NUL bytes)."""
    return (value or "").replace("\x00", "")[:limit]


def _int_list(values) -> list[int]:
    ids = []
    for value in values:
        try:
            number = int(value)
        except (TypeError, ValueError):
            continue
        if 0 < number < 2**62:
            ids.append(number)
    return ids


def _principal_option(p: Principal, checked: bool) -> dict:
    detail = p.get_kind_display()
    if p.email:
        detail += f" · {p.email}"
    if p.is_group and p.role_assignable:
        detail += " · role-assignable"
    return {"value": p.pk, "label": p.display_name, "detail": detail, "checked": checked}


def _principal_options(*, selected, query: str, searching: bool, kinds: list[str] | None) -> list[dict]:
    """Picker options: the selected principals first, then search results (when a search was asked for)."""
    selected_ids = _int_list(selected)
    chosen = list(Principal.objects.filter(pk__in=selected_ids)) if selected_ids else []
    options = [_principal_option(p, True) for p in chosen]
    if searching or query:
        seen = {p.pk for p in chosen}
        options += [_principal_option(p, False)
                    for p in selectors.principal_search(text=_text(query, 100), kinds=kinds, limit=PICKER_LIMIT)
                    if p.pk not in seen]
    return options


def _scope_option(s: Scope, checked: bool) -> dict:
    return {"value": s.path, "label": s.display_name, "detail": f"{s.get_kind_display()} · {s.path}",
            "checked": checked}


def _scope_search(query: str, kinds: list[str] | None = None, *, role: RoleDefinition | None = None, user=None):
    """Scopes matching the text; for a role, only where it can be held and `user` may assign it (the
    rules the assignment service applies)."""
    data = {"q": _text(query)}
    if kinds:
        data["kind"] = kinds
    scopes = selectors.scopes_for_role(role=role, user=user) if role is not None else Scope.objects.all()
    filterset = ScopeFilterSet(data, queryset=scopes.order_by("path"))
    return filterset.qs[:PICKER_LIMIT] if filterset.is_valid() else Scope.objects.none()


def _scope_options(*, selected: str, query: str, searching: bool, role: RoleDefinition | None = None,
                   user=None) -> list[dict]:
    selected = _text(selected, 512).strip()
    chosen = selectors.scope_get(path=selected) if selected else None
    if chosen is not None and role is not None and not selectors.role_fits_scope(role=role, scope=chosen):
        chosen = None  # a directory role's form does not keep a subscription picked for another role
    options = [_scope_option(chosen, True)] if chosen else []
    if searching or query:
        options += [_scope_option(s, False) for s in _scope_search(query, role=role, user=user)
                    if chosen is None or s.pk != chosen.pk]
    return options


def _state(assignment: Assignment, now) -> tuple[str, str]:
    """(label, badge class) for a row, computed without queries."""
    if assignment.status == Assignment.Status.ENDED:
        if assignment.end_reason == Assignment.EndReason.EXPIRED:
            return "Expired", "badge-danger"
        return assignment.get_end_reason_display() or "Ended", ""
    if assignment.start_at > now:
        return "Scheduled", "badge-info"
    if assignment.end_at is not None and assignment.end_at <= now:
        return "Expired", "badge-danger"
    return "In effect", "badge-ok"


# --- Assignments list -------------------------------------------------------------------------------


# The list's tabs, as in Entra: what each sets of the filters (the other filters apply within it).
ASSIGNMENT_TABS = {
    "eligible": ("Eligible", {"kind": Assignment.Kind.ELIGIBLE}, ("live", "current", "scheduled")),
    "active": ("Active", {"kind": Assignment.Kind.ACTIVE}, ("live", "current", "scheduled")),
    "expired": ("Expired", {}, ("expired", "ended")),
    "all": ("All", {}, ("", "live", "current", "scheduled", "expired", "ended")),
}


def _tab_of(query) -> str:
    """The tab asked for; without one, the tab a link's kind or state means (older links keep working)."""
    tab = query.get("tab")
    if tab in ASSIGNMENT_TABS:
        return tab
    if query.get("kind") in (Assignment.Kind.ELIGIBLE, Assignment.Kind.ACTIVE) and query.get("state") in (
            None, "live", "current", "scheduled"):
        return query["kind"]
    if query.get("state") in ("expired", "ended"):
        return "expired"
    return "all" if "state" in query else "eligible"


def _tabbed(data, tab: str):
    """The query of a tab: its kind, and a state among the tab's (its first by default)."""
    _, fixed, states = ASSIGNMENT_TABS[tab]
    data = data.copy()
    data["tab"] = tab
    for name, value in fixed.items():
        data[name] = value
    if data.get("state") not in states:
        data["state"] = states[0]
    return data


@login_required
@require_GET
def assignment_list(request):
    caps = _require_admin_or_viewer(request)
    tab = _tab_of(request.GET)
    data = _tabbed(request.GET, tab)
    queryset = selectors.assignments_visible_to(user=request.user)
    filterset = AssignmentFilterSet(data, queryset=queryset)
    labels = selectors.role_labels()
    filterset.form.fields["role"].label_from_instance = lambda role: labels.get(role.pk, role.name)
    _, _, states = ASSIGNMENT_TABS[tab]
    state_field = filterset.form.fields["state"]
    state_field.choices = ([("", "Any state")] if "" in states else []) + [
        (value, label) for value, label in AssignmentFilterSet.STATE_CHOICES if value in states]
    rows = filterset.qs if filterset.is_valid() else queryset.none()
    # Keyset pages in the order an index serves (`selectors.LIST_ORDER`): the first and the 1,000th
    # page of a million assignments cost the same, and no COUNT is run.
    page = selectors.assignment_keyset_page(queryset=rows, after=request.GET.get("after"),
                                            before=request.GET.get("before"), size=PAGE_SIZE)
    now = timezone.now()
    for assignment in page.object_list:
        assignment.state_label, assignment.state_badge = _state(assignment, now)
        assignment.role_label = labels.get(assignment.role_id, assignment.role.name)
        assignment.can_make_active = (assignment.kind == Assignment.Kind.ELIGIBLE
                                      and assignment.status == Assignment.Status.LIVE
                                      and (assignment.end_at is None or assignment.end_at > now))
    query = data.copy()
    for name in ("page", "after", "before"):
        query.pop(name, None)
    # The tabs keep the other filters (role, scope, principal, text…), not the kind and state they set.
    others = request.GET.copy()
    for name in ("page", "after", "before", "tab", "kind", "state"):
        others.pop(name, None)
    tabs = [{"key": key, "label": label, "current": key == tab,
             "query": "&".join(part for part in (f"tab={key}", others.urlencode()) if part)}
            for key, (label, _, _) in ASSIGNMENT_TABS.items()]
    principal = filterset.form.cleaned_data.get("principal") if filterset.is_valid() else None
    return render(request, "assignments/list.html", {
        "filterset": filterset, "page": page, "query": query.urlencode(), "caps": caps, "tab": tab, "tabs": tabs,
        "filtered_principal": principal,
        "can_elevate": caps.get("directory_admin") and selectors.user_holds_any(
            user=request.user, role_slugs=[RoleDefinition.GLOBAL_ADMINISTRATOR]),
    }, status=200 if filterset.is_valid() else 400)


# --- Assign -------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def assignment_create(request):
    _require_any_admin(request)
    status = 200
    searching = request.method == "POST" and "_search" in request.POST
    if request.method == "POST" and not searching:
        source = request.POST
        form = AssignForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                assignment = services.assignment_create(actor=request.user, mfa_verified_at=mfa_verified_at(request),
                                                        **form.service_kwargs())
            except DomainError as error:
                if rules.asks_for_step_up(error):
                    return step_up_redirect(request, reverse("assignments:assign"))
                _form_error(form, error)
                status = error.status
            else:
                messages.success(request, f"{assignment.principal} is now {assignment.assignment_type_label.lower()} "
                                          f"for {assignment.role.name} at {assignment.scope.path}.")
                return redirect("assignments:detail", pk=assignment.pk)
        else:
            status = 400
    else:
        # A search re-shows the form as typed; so does the way back from the step-up.
        source = request.POST if searching else (step_up_restored(request) or request.GET)
        form = AssignForm(initial=_initial_from(source, AssignForm), user=request.user)
    chosen_role = _role_or_none(source.get("role"))
    return render(request, "assignments/assign.html", {
        "form": form,
        "principal_q": source.get("principal_q", ""),
        "scope_q": source.get("scope_q", ""),
        "principal_options": _principal_options(
            selected=source.getlist("principal"), query=source.get("principal_q", ""),
            searching=searching and source.get("_search") == "principal", kinds=None),
        "scope_options": _scope_options(
            selected=source.get("scope", "" if request.method == "POST" else selectors.ROOT_PATH),
            query=source.get("scope_q", ""),
            searching=searching and source.get("_search") == "scope", role=chosen_role, user=request.user),
        "chosen_role": chosen_role,
    }, status=status)


def _role_or_none(value) -> RoleDefinition | None:
    ids = _int_list([value]) if value else []
    return RoleDefinition.objects.filter(pk=ids[0]).first() if ids else None


# --- One assignment and its actions -------------------------------------------------------------------


@login_required
@require_GET
def assignment_detail(request, pk: int):
    assignment = _visible_assignment(request, pk)
    now = timezone.now()
    can_manage = selectors.user_can_manage(user=request.user, role=assignment.role, scope=assignment.scope)
    live = assignment.status == Assignment.Status.LIVE
    over = assignment.end_at is not None and assignment.end_at <= now
    ended_at = assignment.ended_at or assignment.end_at
    actions = {
        "update": live and not over and not assignment.is_activation,
        "extend": live and not over and assignment.end_at is not None
        and assignment.end_at - now <= settings.PIM_EXTEND_WINDOW,
        "renew": not assignment.is_activation and ended_at is not None and ended_at <= now
        and now - ended_at <= settings.PIM_RENEW_WINDOW
        and (live or assignment.end_reason == Assignment.EndReason.EXPIRED),
        "make_active": live and not over and assignment.kind == Assignment.Kind.ELIGIBLE,
        "remove": live and not over,
    }
    state_label, state_badge = _state(assignment, now)
    return render(request, "assignments/detail.html", {
        "a": assignment, "can_manage": can_manage, "actions": actions, "state_label": state_label,
        "state_badge": state_badge,
    })


def _dates_action(request, pk: int, *, form_class, template: str, title: str, call, done: str):
    assignment = _visible_assignment(request, pk)
    _require_manage(request, assignment.role, assignment.scope)
    status = 200
    if request.method == "POST":
        form = form_class(request.POST)
        if form.is_valid():
            try:
                result = call(assignment, form.cleaned_data)
            except DomainError as error:
                if rules.asks_for_step_up(error):
                    return step_up_redirect(request, request.path)
                _form_error(form, error)
                status = error.status
            else:
                messages.success(request, done.format(a=result))
                return redirect("assignments:detail", pk=result.pk)
        else:
            status = 400
    elif (restored := step_up_restored(request)) is not None:
        form = form_class(restored)  # back from the step-up: what was typed
    else:
        initial = {"permanent": assignment.end_at is None}
        if assignment.end_at:
            initial["end_at"] = assignment.end_at
        if "start_at" in form_class.base_fields:
            initial["start_at"] = assignment.start_at
        form = form_class(initial=initial)
    return render(request, template, {"a": assignment, "form": form, "title": title}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def assignment_update(request, pk: int):
    return _dates_action(
        request, pk, form_class=UpdateForm, template="assignments/dates_form.html", title="Change dates",
        call=lambda a, d: services.assignment_update(actor=request.user, assignment=a, start_at=d["start_at"],
                                                     end_at=d["end_at"], justification=d["justification"],
                                                     mfa_verified_at=mfa_verified_at(request)),
        done="Dates of assignment #{a.pk} changed.")


@login_required
@require_http_methods(["GET", "POST"])
def assignment_extend(request, pk: int):
    return _dates_action(
        request, pk, form_class=ExtendForm, template="assignments/dates_form.html", title="Extend",
        call=lambda a, d: services.assignment_extend(actor=request.user, assignment=a, end_at=d["end_at"],
                                                     justification=d["justification"],
                                                     mfa_verified_at=mfa_verified_at(request)),
        done="Assignment #{a.pk} extended.")


@login_required
@require_http_methods(["GET", "POST"])
def assignment_renew(request, pk: int):
    return _dates_action(
        request, pk, form_class=ExtendForm, template="assignments/dates_form.html", title="Renew",
        call=lambda a, d: services.assignment_renew(actor=request.user, assignment=a, end_at=d["end_at"],
                                                    justification=d["justification"],
                                                    mfa_verified_at=mfa_verified_at(request)),
        done="Assignment renewed as #{a.pk}.")


def _confirm_action(request, pk: int, *, verb: str, danger: bool, explain: str, call, done: str):
    assignment = _visible_assignment(request, pk)
    _require_manage(request, assignment.role, assignment.scope)
    status = 200
    form = ConfirmForm(request.POST if request.method == "POST" else step_up_restored(request))
    if request.method == "POST":
        if form.is_valid():
            try:
                result = call(assignment, form.cleaned_data["justification"])
            except DomainError as error:
                if rules.asks_for_step_up(error):
                    return step_up_redirect(request, request.path)
                _form_error(form, error)
                status = error.status
            else:
                messages.success(request, done.format(a=result))
                return redirect("assignments:detail", pk=result.pk)
        else:
            status = 400
    return render(request, "assignments/confirm.html", {
        "a": assignment, "form": form, "verb": verb, "danger": danger, "explain": explain,
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def assignment_remove(request, pk: int):
    return _confirm_action(
        request, pk, verb="Remove", danger=True,
        explain="The assignment ends now; activations that came from it end with it. This cannot be undone.",
        call=lambda a, why: services.assignment_remove(actor=request.user, assignment=a, justification=why),
        done="Assignment #{a.pk} removed.")


@login_required
@require_http_methods(["GET", "POST"])
def assignment_make_active(request, pk: int):
    return _confirm_action(
        request, pk, verb="Make active", danger=False,
        explain="The eligible assignment is replaced by an active one with the same window (capped by the "
                "policy's limit on active assignments).",
        call=lambda a, why: services.assignment_make_active(actor=request.user, assignment=a, justification=why,
                                                            mfa_verified_at=mfa_verified_at(request)),
        done="Active assignment #{a.pk} created from the eligible one.")


@login_required
@require_POST
def assignment_make_active_bulk(request):
    _require_any_admin(request)
    form = BulkMakeActiveForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("ids", []):
            messages.error(request, error)
        return redirect("assignments:list")
    ids = form.cleaned_data["ids"]
    visible = {a.pk: a for a in selectors.assignments_visible_to(user=request.user).filter(pk__in=ids)}
    # The service checks each row again; asking here sends the person through one step-up, not N refusals.
    if any(rules.assignment_is_privileged(role=a.role, scope=a.scope) for a in visible.values()):
        try:
            rules.check_admin_mfa(actor=Actor.person(request.user, mfa_verified_at=mfa_verified_at(request)),
                                  what="make privileged roles active")
        except DomainError:
            return step_up_redirect(request, reverse("assignments:list"), keep_form=False)
    outcomes = dict(((pk, (done, message)) for pk, done, message in services.assignment_make_active_bulk(
        actor=request.user, assignment_ids=list(visible), justification=form.cleaned_data["justification"],
        mfa_verified_at=mfa_verified_at(request))))
    rows = [{"id": pk, "assignment": visible.get(pk), "done": outcomes.get(pk, (False, "No such assignment."))[0],
             "message": outcomes.get(pk, (False, "No such assignment."))[1]} for pk in ids]
    done = sum(1 for row in rows if row["done"])
    level = messages.SUCCESS if done == len(rows) else messages.WARNING
    messages.add_message(request, level, f"{done} of {len(rows)} assignments made active.")
    return render(request, "assignments/bulk_result.html", {"rows": rows}, status=200)


# --- Pickers (JSON) -----------------------------------------------------------------------------------


@login_required
@require_GET
def principal_search(request):
    caps = user_capabilities(request)
    if not (caps.get("any_admin") or caps.get("directory_viewer")):
        return JsonResponse({"error": "Only administrators and directory readers can search the directory."},
                            status=403)
    kinds = [k for k in request.GET.get("kinds", "").split(",") if k in Principal.Kind.values] or None
    results = selectors.principal_search(text=_text(request.GET.get("q"), 100), kinds=kinds, limit=PICKER_LIMIT)
    return JsonResponse({"results": [_principal_option(p, False) for p in results]})


@login_required
@require_GET
def scope_search(request):
    caps = user_capabilities(request)
    if not (caps.get("any_admin") or caps.get("directory_viewer")):
        return JsonResponse({"error": "Only administrators and directory readers can search scopes."}, status=403)
    kinds = [k for k in request.GET.get("kinds", "").split(",") if k in Scope.Kind.values] or None
    role = _role_or_none(request.GET.get("role"))
    results = _scope_search(request.GET.get("q", ""), kinds, role=role, user=request.user if role else None)
    return JsonResponse({"results": [_scope_option(s, False) for s in results]})


# --- Role settings ------------------------------------------------------------------------------------


@login_required
@require_GET
def role_settings(request):
    return _role_settings_page(request, RoleSettingTargetForm(user=request.user))


def _role_settings_page(request, target_form, status: int = 200):
    caps = _require_admin_or_viewer(request)
    settings_rows = list(RoleSetting.objects.select_related("role", "scope", "scope__group")
                         .prefetch_related("approvers").order_by("role__kind", "role__name", "scope__path"))
    # One access check per (role kind, scope) pair, not per row: the viewer roles depend on the kind only.
    decisions: dict[tuple[str, int], bool] = {}
    for setting in settings_rows:
        key = (setting.role.kind, setting.scope_id)
        if key not in decisions:
            decisions[key] = selectors.user_can_view(user=request.user, role=setting.role, scope=setting.scope)
        setting.can_open = decisions[key]
    if not caps.get("directory_viewer"):
        settings_rows = [s for s in settings_rows if s.can_open
                         or (s.scope.is_root and s.role.kind != RoleDefinition.Kind.DIRECTORY)]
    sections = []
    for kind, label in RoleDefinition.Kind.choices:
        rows = [s for s in settings_rows if s.role.kind == kind]
        if rows:
            sections.append({"label": label, "kind": kind, "rows": rows})
    return render(request, "assignments/role_settings.html", {
        "sections": sections, "target_form": target_form,
    }, status=status)


@login_required
@require_GET
def role_setting_open(request):
    """The "open policy of role R at scope S" form: validates and redirects to the editor."""
    form = RoleSettingTargetForm(request.GET, user=request.user)
    if not form.is_valid():
        return _role_settings_page(request, form, status=400)
    role, scope = form.cleaned_data["role"], form.cleaned_data["scope"]
    return redirect(f"{reverse('assignments:role_setting', args=[role.pk])}?{urlencode({'scope': scope.path})}")


def _policy_subject(request, role_pk: int) -> tuple[RoleDefinition, Scope, bool]:
    """The role and scope (`?scope=`, or the form's `scope`) of a policy page, and whether the person
    may change that policy; 404 for an unknown role or scope, 403 for who may not even see it."""
    role = get_object_or_404(RoleDefinition, pk=role_pk)
    source = request.POST if request.method == "POST" else request.GET
    scope_path = source.get("scope") or selectors.ROOT_PATH
    scope = None if "\x00" in scope_path else selectors.scope_get(path=scope_path[:512])
    if scope is None:
        raise Http404("No such scope.")
    can_manage = selectors.user_can_manage(user=request.user, role=role, scope=scope)
    if not can_manage and not selectors.user_can_view(user=request.user, role=role, scope=scope):
        raise PermissionDenied(f"You may not see the policy of {role.name} at {scope.path}: that needs an active "
                               f"{_admin_role_names(role)} at this scope or above.")
    return role, scope, can_manage


@login_required
@require_http_methods(["GET", "POST"])
def role_setting_edit(request, role_pk: int):
    role, scope, can_manage = _policy_subject(request, role_pk)
    effective = selectors.role_setting_effective(role=role, scope=scope)
    approver_ids = selectors.role_setting_approver_ids(setting=effective)
    status = 200
    searching = request.method == "POST" and "_search" in request.POST
    if request.method == "POST" and not searching:
        if not can_manage:
            _require_manage(request, role, scope)
        form = RoleSettingForm(request.POST)
        if form.is_valid():
            try:
                services.role_setting_update(actor=request.user, role=role, scope=scope,
                                             values=form.service_values(), approver_ids=form.approver_ids(),
                                             mfa_verified_at=mfa_verified_at(request),
                                             reason=form.cleaned_data["reason"])
            except DomainError as error:
                if rules.asks_for_step_up(error):
                    return step_up_redirect(request, f"{request.path}?{urlencode({'scope': scope.path})}")
                _form_error(form, error)
                status = error.status
            else:
                messages.success(request, f"Policy of {role.name} at {scope.path} saved.")
                return redirect(f"{request.path}?{urlencode({'scope': scope.path})}")
        else:
            # The fields the form could parse still go through the policy's rules: every mistake at once.
            try:
                services.role_setting_validate(values=form.partial_values())
            except DomainError as error:
                _form_error(form, error)
            status = 400
        selected_approvers = request.POST.getlist("approvers")
    elif searching:
        form = RoleSettingForm(initial=_initial_from(request.POST, RoleSettingForm, multi=("approvers",))
                               | _matrix_initial(request.POST))
        selected_approvers = request.POST.getlist("approvers")
    elif (restored := step_up_restored(request)) is not None:
        form = RoleSettingForm(restored)  # back from the step-up: the policy as it was typed
        selected_approvers = restored.getlist("approvers")
    else:
        form = RoleSettingForm(initial=RoleSettingForm.initial_for(effective, approver_ids))
        selected_approvers = approver_ids
    inherited = effective.pk is not None and effective.scope_id != scope.pk
    return render(request, "assignments/role_setting.html", {
        "role": role, "scope": scope, "effective": effective, "can_manage": can_manage, "form": form,
        "inherited": inherited, "defined_here": effective.pk is not None and not inherited,
        "effective_approvers": list(effective.approvers.all()) if effective.pk else [],
        "effective_stages": list(effective.stages.order_by("position")) if effective.pk else [],
        "approver_q": request.POST.get("approver_q", "") if searching else "",
        "approver_options": _principal_options(
            selected=selected_approvers, query=request.POST.get("approver_q", "") if searching else "",
            searching=searching, kinds=[Principal.Kind.USER, Principal.Kind.GROUP]),
        "expiration_labels": dict(RoleSetting.EXPIRATION_CHOICES),
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def role_setting_stages(request, role_pk: int):
    """The ordered approval stages of the policy of a role at a scope (issue 18): each stage's approvers,
    quorum, timeout and escalation. Shown to who may see the policy; changed by who may manage it."""
    role, scope, can_manage = _policy_subject(request, role_pk)
    setting = RoleSetting.objects.filter(role=role, scope=scope).first()
    effective = selectors.role_setting_effective(role=role, scope=scope)
    current = list(setting.stages.order_by("position").prefetch_related("approvers", "fallback_approvers")) \
        if setting else []
    here = f"{request.path}?{urlencode({'scope': scope.path})}"
    status = 200
    if request.method == "POST":
        if not can_manage:
            _require_manage(request, role, scope)
        formset = ApprovalStageFormSet(request.POST, prefix="stage")
        reason_form = ChangeReasonForm(request.POST)
        if formset.is_valid() & reason_form.is_valid():  # both, so that every mistake shows at once
            stages = [form.stage_values() for form in formset.forms if not form.is_blank]
            try:
                services.role_setting_stages_set(actor=request.user, role=role, scope=scope, stages=stages,
                                                 mfa_verified_at=mfa_verified_at(request),
                                                 reason=reason_form.cleaned_data["reason"])
            except DomainError as error:
                if rules.asks_for_step_up(error):
                    return step_up_redirect(request, here)
                _stage_errors(formset, error)
                status = error.status
            else:
                messages.success(request, f"Approval stages of {role.name} at {scope.path} saved "
                                          f"({len(stages) or 'none: the policy’s own approvers decide'}).")
                return redirect(here)
        else:
            status = 400
    elif (restored := step_up_restored(request)) is not None:
        formset = ApprovalStageFormSet(restored, prefix="stage")
        reason_form = ChangeReasonForm(restored)
    else:
        initial = [ApprovalStageForm.initial_for(stage) for stage in current]
        formset = ApprovalStageFormSet(initial=initial, prefix="stage")
        formset.extra = 1 if len(initial) < 5 else 0
        reason_form = ChangeReasonForm()
    return render(request, "assignments/role_setting_stages.html", {
        "role": role, "scope": scope, "setting": setting, "effective": effective, "stages": current,
        "can_manage": can_manage and setting is not None, "formset": formset, "reason_form": reason_form,
        "inherited_stages": list(effective.stages.order_by("position")) if effective.pk and setting is None else [],
    }, status=status)


def _stage_errors(formset, error: DomainError) -> None:
    """A service refusal naming `stages.<n>.<field>` lands on that stage's field; the rest at the top."""
    forms_ = formset.forms
    for name, message in error.field_errors():
        parts = (name or "").split(".")
        if len(parts) == 3 and parts[0] == "stages" and parts[1].isdigit() and 0 < int(parts[1]) <= len(forms_):
            form = _nth_present(forms_, int(parts[1]))
            if form is not None and parts[2] in form.fields:
                form.add_error(parts[2], message)
                continue
        formset._non_form_errors = formset.non_form_errors() + [message]


def _nth_present(forms_, n: int):
    present = [form for form in forms_ if not form.is_blank]
    return present[n - 1] if n <= len(present) else None


def _matrix_initial(data) -> dict:
    """Notification cells as posted (unbound re-display after a picker search)."""
    return {name: (data.get(name) if name.endswith("__extra") else name in data)
            for name in RoleSettingForm().fields if name.startswith("n__")}


# --- Directory ----------------------------------------------------------------------------------------


@login_required
@require_GET
def principal_list(request):
    caps = _require_admin_or_viewer(request)
    data = request.GET.copy()
    data.setdefault("kind", Principal.Kind.USER)
    filterset = PrincipalFilterSet(data, queryset=Principal.objects.select_related("user").order_by("display_name",
                                                                                                     "pk"))
    rows = filterset.qs if filterset.is_valid() else Principal.objects.none()
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = data.copy()
    for name in ("page", "after", "before"):
        query.pop(name, None)
    can_create = caps.get("directory_admin") or selectors.user_holds_any(
        user=request.user, role_slugs=selectors.DIRECTORY_ADMIN_ROLES)
    return render(request, "assignments/principals.html", {
        "filterset": filterset, "page": page, "query": query.urlencode(), "kind": data.get("kind"),
        "kinds": Principal.Kind.choices, "can_create": can_create,
    }, status=200 if filterset.is_valid() else 400)


@login_required
@require_GET
def principal_detail(request, pk: int):
    _require_admin_or_viewer(request)
    principal = get_object_or_404(Principal.objects.select_related("user", "group_scope"), pk=pk)
    visible = selectors.assignments_visible_to(user=request.user).filter(status=Assignment.Status.LIVE)
    holds = list(visible.filter(principal=principal).order_by("role__name", "scope__path")[:200])
    context = {"p": principal, "holds": holds}
    if principal.is_group:
        group_scope = principal.group_scope
        member_role = RoleDefinition.objects.get(slug=RoleDefinition.GROUP_MEMBER)
        context["can_view_members"] = selectors.user_can_view(user=request.user, role=member_role, scope=group_scope)
        context["can_manage_members"] = selectors.user_can_manage(user=request.user, role=member_role,
                                                                  scope=group_scope)
        members = list(visible.filter(scope=group_scope, role__slug__in=GROUP_ROLE_SLUGS)
                       .order_by("principal__display_name", "kind")[:500])
        context["owners"] = [a for a in members if a.role.slug == RoleDefinition.GROUP_OWNER]
        context["members"] = [a for a in members if a.role.slug == RoleDefinition.GROUP_MEMBER]
        context["group_scope"] = group_scope
        roles = {r.slug: r for r in RoleDefinition.objects.filter(slug__in=GROUP_ROLE_SLUGS)}
        context["add_member_url"] = _assign_url(role=roles.get(RoleDefinition.GROUP_MEMBER), scope=group_scope)
        context["add_owner_url"] = _assign_url(role=roles.get(RoleDefinition.GROUP_OWNER), scope=group_scope)
        query = urlencode({"scope": group_scope.path})
        context["policy_urls"] = [
            (f"{role.name} policy", f"{reverse('assignments:role_setting', args=[role.pk])}?{query}")
            for _slug, role in sorted(roles.items())
        ]
    context["assign_url"] = f"{reverse('assignments:assign')}?{urlencode({'principal': principal.pk})}"
    return render(request, "assignments/principal_detail.html", context)


def _assign_url(*, role: RoleDefinition | None, scope: Scope) -> str:
    params = {"scope": scope.path}
    if role is not None:
        params["role"] = role.pk
    return f"{reverse('assignments:assign')}?{urlencode(params)}"


def _create_page(request, *, form_class, template: str, create, done: str):
    _require_directory_admin(request)
    status = 200
    form = form_class(request.POST if request.method == "POST" else step_up_restored(request))
    if request.method == "POST":
        if form.is_valid():
            try:
                created = create(form.cleaned_data)
            except DomainError as error:
                if rules.asks_for_step_up(error):
                    return step_up_redirect(request)
                _form_error(form, error)
                status = error.status
            else:
                messages.success(request, done.format(p=created))
                return redirect("assignments:principal", pk=created.pk)
        else:
            status = 400
    return render(request, template, {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def group_create(request):
    return _create_page(
        request, form_class=GroupCreateForm, template="assignments/group_create.html",
        create=lambda d: services.group_create(actor=request.user, mfa_verified_at=mfa_verified_at(request), **d),
        done="Group {p} created.")


@login_required
@require_http_methods(["GET", "POST"])
def service_principal_create(request):
    return _create_page(
        request, form_class=ServicePrincipalCreateForm, template="assignments/service_principal_create.html",
        create=lambda d: services.service_principal_create(actor=request.user, mfa_verified_at=mfa_verified_at(request),
                                                           **d),
        done="Service principal {p} created (application id {p.app_id}).")


# --- Elevate access -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def elevate(request):
    is_global_admin = selectors.user_holds_any(user=request.user, role_slugs=[RoleDefinition.GLOBAL_ADMINISTRATOR])
    elevation = (ElevatedAccess.objects.select_related("assignment")
                 .filter(user=request.user, assignment__status=Assignment.Status.LIVE).first())
    if not is_global_admin and elevation is None:
        raise PermissionDenied("Only an active Global Administrator can elevate access.")
    status = 200
    form = ElevateForm(request.POST if request.method == "POST" else step_up_restored(request))
    if request.method == "POST":
        if request.POST.get("action") == "end":
            ended = services.access_elevate_end(actor=request.user)
            if ended:
                messages.success(request, "Elevated access removed: you no longer hold User Access Administrator "
                                          "at /.")
            else:
                messages.info(request, "You had no elevated access to remove.")
            return redirect("assignments:elevate")
        if form.is_valid():
            try:
                services.access_elevate(actor=request.user, justification=form.cleaned_data["justification"],
                                        mfa_verified_at=mfa_verified_at(request))
            except DomainError as error:
                if rules.asks_for_step_up(error):
                    return step_up_redirect(request)
                _form_error(form, error)
                status = error.status
            else:
                messages.success(request, "Access elevated: you hold User Access Administrator at / (every "
                                          "subscription) until you remove it.")
                return redirect("assignments:elevate")
        else:
            status = 400
    return render(request, "assignments/elevate.html", {
        "form": form, "elevation": elevation, "is_global_admin": is_global_admin,
    }, status=status)
