"""Reads of the request rules: the rules and auto-approval rules of a setting, waivers and reviews."""

from django.db.models import QuerySet

from approvals import selectors as approval_selectors
from assignments import selectors as assignment_selectors
from assignments.models import RoleDefinition, RoleSetting, Scope

from .models import AutoApprovalRule, BreakGlassReview, RequestBatch, RequestRules, RequestWaiver


def request_rules_for(*, setting: RoleSetting | None) -> RequestRules | None:
    """The request rules of an (effective) role setting; None for an unsaved default setting or none set."""
    if setting is None or setting.pk is None:
        return None
    return RequestRules.objects.filter(setting_id=setting.pk).first()


def request_rules_effective(*, role: RoleDefinition, scope: Scope) -> tuple[RoleSetting, RequestRules | None]:
    """The effective setting of `role` at `scope` and its request rules, in one query."""
    setting = (RoleSetting.objects.filter(role=role, scope__descendant_links__descendant=scope)
               .order_by("scope__descendant_links__depth").select_related("scope", "role", "request_rules").first())
    if setting is None:
        return RoleSetting(role=role, scope=scope), None
    try:
        return setting, setting.request_rules
    except RequestRules.DoesNotExist:
        return setting, None


def auto_approval_rules_for(*, setting: RoleSetting, enabled_only: bool = False) -> QuerySet[AutoApprovalRule]:
    if setting.pk is None:
        return AutoApprovalRule.objects.none()
    rules = AutoApprovalRule.objects.filter(setting_id=setting.pk).select_related("group")
    return rules.filter(enabled=True) if enabled_only else rules


def waiver_for(*, request) -> RequestWaiver | None:
    return RequestWaiver.objects.filter(request_id=request.pk).first()


def break_glass_reviews_for(*, user) -> QuerySet[BreakGlassReview]:
    """Break-glass reviews of the roles `user` administers (the open ones first), never their own."""
    reviews = (BreakGlassReview.objects.select_related("request", "request__role", "request__scope",
                                                       "request__principal", "completed_by")
               .exclude(request__requested_by=user).order_by("status", "due_at"))
    visible = [review.pk for review in reviews[:500]
               if assignment_selectors.user_can_manage(user=user, role=review.request.role,
                                                       scope=review.request.scope)]
    return reviews.filter(pk__in=visible)


def batch_items_for(*, user, batch: RequestBatch) -> list:
    """The requests of a batch in order, each with `can_decide` for `user` (a constant number of queries)."""
    requests = [item.request for item in batch.items.select_related(
        "request", "request__role", "request__scope", "request__principal", "request__assignment").order_by(
        "position")]
    decidable = approval_selectors.requests_decidable_by(user=user, requests=requests)
    for request in requests:
        request.can_decide = request.pk in decidable
    return requests
