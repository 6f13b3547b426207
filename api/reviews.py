"""Access reviews in the REST API: definitions (list, create, read), instances (read, items, stop early,
apply the results) and the reviewer's side (my reviews, my items, decide). The same services and selectors
as the pages (`reviews.services`, `reviews.selectors`), the same rules and audit events, plus the token's
"api.write". Reviews are run and decided by people: a service principal is refused here, as it has no
review pages."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from assignments import selectors as assignment_selectors
from assignments.capabilities import user_capabilities
from assignments.models import RoleDefinition
from core.errors import forbidden, not_found
from governance.rightsizing import advice_for_assignments
from reviews import selectors, services
from reviews.models import AccessReview, AccessReviewInstance, AccessReviewItem
from reviews.services import MAX_ITEMS_PER_DECISION

from .authentication import is_service_principal_actor
from .serializers import ScopeField
from .views import PimAPIView, PimListView, _int_id, _mfa_verified_at, _run_write

REVIEW_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Access review (definition) id")
INSTANCE_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Review instance id")
PRINCIPAL_IDS = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**62), required=False,
                                      max_length=100, default=list)


class InstanceSerializer(serializers.ModelSerializer):
    total_items = serializers.IntegerField(read_only=True, default=None, allow_null=True)
    decided_items = serializers.IntegerField(read_only=True, default=None, allow_null=True)
    denied_items = serializers.IntegerField(read_only=True, default=None, allow_null=True)

    class Meta:
        model = AccessReviewInstance
        fields = ["id", "review", "sequence", "status", "start_at", "end_at", "started_at", "completed_at",
                  "applied_at", "item_count", "total_items", "decided_items", "denied_items"]


class ReviewSerializer(serializers.ModelSerializer):
    role = serializers.CharField(source="role.slug")
    scope = serializers.CharField(source="scope.path")
    reviewers = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    fallback_reviewers = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    notify_on_completion = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)

    class Meta:
        model = AccessReview
        fields = ["id", "name", "description", "role", "scope", "assignment_kinds", "include_users", "include_groups",
                  "include_service_principals", "inactive_days", "reviewer_type", "reviewers", "fallback_reviewers",
                  "start_date", "time_zone", "duration_days", "recurrence", "end_type", "end_date", "occurrences",
                  "show_recommendations", "require_reason_on_approve", "auto_apply", "default_decision",
                  "send_reminders", "notify_on_completion", "created_by", "created_at"]


class ReviewDetailSerializer(ReviewSerializer):
    instances = serializers.SerializerMethodField()

    class Meta(ReviewSerializer.Meta):
        fields = [*ReviewSerializer.Meta.fields, "instances"]

    @extend_schema_field(InstanceSerializer(many=True))
    def get_instances(self, obj):
        instances = selectors.instances_with_progress(obj.instances.order_by("-sequence"))
        return InstanceSerializer(instances, many=True).data


class ReviewCreateSerializer(serializers.Serializer):
    """One definition per role (several roles make several reviews), each with its first instance."""

    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    roles = serializers.ListField(child=serializers.SlugRelatedField(slug_field="slug",
                                                                     queryset=RoleDefinition.objects.all()),
                                  min_length=1, max_length=50, help_text="Role slugs.")
    scope = ScopeField(required=False, help_text="Scope path or id; default the root '/'.")
    start_date = serializers.DateField(help_text="In `time_zone`; today or later.")
    time_zone = serializers.CharField(required=False, max_length=64, default="UTC")
    duration_days = serializers.IntegerField(min_value=1, max_value=3650)
    assignment_kinds = serializers.ChoiceField(choices=AccessReview.AssignmentKinds.choices,
                                               default=AccessReview.AssignmentKinds.BOTH)
    include_users = serializers.BooleanField(default=True)
    include_groups = serializers.BooleanField(default=True)
    include_service_principals = serializers.BooleanField(default=True)
    inactive_days = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=3650,
                                             default=None)
    reviewer_type = serializers.ChoiceField(choices=AccessReview.ReviewerType.choices,
                                            default=AccessReview.ReviewerType.NAMED)
    reviewers = PRINCIPAL_IDS
    fallback_reviewers = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**62),
                                               required=False, max_length=100, default=list)
    recurrence = serializers.ChoiceField(choices=AccessReview.Recurrence.choices,
                                         default=AccessReview.Recurrence.ONE_TIME)
    end_type = serializers.ChoiceField(choices=AccessReview.EndType.choices, default=AccessReview.EndType.NEVER)
    end_date = serializers.DateField(required=False, allow_null=True, default=None)
    occurrences = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=1000, default=None)
    show_recommendations = serializers.BooleanField(default=True)
    require_reason_on_approve = serializers.BooleanField(default=False)
    auto_apply = serializers.BooleanField(default=False)
    default_decision = serializers.ChoiceField(choices=AccessReview.DefaultDecision.choices,
                                               default=AccessReview.DefaultDecision.NO_CHANGE)
    send_reminders = serializers.BooleanField(default=True)
    notify = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**62), required=False,
                                   max_length=100, default=list, help_text="User principal ids told on completion.")


class ItemSerializer(serializers.ModelSerializer):
    principal_name = serializers.CharField(source="principal.display_name")
    role = serializers.CharField(source="role.slug")
    scope = serializers.CharField(source="scope.path")
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)
    advice = serializers.ListField(child=serializers.CharField(), read_only=True, default=list,
                                   help_text="Right-sizing's recommendations about the item's assignment (unused "
                                             "eligibility, standing access that could be eligible, roles always "
                                             "activated together).")

    class Meta:
        model = AccessReviewItem
        fields = ["id", "instance", "assignment", "principal", "principal_name", "role", "scope", "kind",
                  "assignment_start_at", "assignment_end_at", "decision", "decision_source", "reason", "decided_by",
                  "decided_at", "recommendation", "last_activation_at", "apply_state", "apply_message", "applied_at",
                  "advice"]


class MyReviewSerializer(serializers.Serializer):
    instance = InstanceSerializer()
    review_name = serializers.CharField(source="instance.review.name")
    total = serializers.IntegerField()
    pending = serializers.IntegerField()


class DecideSerializer(serializers.Serializer):
    items = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**62), min_length=1,
                                  max_length=MAX_ITEMS_PER_DECISION)
    decision = serializers.ChoiceField(choices=[AccessReviewItem.Decision.APPROVE, AccessReviewItem.Decision.DENY,
                                                AccessReviewItem.Decision.DONT_KNOW])
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class DecidedSerializer(serializers.Serializer):
    decided = serializers.IntegerField()


class CompletedSerializer(serializers.Serializer):
    completed = serializers.BooleanField(help_text="False: it had already completed.")
    instance = InstanceSerializer()


class AppliedSerializer(serializers.Serializer):
    removed = serializers.IntegerField()
    refused = serializers.IntegerField()
    already_ended = serializers.IntegerField()
    finished = serializers.BooleanField(help_text="False: the rest is applied in the background.")


APPLY_BATCH = 200  # as the page: the beat's apply job continues an instance left "applying"


def _person_only(request) -> None:
    if is_service_principal_actor(request.user):
        raise forbidden("A service principal cannot run or decide access reviews: that is for people.")


def _admin_or_viewer(request) -> None:
    _person_only(request)
    caps = user_capabilities(request)
    if not (caps.get("any_admin") or caps.get("directory_viewer")):
        raise forbidden("Access reviews are run by administrators: you need an active administering role. "
                        "Reviewers use /api/v1/my-reviews/.")


def _review(request, pk) -> AccessReview:
    found = (AccessReview.objects.select_related("role", "scope", "created_by")
             .prefetch_related("reviewers", "fallback_reviewers", "notify_on_completion")
             .filter(pk=_int_id(pk)).first())
    if found is None or not selectors.user_can_view_review(user=request.user, review=found):
        raise not_found("No such access review.")
    return found


def _instance(pk) -> AccessReviewInstance:
    found = (AccessReviewInstance.objects.select_related("review", "review__role", "review__scope")
             .filter(pk=_int_id(pk)).first())
    if found is None:
        raise not_found("No such review instance.")
    return found


def _instance_for_viewer(request, pk) -> AccessReviewInstance:
    instance = _instance(pk)
    if not selectors.user_can_view_review(user=request.user, review=instance.review):
        raise not_found("No such review instance.")
    return instance


def _with_progress(instance: AccessReviewInstance) -> AccessReviewInstance:
    return selectors.instances_with_progress(AccessReviewInstance.objects.filter(pk=instance.pk)).get()


class ReviewList(PimListView):
    serializer_class = ReviewSerializer

    def get_queryset(self):
        return (selectors.reviews_visible_to(user=self.request.user)
                .prefetch_related("reviewers", "fallback_reviewers", "notify_on_completion"))

    @extend_schema(operation_id="reviews_list", tags=["access reviews"])
    def get(self, request, *args, **kwargs):
        _admin_or_viewer(request)
        return super().get(request, *args, **kwargs)

    @extend_schema(operation_id="reviews_create", request=ReviewCreateSerializer,
                   responses={201: ReviewSerializer(many=True)}, tags=["access reviews"],
                   description="Needs the right to manage each role at the scope; an automatically applied review "
                               "of a privileged role needs an administrative token.")
    def post(self, request):
        _person_only(request)
        if not user_capabilities(request).get("any_admin"):
            raise forbidden("Creating an access review needs an administering role for the roles reviewed.")
        body = ReviewCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        spec = services.ReviewSettings(
            name=data["name"], description=data["description"],
            scope=data.get("scope") or assignment_selectors.scope_root(), start_date=data["start_date"],
            duration_days=data["duration_days"], time_zone=data["time_zone"],
            assignment_kinds=data["assignment_kinds"], include_users=data["include_users"],
            include_groups=data["include_groups"], include_service_principals=data["include_service_principals"],
            inactive_days=data["inactive_days"], reviewer_type=data["reviewer_type"],
            reviewer_ids=data["reviewers"], fallback_reviewer_ids=data["fallback_reviewers"],
            recurrence=data["recurrence"], end_type=data["end_type"], end_date=data["end_date"],
            occurrences=data["occurrences"], show_recommendations=data["show_recommendations"],
            require_reason_on_approve=data["require_reason_on_approve"], auto_apply=data["auto_apply"],
            default_decision=data["default_decision"], send_reminders=data["send_reminders"],
            notify_ids=data["notify"])
        created = _run_write(request, lambda: services.review_create(
            actor=request.user, roles=data["roles"], spec=spec, mfa_verified_at=_mfa_verified_at(request)),
            target_of=lambda reviews: reviews[0] if reviews else None)
        return Response(ReviewSerializer(created, many=True).data, status=status.HTTP_201_CREATED)


class ReviewDetail(PimAPIView):
    @extend_schema(operation_id="reviews_retrieve", parameters=[REVIEW_ID], responses=ReviewDetailSerializer,
                   tags=["access reviews"])
    def get(self, request, pk: str):
        _person_only(request)
        return Response(ReviewDetailSerializer(_review(request, pk)).data)


class InstanceDetail(PimAPIView):
    @extend_schema(operation_id="review_instances_retrieve", parameters=[INSTANCE_ID], responses=InstanceSerializer,
                   tags=["access reviews"])
    def get(self, request, pk: str):
        _person_only(request)
        return Response(InstanceSerializer(_with_progress(_instance_for_viewer(request, pk))).data)


class _WithAdvice:
    """A list of review items: right-sizing's advice about the page's assignments, in one go."""

    def get_serializer(self, *args, **kwargs):
        if args and kwargs.get("many"):  # the page: right-sizing's advice for all its items at once
            rows = list(args[0])
            advice = advice_for_assignments(assignment_ids=[i.assignment_id for i in rows if i.assignment_id])
            for item in rows:
                item.advice = advice.get(item.assignment_id, [])
            args = (rows, *args[1:])
        return super().get_serializer(*args, **kwargs)


class InstanceItems(_WithAdvice, PimListView):
    """Every item of an instance with its decision and (live) recommendation: the results."""

    serializer_class = ItemSerializer
    queryset = AccessReviewItem.objects.none()  # for the schema; get_queryset reads the instance's items

    def get_queryset(self):
        instance = _instance_for_viewer(self.request, self.kwargs["pk"])
        return selectors.with_live_recommendations(selectors.instance_items(instance=instance), at=timezone.now())

    @extend_schema(operation_id="review_instances_items", parameters=[INSTANCE_ID], tags=["access reviews"])
    def get(self, request, *args, **kwargs):
        _person_only(request)
        return super().get(request, *args, **kwargs)


class InstanceComplete(PimAPIView):
    @extend_schema(operation_id="review_instances_complete", parameters=[INSTANCE_ID], request=None,
                   responses=CompletedSerializer, tags=["access reviews"],
                   description="Stop a review early: decisions become final and the default applies to undecided "
                               "items. The role's administrators.")
    def post(self, request, pk: str):
        _person_only(request)
        instance = _instance_for_viewer(request, pk)
        done = _run_write(request, lambda: services.review_instance_complete(instance=instance, actor=request.user),
                          target_of=lambda _result: instance)
        return Response({"completed": done, "instance": InstanceSerializer(_with_progress(instance)).data})


class InstanceApply(PimAPIView):
    @extend_schema(operation_id="review_instances_apply", parameters=[INSTANCE_ID], request=None,
                   responses=AppliedSerializer, tags=["access reviews"],
                   description=f"Remove the denied assignments of a completed instance (up to {APPLY_BATCH} a call; "
                               "the rest in the background). A refused removal is recorded on its item.")
    def post(self, request, pk: str):
        _person_only(request)
        instance = _instance_for_viewer(request, pk)
        outcome = _run_write(request, lambda: services.review_instance_apply(instance=instance, actor=request.user,
                                                                           limit=APPLY_BATCH),
                             target_of=lambda _result: instance)
        return Response(AppliedSerializer(outcome).data)


class MyReviews(PimAPIView):
    @extend_schema(operation_id="my_reviews_list", responses=MyReviewSerializer(many=True), tags=["access reviews"],
                   description="The instances with items for me to review, with my totals (in progress first).")
    def get(self, request):
        _person_only(request)
        return Response(MyReviewSerializer(selectors.my_review_summaries(user=request.user), many=True).data)


class MyItems(_WithAdvice, PimListView):
    serializer_class = ItemSerializer
    queryset = AccessReviewItem.objects.none()  # for the schema; get_queryset reads the instance's items

    def get_queryset(self):
        return selectors.reviewer_items(user=self.request.user, instance=_instance(self.kwargs["pk"]))

    @extend_schema(operation_id="my_reviews_items", parameters=[INSTANCE_ID], tags=["access reviews"])
    def get(self, request, *args, **kwargs):
        _person_only(request)
        return super().get(request, *args, **kwargs)


class MyDecide(PimAPIView):
    @extend_schema(operation_id="my_reviews_decide", parameters=[INSTANCE_ID], request=DecideSerializer,
                   responses=DecidedSerializer, tags=["access reviews"],
                   description="Approve, deny (with a reason) or don't know, for items assigned to me; a later "
                               "decision replaces an earlier one while the review is in progress.")
    def post(self, request, pk: str):
        _person_only(request)
        instance = _instance(pk)
        body = DecideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        count = _run_write(request, lambda: services.review_item_decide(
            actor=request.user, instance=instance, item_ids=data["items"], decision=data["decision"],
            reason=data["reason"]), target_of=lambda _result: instance)
        return Response({"decided": count})
