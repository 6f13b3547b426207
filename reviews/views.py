"""Access review pages: definitions and instances for administrators, "My reviews" for reviewers.

Each view: gate (403 with a reason), parse with a form, call one service or selector, turn a
`DomainError` into a form error with its status (400 / 403 / 409), say what happened.
"""

import csv
from collections.abc import Iterator

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from assignments.capabilities import user_capabilities
from assignments.rules import asks_for_step_up
from audit.services import audit_event_record
from core.errors import DomainError
from core.forms import form_add_domain_error
from core.mfa import mfa_verified_at
from core.stepup import step_up_redirect, step_up_restored

from . import selectors, services
from .filters import ReviewItemFilterSet
from .forms import DecisionForm, ReviewForm
from .models import AccessReview, AccessReviewInstance, AccessReviewItem

PAGE_SIZE = 50
APPLY_BATCH = 200  # removals per click; the beat's apply job continues an instance left "applying"
CSV_INJECTION_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _require_admin_or_viewer(request) -> None:
    caps = user_capabilities(request)
    if not (caps.get("any_admin") or caps.get("directory_viewer")):
        raise PermissionDenied("Access reviews are run by administrators: you need an active administering role "
                               "(Global Administrator, Privileged Role Administrator, Owner or User Access "
                               "Administrator of a scope, or Owner of a group). Reviewers use \"My reviews\".")


def _instance_for_viewer(request, pk: int) -> AccessReviewInstance:
    instance = get_object_or_404(AccessReviewInstance.objects.select_related("review", "review__role",
                                                                             "review__scope"), pk=pk)
    if not selectors.user_can_view_review(user=request.user, review=instance.review):
        raise PermissionDenied(f"You cannot see the results of this review: it needs an administering role for "
                               f"{instance.review.role.name} at {instance.review.scope.path} or above.")
    return instance


# --- Administrators ----------------------------------------------------------------------------------


@login_required
@require_GET
def review_list(request):
    _require_admin_or_viewer(request)
    reviews = selectors.reviews_visible_to(user=request.user).order_by("-created_at", "-pk")
    page = Paginator(reviews, PAGE_SIZE).get_page(request.GET.get("page"))
    instances = selectors.instances_with_progress(
        AccessReviewInstance.objects.filter(review__in=[r.pk for r in page.object_list]).order_by("-sequence"))
    latest: dict[int, AccessReviewInstance] = {}
    for inst in instances:
        if inst.review_id not in latest or inst.status != AccessReviewInstance.Status.NOT_STARTED and \
                latest[inst.review_id].status == AccessReviewInstance.Status.NOT_STARTED:
            latest[inst.review_id] = inst
    rows = [{"review": r, "instance": latest.get(r.pk)} for r in page.object_list]
    return render(request, "reviews/list.html", {"page": page, "rows": rows,
                                                 "can_create": user_capabilities(request).get("any_admin")})


