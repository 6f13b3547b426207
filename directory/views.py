"""Pages for what administrators manage by hand: users, scopes, custom roles, bulk import and export.

Each view: gate with the selectors the services use (403 with a reason), parse with a form, call one
service, turn a `DomainError` into a form error (or the MFA step-up), say what happened.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from assignments import rules, selectors, services
from assignments.capabilities import user_capabilities
from assignments.models import Assignment, RoleDefinition, Scope, ScopeClosure, User
from core.errors import DomainError
from core.forms import form_add_domain_error
from core.mfa import mfa_is_fresh, mfa_verified_at
from core.stepup import step_up_redirect, step_up_restored

from . import bulk_import
from .forms import (
    ImportForm,
    JustificationForm,
    RoleForm,
    ScopeCreateForm,
    ScopeMoveForm,
    ScopeRenameForm,
    UserCreateForm,
    UserEditForm,
)
from .models import ImportUpload

PAGE_SIZE = 100
LISTED_SCOPE_KINDS = [k for k in Scope.Kind.values if k != Scope.Kind.GROUP]


# --- Gates -----------------------------------------------------------------------------------------


def _require_user_writer(request) -> None:
    if not selectors.user_holds_any(user=request.user, role_slugs=services.DIRECTORY_WRITERS):
        raise PermissionDenied("Managing users needs an active Global Administrator, Privileged Role Administrator "
                               "or User Administrator role.")


def _scope_writer(request, scope: Scope | str = "/") -> bool:
    return selectors.user_holds_any(user=request.user, role_slugs=services.SCOPE_WRITER_ROLES, scope=scope)


def _require_scope_reader(request) -> dict:
    caps = user_capabilities(request)
    if not (caps.get("any_admin") or caps.get("directory_viewer")):
        raise PermissionDenied("The resource hierarchy is for administrators and directory readers.")
    return caps


def _require_scope_writer(request, scope: Scope) -> None:
    if not _scope_writer(request, scope):
        raise PermissionDenied(f"Changing {scope.path} needs an active Global Administrator, or Owner at this scope "
                               f"or above.")


def _role_writer(request) -> bool:
    return selectors.user_holds_any(user=request.user, role_slugs=selectors.DIRECTORY_ADMIN_ROLES)


def _require_role_writer(request) -> None:
    if not _role_writer(request):
        raise PermissionDenied("Custom roles are managed by active Global Administrators and Privileged Role "
                               "Administrators.")


def _require_directory_viewer(request) -> None:
    if not user_capabilities(request).get("directory_viewer"):
        raise PermissionDenied("The directory export is for directory readers: Global Reader, Security Reader, "
                               "Security Administrator, Privileged Role Administrator or Global Administrator.")


def _form_page(request, *, form, call, template: str, context: dict, done, step_up_to: str | None = None):
    """POST: validate, call the service, redirect to `done(result)`; a refusal shows on the form (or sends
    the person through the MFA step-up and back, their input kept)."""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                result = call(form.cleaned_data)
            except DomainError as error:
                if rules.asks_for_step_up(error):
                    return step_up_redirect(request, step_up_to or request.path)
                form_add_domain_error(form, error)
                status = error.status
            else:
                return done(result)
        else:
            status = 400
    return render(request, template, {**context, "form": form}, status=status)


def _bound(form_class, request, **kwargs):
    return form_class(request.POST if request.method == "POST" else step_up_restored(request), **kwargs)


# --- Users -----------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def user_create(request):
    _require_user_writer(request)
    form = _bound(UserCreateForm, request)

    def call(data):
        return services.user_create(username=data["username"], email=data["email"],
                                    display_name=data["display_name"], password=data["password"] or None,
                                    time_zone=data["time_zone"], actor=request.user,
                                    mfa_verified_at=mfa_verified_at(request))

    def done(user):
        how = "with a password" if user.has_usable_password() else "for single sign-on only (no password)"
        messages.success(request, f"User {user} created {how}.")
        return redirect("assignments:principal", pk=user.principal.pk)

    return _form_page(request, form=form, call=call, template="directory/user_form.html",
                      context={"title": "New user", "creating": True}, done=done)


@login_required
@require_http_methods(["GET", "POST"])
def user_edit(request, pk: int):
    _require_user_writer(request)
    user = get_object_or_404(User.objects.select_related("principal"), pk=pk)
    restored = step_up_restored(request)
    form = UserEditForm(request.POST if request.method == "POST" else restored or None,
                        initial={"display_name": user.display_name, "email": user.email, "time_zone": user.time_zone})

    def call(data):
        return services.user_update(user=user, actor=request.user, mfa_verified_at=mfa_verified_at(request),
                                    display_name=data["display_name"], email=data["email"],
                                    time_zone=data["time_zone"])

    def done(result):
        edited, changed = result
        messages.success(request, f"{edited} saved." if changed else "Nothing changed.")
        return redirect("assignments:principal", pk=edited.principal.pk)

    return _form_page(request, form=form, call=call, template="directory/user_form.html",
                      context={"title": f"Edit {user}", "subject": user}, done=done)


def _enable_page(request, pk: int, *, enabled: bool):
    _require_user_writer(request)
    user = get_object_or_404(User.objects.select_related("principal"), pk=pk)
    form = _bound(JustificationForm, request)
    ending = [] if enabled else services.user_offboarding_preview(user=user)

    def call(data):
        return services.user_set_enabled(user=user, enabled=enabled, actor=request.user,
                                         mfa_verified_at=mfa_verified_at(request),
                                         justification=data["justification"])

    def done(result):
        if enabled:
            messages.success(request, f"{result} is enabled again. They hold nothing until assigned again.")
        else:
            messages.success(request, f"{result} is disabled and offboarded: {len(ending)} assignment"
                                      f"{'s' if len(ending) != 1 else ''} ended.")
        return redirect("assignments:principal", pk=result.principal.pk)

    return _form_page(request, form=form, call=call, template="directory/user_enable.html",
                      context={"subject": user, "enabling": enabled, "ending": ending}, done=done)


@login_required
@require_http_methods(["GET", "POST"])
def user_offboard(request, pk: int):
    return _enable_page(request, pk, enabled=False)


@login_required
@require_http_methods(["GET", "POST"])
def user_enable(request, pk: int):
    return _enable_page(request, pk, enabled=True)


# --- Scopes ----------------------------------------------------------------------------------------


@login_required
@require_GET
def scope_list(request):
    _require_scope_reader(request)
    query = (request.GET.get("q") or "").replace("\x00", "").strip()[:200]
    rows = (Scope.objects.filter(kind__in=LISTED_SCOPE_KINDS)
            .annotate(children_count=Count("children", distinct=True))
            .select_related("parent").order_by("path"))
    if query:
        rows = rows.filter(Q(path__icontains=query) | Q(display_name__icontains=query))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "directory/scopes.html", {
        "page": page, "q": query, "query": urlencode({"q": query}) if query else "",
        "can_create": _scope_writer(request) or _owns_somewhere(request),
    })


def _owns_somewhere(request) -> bool:
    return selectors.user_held_scope_ids(user=request.user, role_slugs=[RoleDefinition.OWNER]).exists()


def _scope_or_404(pk: int) -> Scope:
    return get_object_or_404(Scope.objects.select_related("parent").exclude(kind=Scope.Kind.GROUP), pk=pk)


@login_required
@require_GET
def scope_detail(request, pk: int):
    _require_scope_reader(request)
    scope = _scope_or_404(pk)
    ancestors = list(Scope.objects.filter(descendant_links__descendant=scope).exclude(pk=scope.pk)
                     .order_by("-descendant_links__depth"))
    children = list(Scope.objects.filter(parent=scope).exclude(kind=Scope.Kind.GROUP).order_by("path")[:200])
    counts = {
        "live": Assignment.objects.filter(scope=scope, status=Assignment.Status.LIVE).count(),
        "ended": Assignment.objects.filter(scope=scope).exclude(status=Assignment.Status.LIVE).count(),
        "settings": scope.role_settings.count(),
        "descendants": ScopeClosure.objects.filter(ancestor=scope, depth__gt=0).count(),
    }
    can_write = not scope.is_root and _scope_writer(request, scope)
    return render(request, "directory/scope_detail.html", {
        "scope": scope, "ancestors": ancestors, "children": children, "counts": counts, "can_write": can_write,
        "can_add": _scope_writer(request, scope) and scope.kind != Scope.Kind.RESOURCE,
        "movable": scope.kind in services.SCOPE_MOVABLE_KINDS,
        "rename_form": ScopeRenameForm(initial={"display_name": scope.display_name}),
    })


@login_required
@require_http_methods(["GET", "POST"])
def scope_create(request):
    _require_scope_reader(request)
    if not (_scope_writer(request) or _owns_somewhere(request)):
        raise PermissionDenied("Adding scopes needs an active Global Administrator, or Owner of the parent scope.")
    form = ScopeCreateForm(request.POST if request.method == "POST" else step_up_restored(request) or None,
                           initial={"parent": request.GET.get("parent", "/")[:512],
                                    "kind": request.GET.get("kind", "")[:20]})

    def call(data):
        parent = selectors.scope_get(path=data["parent"])
        if parent is None or parent.kind == Scope.Kind.GROUP:
            raise DomainError(f"No scope {data['parent']}.", field="parent")
        return services.scope_add(kind=data["kind"], name=data["name"], display_name=data["display_name"],
                                  parent=parent, actor=request.user, mfa_verified_at=mfa_verified_at(request))

    def done(scope):
        messages.success(request, f"{scope.get_kind_display()} {scope.path} created.")
        return redirect("directory:scope", pk=scope.pk)

    return _form_page(request, form=form, call=call, template="directory/scope_form.html",
                      context={"title": "New scope"}, done=done)


@login_required
@require_POST
def scope_rename(request, pk: int):
    _require_scope_reader(request)
    scope = _scope_or_404(pk)
    _require_scope_writer(request, scope)
    form = ScopeRenameForm(request.POST)

    def call(data):
        return services.scope_rename(scope=scope, display_name=data["display_name"], actor=request.user,
                                     mfa_verified_at=mfa_verified_at(request))

    def done(result):
        messages.success(request, "Renamed." if result[1] else "Nothing changed.")
        return redirect("directory:scope", pk=scope.pk)

    return _form_page(request, form=form, call=call, template="directory/scope_form.html",
                      context={"title": f"Rename {scope.path}", "scope": scope}, done=done,
                      step_up_to=reverse("directory:scope", args=[scope.pk]))


@login_required
@require_http_methods(["GET", "POST"])
def scope_move(request, pk: int):
    _require_scope_reader(request)
    scope = _scope_or_404(pk)
    _require_scope_writer(request, scope)
    form = _bound(ScopeMoveForm, request)

    def call(data):
        new_parent = selectors.scope_get(path=data["new_parent"])
        if new_parent is None:
            raise DomainError(f"No scope {data['new_parent']}.", field="new_parent")
        try:
            return services.scope_relocate(scope=scope, new_parent=new_parent, actor=request.user,
                                           mfa_verified_at=mfa_verified_at(request))
        except DomainError as error:
            if error.field == "parent":
                error.errors = {"new_parent": [error.message]}
            raise

    def done(result):
        moved, changed = result
        messages.success(request, f"{moved.path} now sits under {moved.parent.path}." if changed
                         else "It is already there: nothing changed.")
        return redirect("directory:scope", pk=moved.pk)

    return _form_page(request, form=form, call=call, template="directory/scope_move.html",
                      context={"scope": scope, "descendants": ScopeClosure.objects.filter(
                          ancestor=scope, depth__gt=0).count()}, done=done)


@login_required
@require_http_methods(["GET", "POST"])
def scope_delete(request, pk: int):
    _require_scope_reader(request)
    scope = _scope_or_404(pk)
    _require_scope_writer(request, scope)
    form = _bound(JustificationForm, request)
    parent_pk = scope.parent_id

    def call(data):
        services.scope_delete(scope=scope, actor=request.user, mfa_verified_at=mfa_verified_at(request))
        return scope.path

    def done(path):
        messages.success(request, f"{path} deleted.")
        return redirect("directory:scope", pk=parent_pk) if parent_pk else redirect("directory:scopes")

    return _form_page(request, form=form, call=call, template="directory/scope_delete.html",
                      context={"scope": scope}, done=done)


# --- Roles -----------------------------------------------------------------------------------------


@login_required
@require_GET
def role_list(request):
    _require_scope_reader(request)
    roles = RoleDefinition.objects.annotate(
        holders=Count("assignments", filter=Q(assignments__status=Assignment.Status.LIVE)),
        patterns=Count("permissions", distinct=True)).order_by("is_builtin", "kind", "name")
    return render(request, "directory/roles.html", {"roles": roles, "can_create": _role_writer(request)})


def _role_initial(role: RoleDefinition) -> dict:
    permissions = list(role.permissions.order_by("pk"))
    return {"name": role.name, "slug": role.slug, "kind": role.kind, "description": role.description,
            "is_privileged": role.is_privileged,
            "actions": "\n".join(p.pattern for p in permissions if not p.is_not_action),
            "not_actions": "\n".join(p.pattern for p in permissions if p.is_not_action)}


@login_required
@require_http_methods(["GET", "POST"])
def role_create(request):
    _require_role_writer(request)
    form = _bound(RoleForm, request)

    def call(data):
        return services.role_definition_add(slug=data["slug"], name=data["name"], kind=data["kind"],
                                            description=data["description"], actions=data["actions"],
                                            not_actions=data["not_actions"], is_privileged=data["is_privileged"],
                                            actor=request.user, mfa_verified_at=mfa_verified_at(request))

    def done(role):
        messages.success(request, f"Role {role.name} created.")
        return redirect("directory:role", pk=role.pk)

    return _form_page(request, form=form, call=call, template="directory/role_form.html",
                      context={"title": "New custom role"}, done=done)


@login_required
@require_http_methods(["GET", "POST"])
def role_detail(request, pk: int):
    """A built-in role reads; a custom one is edited here by role writers."""
    _require_scope_reader(request)
    role = get_object_or_404(RoleDefinition, pk=pk)
    editable = not role.is_builtin and _role_writer(request)
    if request.method == "POST" and not editable:
        raise PermissionDenied("Built-in roles are read-only." if role.is_builtin else
                               "Custom roles are managed by Global Administrators and Privileged Role Administrators.")
    restored = step_up_restored(request)
    form = RoleForm(request.POST if request.method == "POST" else restored or None, initial=_role_initial(role),
                    editing=True)
    context = {"role": role, "editable": editable, "title": role.name,
               "permissions": list(role.permissions.order_by("is_not_action", "pk")),
               "in_use": Assignment.objects.filter(role=role).exists()}

    def call(data):
        return services.role_definition_update(role=role, actor=request.user, mfa_verified_at=mfa_verified_at(request),
                                               name=data["name"], description=data["description"],
                                               is_privileged=data["is_privileged"], actions=data["actions"],
                                               not_actions=data["not_actions"])

    def done(result):
        updated, changed = result
        messages.success(request, f"{updated.name} saved." if changed else "Nothing changed.")
        return redirect("directory:role", pk=updated.pk)

    return _form_page(request, form=form, call=call, template="directory/role_detail.html", context=context,
                      done=done)


@login_required
@require_http_methods(["GET", "POST"])
def role_delete(request, pk: int):
    _require_role_writer(request)
    role = get_object_or_404(RoleDefinition, pk=pk, is_builtin=False)
    form = _bound(JustificationForm, request)

    def call(data):
        services.role_definition_delete(role=role, actor=request.user, mfa_verified_at=mfa_verified_at(request))
        return role.name

    def done(name):
        messages.success(request, f"Role {name} deleted.")
        return redirect("directory:roles")

    return _form_page(request, form=form, call=call, template="directory/role_delete.html",
                      context={"role": role}, done=done)


# --- Bulk import and export ------------------------------------------------------------------------


def _require_importer(request) -> None:
    if not user_capabilities(request).get("directory_admin"):
        raise PermissionDenied("The bulk import is for active Global Administrators and Privileged Role "
                               "Administrators (each row still needs the role its change needs).")


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request):
    """Upload → dry run. The file is kept (for the apply, by its uploader, within the hour); the page
    shows what each row would do and each refused row's line, column and message."""
    _require_importer(request)
    status = 200
    fresh = mfa_is_fresh(request) or request.user.is_emergency_access
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not fresh:
            # Checked before reading the file: a step-up cannot carry an upload across.
            return step_up_redirect(request, keep_form=False,
                                    message="A bulk import makes privileged administrative changes.")
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                staged, _report = bulk_import.upload_stage(actor=request.user, data=upload.read(),
                                                           filename=upload.name, fmt=form.cleaned_data["format"],
                                                           mfa_verified_at=mfa_verified_at(request))
            except DomainError as error:
                form_add_domain_error(form, error)
                status = error.status
            else:
                return redirect("directory:import_preview", pk=staged.pk)
        else:
            status = 400
    recent = ImportUpload.objects.filter(uploaded_by=request.user).order_by("-created_at")[:10]
    return render(request, "directory/import.html", {"form": form, "fresh": fresh, "recent": recent},
                  status=status)


