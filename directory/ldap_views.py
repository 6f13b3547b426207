"""Directory source pages (Global and Privileged Role Administrators): configure an LDAP / Active
Directory source, test its connection, run it, import an LDIF file, read its runs. Each view: the
permission gate, parse, one service or selector, respond."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from assignments.rules import asks_for_step_up
from core.errors import DomainError, invalid, raise_page_refusal
from core.forms import form_add_domain_error
from core.mfa import mfa_verified_at
from core.stepup import step_up_redirect, step_up_restored

from . import ldap_selectors as selectors
from . import ldap_sync as services
from .ldap_client import MAX_LDIF_BYTES
from .ldap_forms import DirectorySourceForm, LdifImportForm
from .models import DirectorySource, DirectorySyncRun

RUNS_PAGE = 25


def _require_admin(user) -> None:
    if not selectors.user_manages_directory_sources(user=user):
        raise PermissionDenied("Only Global Administrators and Privileged Role Administrators manage directory "
                               "sources.")


def _refused(error: DomainError) -> None:
    if not asks_for_step_up(error):  # a step-up refusal is shown on the form, with the step-up link
        raise_page_refusal(error)


@login_required
def source_list(request):
    _require_admin(request.user)
    return render(request, "directory/ldap/list.html", {"sources": selectors.directory_source_list()})


@login_required
@require_http_methods(["GET", "POST"])
def source_create(request):
    _require_admin(request.user)
    preset = request.GET.get("preset", DirectorySource.Preset.ACTIVE_DIRECTORY)
    if preset not in DirectorySource.Preset.values:
        preset = DirectorySource.Preset.ACTIVE_DIRECTORY
    initial = {**services.directory_source_defaults(preset), "preset": preset}
    form = DirectorySourceForm(request.POST or step_up_restored(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            source = services.directory_source_create(actor=request.user, values=form.values,
                                                      password=form.cleaned_data.get("password") or "",
                                                      mfa_verified_at=mfa_verified_at(request))
        except DomainError as error:
            if asks_for_step_up(error):
                return step_up_redirect(request)
            _refused(error)
            form_add_domain_error(form, error)
        else:
            messages.success(request, f"Directory source {source} added. Test the connection, then run it.")
            return redirect("ldap_sources:detail", pk=source.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "directory/ldap/form.html", {"form": form, "preset": preset,
                                                        "presets": DirectorySource.Preset.choices}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def source_detail(request, pk: int):
    _require_admin(request.user)
    source = get_object_or_404(DirectorySource, pk=pk)
    form = DirectorySourceForm(request.POST or step_up_restored(request),
                               instance=DirectorySource.objects.get(pk=pk), editing=True)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.directory_source_update(actor=request.user, source=source, values=form.values,
                                                 password=form.password_change,
                                                 mfa_verified_at=mfa_verified_at(request))
            except DomainError as error:
                if asks_for_step_up(error):
                    return step_up_redirect(request)
                _refused(error)
                form_add_domain_error(form, error)
            else:
                messages.success(request, "Directory source saved.")
                return redirect("ldap_sources:detail", pk=source.pk)
        status = 400
    return render(request, "directory/ldap/detail.html", {
        "source": source, "form": form, "runs": selectors.directory_runs(source=source)[:selectors.RECENT_RUNS],
        "test_result": request.session.pop(f"ldap_sources.test.{source.pk}", None),
    }, status=status)


@login_required
@require_POST
def source_test(request, pk: int):
    """*Test connection*: bind and look for a user and a group; the answer shows on the source's page."""
    _require_admin(request.user)
    source = get_object_or_404(DirectorySource, pk=pk)
    worked, lines = services.directory_source_test(actor=request.user, source=source)
    request.session[f"ldap_sources.test.{source.pk}"] = {"worked": worked, "lines": lines}
    return redirect(reverse("ldap_sources:detail", args=[source.pk]) + "#test-result")


@login_required
@require_POST
def source_run(request, pk: int):
    _require_admin(request.user)
    source = get_object_or_404(DirectorySource, pk=pk)
    kind = request.POST.get("kind", "")
    try:
        services.directory_sync_request(actor=request.user, source=source, kind=kind,
                                        mfa_verified_at=mfa_verified_at(request))
    except DomainError as error:
        if asks_for_step_up(error):
            return step_up_redirect(request, reverse("ldap_sources:detail", args=[source.pk]), keep_form=False)
        _refused(error)
        messages.error(request, error.message)
    else:
        messages.success(request, f"A {kind} run of {source} is queued; it appears below when the worker starts it.")
    return redirect("ldap_sources:detail", pk=source.pk)


@login_required
@require_http_methods(["GET", "POST"])
def source_import(request, pk: int):
    """*Import an LDIF file*: the same mapping and safety rules as a full run, over the file's entries."""
    _require_admin(request.user)
    source = get_object_or_404(DirectorySource, pk=pk)
    form = LdifImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > MAX_LDIF_BYTES:
                raise invalid(f"The file is larger than {MAX_LDIF_BYTES // (1024 * 1024)} MB.", field="file")
            services.directory_ldif_import(actor=request.user, source=source, data=upload.read(),
                                           name=upload.name or "", mfa_verified_at=mfa_verified_at(request))
        except DomainError as error:
            if asks_for_step_up(error):
                return step_up_redirect(request, keep_form=False,
                                        message="Importing users needs a fresh multifactor verification.")
            _refused(error)
            form_add_domain_error(form, error)
        else:
            messages.success(request, f"{upload.name} is queued for import: its run appears under Recent runs "
                                      f"when the worker has read it.")
            return redirect("ldap_sources:detail", pk=source.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "directory/ldap/import.html", {"source": source, "form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def source_delete(request, pk: int):
    """*Delete this source*: a confirmation page saying what stays, then the deletion (refused with the
    reason while a run is in progress)."""
    _require_admin(request.user)
    source = get_object_or_404(DirectorySource, pk=pk)
    error = None
    if request.method == "POST":
        try:
            released = services.directory_source_delete(actor=request.user, source=source,
                                                        mfa_verified_at=mfa_verified_at(request))
        except DomainError as refusal:
            if asks_for_step_up(refusal):
                return step_up_redirect(request, reverse("ldap_sources:delete", args=[source.pk]), keep_form=False)
            _refused(refusal)
            error = refusal.message
        else:
            messages.success(request, f"Directory source {source} deleted. The {released['users']} users and "
                                      f"{released['groups']} groups it imported stay, no longer synced.")
            return redirect("ldap_sources:list")
    return render(request, "directory/ldap/delete.html", {
        "source": source, "imported": selectors.directory_source_imported(source=source), "error": error,
    }, status=409 if error else 200)


@login_required
def source_runs(request, pk: int):
    _require_admin(request.user)
    source = get_object_or_404(DirectorySource, pk=pk)
    page = Paginator(selectors.directory_runs(source=source), RUNS_PAGE).get_page(request.GET.get("page"))
    return render(request, "directory/ldap/runs.html", {"source": source, "page": page, "runs": page.object_list})


@login_required
def run_detail(request, pk: int, run_id: int):
    _require_admin(request.user)
    run = get_object_or_404(DirectorySyncRun.objects.select_related("source", "started_by"), pk=run_id, source_id=pk)
    return render(request, "directory/ldap/run.html", {"source": run.source, "run": run})