@login_required
@require_http_methods(["GET", "POST"])
def review_create(request):
    caps = user_capabilities(request)
    if not caps.get("any_admin"):
        raise PermissionDenied("Creating an access review needs an administering role for the roles reviewed.")
    form = ReviewForm(request.POST or step_up_restored(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        spec = services.ReviewSettings(
            name=data["name"], description=data["description"], scope=data["scope"],
            start_date=data["start_date"], duration_days=data["duration_days"],
            time_zone=timezone.get_current_timezone_name(),
            assignment_kinds=data["assignment_kinds"], include_users=data["include_users"],
            include_groups=data["include_groups"], include_service_principals=data["include_service_principals"],
            inactive_days=data["inactive_days"], reviewer_type=data["reviewer_type"],
            reviewer_ids=[p.pk for p in data["reviewers"]],
            fallback_reviewer_ids=[p.pk for p in data["fallback_reviewers"]],
            recurrence=data["recurrence"], end_type=data["end_type"], end_date=data["end_date"],
            occurrences=data["occurrences"], show_recommendations=data["show_recommendations"],
            require_reason_on_approve=data["require_reason_on_approve"], auto_apply=data["auto_apply"],
            default_decision=data["default_decision"], send_reminders=data["send_reminders"],
            notify_ids=[p.pk for p in data["notify"]])
        try:
            created = services.review_create(actor=request.user, roles=list(data["roles"]), spec=spec,
                                             mfa_verified_at=mfa_verified_at(request))
        except DomainError as error:
            if asks_for_step_up(error):
                return step_up_redirect(request)
            form_add_domain_error(form, error)
            return render(request, "reviews/create.html", {"form": form}, status=error.status)
        messages.success(request, f"{len(created)} review{'s' if len(created) > 1 else ''} created.")
        return redirect("reviews:detail", pk=created[0].pk) if len(created) == 1 else redirect("reviews:list")
    return render(request, "reviews/create.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_GET
def review_detail(request, pk: int):
    review = get_object_or_404(
        AccessReview.objects.select_related("role", "scope", "created_by").prefetch_related(
            "reviewers", "fallback_reviewers", "notify_on_completion"), pk=pk)
    if not selectors.user_can_view_review(user=request.user, review=review):
        raise PermissionDenied(f"You cannot see this review: it needs an administering role for {review.role.name} "
                               f"at {review.scope.path} or above.")
    instances = selectors.instances_with_progress(review.instances.order_by("-sequence"))
    return render(request, "reviews/detail.html", {"review": review, "instances": instances})


@login_required
@require_GET
def instance_detail(request, pk: int):
    instance = _instance_for_viewer(request, pk)
    review = instance.review
    now = timezone.now()
    items = selectors.with_live_recommendations(selectors.instance_items(instance=instance), at=now)
    filterset = ReviewItemFilterSet(request.GET or None, queryset=items)
    refused = filterset.is_bound and not filterset.is_valid()
    page = Paginator(items.none() if refused else filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = selectors.attach_recommendations(page.object_list, at=now)
    progress = selectors.instances_with_progress(AccessReviewInstance.objects.filter(pk=instance.pk)).get()
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "reviews/instance.html", {
        "instance": instance, "review": review, "page": page, "rows": rows, "filter": filterset,
        "progress": progress, "can_manage": selectors.user_can_manage_review(user=request.user, review=review),
        "query": query.urlencode(), "now": now}, status=400 if refused else 200)


@login_required
@require_POST
def instance_complete(request, pk: int):
    instance = _instance_for_viewer(request, pk)
    try:
        if services.review_instance_complete(instance=instance, actor=request.user):
            messages.success(request, "The review was stopped: decisions are final.")
        else:
            messages.info(request, "The review had already completed.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("reviews:instance", pk=instance.pk)


@login_required
@require_POST
def instance_apply(request, pk: int):
    instance = _instance_for_viewer(request, pk)
    try:
        outcome = services.review_instance_apply(instance=instance, actor=request.user, limit=APPLY_BATCH)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        text = f"{outcome.removed} assignment{'s' if outcome.removed != 1 else ''} removed."
        if outcome.refused:
            text += f" {outcome.refused} removal{'s' if outcome.refused != 1 else ''} refused: see the items."
        if not outcome.finished:
            text += " The rest is applied in the background."
        messages.success(request, text)
    return redirect("reviews:instance", pk=instance.pk)


def csv_safe(value) -> str:
    """Neutralise spreadsheet formulas: a cell starting with = + - @ tab or CR gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(CSV_INJECTION_PREFIXES) else text


class _Echo:
    def write(self, value):
        return value


CSV_HEADER = ["item", "principal", "principal_kind", "email", "role", "scope", "assignment_kind",
              "assignment_start", "assignment_end", "decision", "decided_by_default", "reason", "reviewer",
              "decided_at", "recommendation", "last_activation", "apply_state", "apply_message"]


def _csv_rows(queryset) -> Iterator[list]:
    yield CSV_HEADER
    fields = ("pk", "principal__display_name", "principal__kind", "principal__email", "role__name", "scope__path",
              "kind", "assignment_start_at", "assignment_end_at", "decision", "decision_source", "reason",
              "decided_by__username", "decided_at", "recommendation", "last_activation_at", "apply_state",
              "apply_message")
    for row in queryset.order_by("pk").values_list(*fields).iterator(chunk_size=2000):
        values = list(row)
        values[10] = "yes" if values[10] == AccessReviewItem.Source.DEFAULT else ""
        for index in (7, 8, 13, 15):
            values[index] = values[index].isoformat() if values[index] else ""
        yield values


@login_required
@require_GET
def instance_results_csv(request, pk: int):
    """The results, streamed in bounded memory, with the same filters as the page."""
    instance = _instance_for_viewer(request, pk)
    filterset = ReviewItemFilterSet(request.GET or None, queryset=AccessReviewItem.objects.filter(instance=instance))
    audit_event_record(action="review.export", actor=request.user, target=instance, role=instance.review.role,
                       scope=instance.review.scope, after={"filters": {k: v for k, v in request.GET.items()}})
    writer = csv.writer(_Echo())
    stream = (writer.writerow([csv_safe(v) for v in row]) for row in _csv_rows(filterset.qs))
    response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="access-review-{instance.pk}-results.csv"'
    return response


# --- Reviewers ---------------------------------------------------------------------------------------


@login_required
@require_GET
def my_reviews(request):
    summaries = selectors.my_review_summaries(user=request.user)
    open_ = [s for s in summaries if s["instance"].status == AccessReviewInstance.Status.IN_PROGRESS]
    closed = [s for s in summaries if s["instance"].status != AccessReviewInstance.Status.IN_PROGRESS][:20]
    return render(request, "reviews/mine.html", {"open": open_, "closed": closed})


@login_required
@require_http_methods(["GET", "POST"])
def my_review(request, pk: int):
    instance = get_object_or_404(AccessReviewInstance.objects.select_related("review", "review__role",
                                                                             "review__scope"), pk=pk)
    status = 200
    form = DecisionForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                count = services.review_item_decide(actor=request.user, instance=instance, item_ids=data["items"],
                                                    decision=data["decision"], reason=data["reason"])
            except DomainError as error:
                form_add_domain_error(form, error)
                status = error.status
            else:
                label = AccessReviewItem.Decision(data["decision"]).label.lower()
                messages.success(request, f"Decision saved for {count} item{'s' if count != 1 else ''}: {label}.")
                return redirect(request.get_full_path())
        else:
            status = 400
    now = timezone.now()
    items = selectors.reviewer_items(user=request.user, instance=instance, at=now)
    filterset = ReviewItemFilterSet(request.GET or None, queryset=items)
    filters_refused = filterset.is_bound and not filterset.is_valid()
    if filters_refused:
        status = 400
    page = Paginator(items.none() if filters_refused else filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    if not page.paginator.count and not request.GET and status == 200:
        raise PermissionDenied("You have no items to review in this access review.")
    rows = selectors.attach_recommendations(page.object_list, at=now)
    query = request.GET.copy()
    query.pop("page", None)
    open_ = instance.status == AccessReviewInstance.Status.IN_PROGRESS and now < instance.end_at
    return render(request, "reviews/mine_instance.html", {
        "instance": instance, "review": instance.review, "page": page, "rows": rows, "filter": filterset,
        "form": form, "open": open_, "query": query.urlencode()}, status=status)