@login_required
@require_http_methods(["GET", "POST"])
def import_preview(request, pk):
    _require_importer(request)
    upload = get_object_or_404(ImportUpload.objects.defer("data"), pk=pk, uploaded_by=request.user)
    status = 200
    if request.method == "POST" and not (mfa_is_fresh(request) or request.user.is_emergency_access):
        # Before running the rows: a stale verification would refuse each of them.
        return step_up_redirect(request, keep_form=False, message="Applying an import makes privileged "
                                                                  "administrative changes.")
    if request.method == "POST":
        try:
            upload, report = bulk_import.upload_apply(upload_id=upload.pk, actor=request.user,
                                                      mfa_verified_at=mfa_verified_at(request))
        except DomainError as error:
            if rules.asks_for_step_up(error):
                return step_up_redirect(request, keep_form=False)
            messages.error(request, error.message)
            status = error.status
        else:
            (messages.success if report.applied else messages.error)(request, report.summary)
            return redirect("directory:import_preview", pk=upload.pk)
        upload.refresh_from_db()
    report = upload.report or {}
    age = (timezone.now() - upload.created_at).total_seconds()
    return render(request, "directory/import_preview.html", {
        "upload": upload, "report": report, "rows": (report.get("rows") or [])[:1000],
        "errors": report.get("errors") or [],
        "can_apply": upload.applied_at is None and not report.get("errors")
        and age <= bulk_import.IMPORT_UPLOAD_TTL_SECONDS,
    }, status=status)


@login_required
@require_GET
def export(request):
    _require_directory_viewer(request)
    fmt = request.GET.get("format", "")
    if fmt not in ("csv", "json"):
        return render(request, "directory/export.html", {})
    data = bulk_import.export_bytes(actor=request.user, fmt=fmt)
    response = HttpResponse(data, content_type="text/csv; charset=utf-8" if fmt == "csv" else "application/json")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="pim-directory-{stamp}.{fmt}"'
    return response
