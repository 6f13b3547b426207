"""The measuring half of bench/large_org.py (run it through that file: it builds or reuses the database).

Baselines measured in the same run, with the code paths this branch replaced kept callable here:
- the approver queue as it was: load every pending request, decide in Python (`old_queue`);
- the Assignments page's query as it was: DISTINCT over a closure join, ORDER BY role name, scope path,
  principal name, then Django's Paginator COUNT and OFFSET (`old_assignments_page`).
"""

import base64
import statistics
import time
from urllib.parse import urlencode

from large_org import APPROVER, DECIDABLE, log

PAGE = 50
SLOW_SECONDS = 5.0
STATEMENT_TIMEOUT = "120s"  # a page whose query runs longer answers 500 and is reported as such


def _personas():
    """Users the bench signs in as, made once (idempotent), each holding what its row of the table needs."""
    from assignments import services
    from assignments.models import Assignment, RoleDefinition, Scope, User
    from core.actors import Actor

    actor = Actor.system("bench-setup")
    root = Scope.objects.get(path="/")
    wanted = {"bench-owner": "owner", "bench-ga": "global-administrator", "bench-reader": "global-reader"}
    people = {}
    for username, slug in wanted.items():
        user = User.objects.filter(username=username).first()
        if user is None:
            user = services.user_create(actor=actor, username=username, email=f"{username}@bench.example",
                                        display_name=username)
        role = RoleDefinition.objects.get(slug=slug)
        if not Assignment.objects.filter(principal=user.principal, role=role, scope=root, status="live").exists():
            services.assignment_create(actor=actor, principal=user.principal, role=role, scope=root, kind="active",
                                       justification="bench persona")
        people[username] = user
    people[APPROVER] = User.objects.get(username=APPROVER)
    return people


def _client(user):
    from django.test import Client
    from django.utils import timezone

    from core.mfa import SESSION_KEY

    client = Client(raise_request_exception=False)  # a page that fails (a statement timeout) answers 500
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = timezone.now().isoformat()
    session.save()
    return client


def _timed(call, repeat: int):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, queries, status = [], 0, None
    for index in range(repeat):
        if index == 1 and times[0] > SLOW_SECONDS:
            break  # a page this slow is measured once (its median is its only run)
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            response = call()
            if hasattr(response, "streaming_content"):
                for _chunk in response.streaming_content:
                    pass
            else:
                _ = response.content if hasattr(response, "content") else response
            times.append(time.perf_counter() - t0)
        queries = len(ctx.captured_queries)
        status = getattr(response, "status_code", None)
    return statistics.median(times) * 1000, queries, status


def _drf_cursor(position) -> str:
    return base64.b64encode(urlencode({"p": str(position)}).encode("ascii")).decode("ascii")


def _deep(deep_page: int) -> dict:
    """Where the deep page starts, per list, found with OFFSET (arrangement, not measured)."""
    from django.utils import timezone

    from approvals.models import Request
    from assignments.models import Assignment, Principal, Scope, not_over_q
    from assignments.selectors import LIST_ORDER, assignments_visible_to
    from audit.models import AuditEvent

    offset = PAGE * (deep_page - 1) - 1
    out = {}
    row = (assignments_visible_to(user=_PEOPLE["bench-owner"]).filter(kind="eligible")
           .filter(not_over_q(timezone.now())).order_by(*LIST_ORDER).values_list(*LIST_ORDER)[offset:offset + 1])
    out["page_cursor"] = ".".join(str(v) for v in row[0]) if row else None
    out["assignment_id"] = Assignment.objects.order_by("-id").values_list("id", flat=True)[offset]
    out["principal_id"] = Principal.objects.order_by("-id").values_list("id", flat=True)[offset]
    out["scope_id"] = Scope.objects.order_by("-id").values_list("id", flat=True)[min(offset, Scope.objects.count() - 1)]
    out["seq"] = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True)[offset]
    # The Owner at / may decide nearly every pending request: their queue's deep page, by keyset.
    from approvals.selectors import QUEUE_ORDER, queue_cursor_of, requests_decidable_queryset

    queue = requests_decidable_queryset(user=_PEOPLE["bench-owner"]).order_by(*QUEUE_ORDER)
    last = queue.count() - 1
    queue_row = queue[min(offset, max(0, last - PAGE))] if last >= 0 else None  # at most its last full page
    out["queue_cursor"] = queue_cursor_of(queue_row) if queue_row else ""
    out["queue_created"] = queue_row.created_at if queue_row else timezone.now()
    out["request_created"] = Request.objects.order_by("-created_at").values_list("created_at", flat=True)[
        min(offset, Request.objects.count() - 1)]
    return out


# --- the replaced code paths, kept callable as baselines ---------------------------------------------


def old_queue(user):
    """The approver queue before this branch: every pending request loaded, decided in Python."""
    from django.db.models import Prefetch
    from django.utils import timezone

    from approvals.models import Request
    from approvals.selectors import ADMIN_APPROVED_ACTIONS, FALLBACK_APPROVER_ROLES, _request_list, user_group_ids
    from assignments import selectors as assignment_selectors
    from assignments.models import Principal, RoleSetting, ScopeClosure

    now = timezone.now()
    pending = list(_request_list().filter(status=Request.Status.PENDING_APPROVAL, approval_deadline__gt=now)
                   .exclude(requested_by=user).exclude(principal=user.principal)
                   .prefetch_related("role__permissions").order_by("created_at"))
    me = user.principal
    groups = user_group_ids(user=user, at=now)
    ancestors: dict[int, list[int]] = {}
    for descendant, ancestor in (ScopeClosure.objects.filter(descendant_id__in={r.scope_id for r in pending})
                                 .order_by("descendant_id", "depth").values_list("descendant_id", "ancestor_id")):
        ancestors.setdefault(descendant, []).append(ancestor)
    admin_slugs = {s for slugs in FALLBACK_APPROVER_ROLES.values() for s in slugs}
    admin_slugs |= set(assignment_selectors.GROUP_ADMIN_ROLES) | set(assignment_selectors.RESOURCE_ADMIN_ROLES)
    holds: dict[str, set[int]] = {}
    for slug, scope_id in assignment_selectors.role_assignments_held_by(
            principal=me, role_slugs=sorted(admin_slugs), at=now).values_list("role__slug", "scope_id"):
        holds.setdefault(slug, set()).add(scope_id)

    def holds_any(slugs, scope_id):
        scopes = set(ancestors.get(scope_id, []))
        return any(holds.get(slug, set()) & scopes for slug in slugs)

    activations = [r for r in pending if r.action == Request.Action.SELF_ACTIVATE]
    pairs = {(r.role_id, r.scope_id) for r in activations}
    scope_ids = {a for ids in ancestors.values() for a in ids}
    rows = RoleSetting.objects.filter(role_id__in={p[0] for p in pairs}, scope_id__in=scope_ids).prefetch_related(
        Prefetch("approvers", queryset=Principal.objects.only("id", "kind", "enabled")))
    by_key = {(s.role_id, s.scope_id): s for s in rows}
    nearest = {}
    for role_id, scope_id in pairs:
        for ancestor in ancestors.get(scope_id, []):
            if (role_id, ancestor) in by_key:
                nearest[(role_id, scope_id)] = by_key[(role_id, ancestor)]
                break
    mine = {me.pk, *groups}
    allowed = []
    for r in pending:
        if r.action in ADMIN_APPROVED_ACTIONS:
            if holds_any(assignment_selectors.admin_roles_for(role=r.role), r.scope_id):
                allowed.append(r)
            continue
        setting = nearest.get((r.role_id, r.scope_id))
        named = [p for p in setting.approvers.all() if p.enabled] if setting is not None else []
        if named:
            if any(p.pk in mine for p in named):
                allowed.append(r)
        elif holds_any(FALLBACK_APPROVER_ROLES[r.role.kind], r.scope_id):
            allowed.append(r)
    return allowed


def old_queue_page(user):
    """The queue page before this branch: every decidable request on one page (the old view's body)."""
    from django.shortcuts import render
    from django.test import RequestFactory
    from django.utils import timezone

    from approvals.forms import DecisionForm
    from approvals.selectors import request_list_pending_for_approver

    request = RequestFactory().get("/approvals/")
    request.user = user
    request.session = {}
    rows = request_list_pending_for_approver(user=user)
    for row in rows:
        row.selected = False
    return render(request, "approvals/queue.html", {"requests": rows, "decision_form": DecisionForm(),
                                                    "now": timezone.now(), "bulk_comment": ""})


def old_queue_api(user):
    """The API's approvals list before this branch: every decidable request in one response."""
    from rest_framework.renderers import JSONRenderer

    from api import serializers
    from approvals.selectors import request_list_pending_for_approver

    return JSONRenderer().render({"results": serializers.RequestSerializer(
        request_list_pending_for_approver(user=user), many=True).data})


def old_assignments_page(user, page_number: int):
    """The Assignments page's rows before this branch (Eligible tab): DISTINCT, joined order, COUNT, OFFSET."""
    from django.core.paginator import Paginator
    from django.db.models import Q
    from django.utils import timezone

    from assignments import selectors
    from assignments.models import RoleDefinition, not_over_q

    qs = selectors.assignment_list()
    visible = Q(pk__in=[])
    if selectors.user_holds_any(user=user, role_slugs=selectors.DIRECTORY_VIEWER_ROLES):
        visible |= Q(role__kind=RoleDefinition.Kind.DIRECTORY)
    visible |= Q(role__kind__in=[RoleDefinition.Kind.RESOURCE, RoleDefinition.Kind.GROUP]) & Q(
        scope__ancestor_links__ancestor__in=selectors.user_administered_scope_ids(user=user))
    if selectors.user_holds_any(user=user, role_slugs=selectors.DIRECTORY_ADMIN_ROLES):
        visible |= Q(role__kind=RoleDefinition.Kind.GROUP)
    rows = (qs.filter(visible).distinct().filter(kind="eligible").filter(not_over_q(timezone.now()))
            .order_by("role__name", "role__kind", "scope__path", "principal__display_name", "kind", "pk"))
    page = Paginator(rows, PAGE).get_page(page_number)
    return list(page.object_list), page.paginator.count


_PEOPLE: dict = {}


def run(args) -> int:
    from django.db.backends.signals import connection_created
    from django.urls import reverse

    from approvals import selectors as approval_selectors
    from approvals.models import Request
    from assignments.models import Assignment, Principal
    from audit.models import AuditEvent

    def limit(sender, connection, **kwargs):  # every connection the pages open (Django closes them after each)
        with connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT}'")

    connection_created.connect(limit, weak=False)
    _PEOPLE.update(_personas())
    people = _PEOPLE
    counts = {"assignments": Assignment.objects.count(), "principals": Principal.objects.count(),
              "audit events": AuditEvent.objects.count(),
              "pending requests": Request.objects.filter(status="pending_approval").count()}
    log("sizes: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    deep = _deep(args.deep_page)
    clients = {name: _client(user) for name, user in people.items()}
    deep_n = args.deep_page
    rows = []

    only = [part.strip() for part in args.only.split(",") if part.strip()]

    def measure(label, who, first_url, deep_url, repeat=args.repeat):
        if only and not any(part in label for part in only):
            return
        client = clients[who]
        first = _timed(lambda: client.get(first_url), repeat)
        second = _timed(lambda: client.get(deep_url), repeat) if deep_url else None
        rows.append((label, who, first, second))
        log(f"{label:<38} {who:<15} first {first[0]:8.1f} ms {first[1]:3d} q ({first[2]})"
            + (f"   deep {second[0]:8.1f} ms {second[1]:3d} q ({second[2]})" if second else ""))

    pages = reverse("assignments:list")
    measure("page: Assignments (Eligible)", "bench-owner", pages, f"{pages}?after={deep['page_cursor']}")
    measure("page: Assignments (Eligible)", "bench-ga", pages, None)
    queue = reverse("approvals:queue")
    measure("page: Approvals queue", APPROVER, queue, None)
    measure("page: Approvals queue", "bench-owner", queue, f"{queue}?after={deep['queue_cursor']}")
    measure("page: Home", "bench-owner", reverse("portal:home"), None)
    measure("page: My roles", "bench-owner", reverse("approvals:my_roles"), None)
    measure("page: My requests", APPROVER, reverse("approvals:my_requests"), None)
    directory = reverse("assignments:principals")
    measure("page: Directory", "bench-ga", directory, f"{directory}?page={deep_n}")
    audit = reverse("audit:list")
    measure("page: Audit log", "bench-reader", audit, f"{audit}?before_seq={deep['seq'] + 1}")
    measure("page: Role settings", "bench-ga", reverse("assignments:role_settings"), None)
    measure("page: Access reviews", "bench-ga", reverse("reviews:list"), None)
    measure("page: Alerts dashboard", "bench-ga", reverse("alerts:dashboard"), None)
    measure("page: Alerts dashboard", "bench-owner", reverse("alerts:dashboard"), None)
    measure("page: Discovery", "bench-ga", reverse("alerts:discovery"), None)
    measure("api: assignments", "bench-owner", "/api/v1/assignments/",
            f"/api/v1/assignments/?cursor={_drf_cursor(deep['assignment_id'])}")
    measure("api: principals", "bench-ga", "/api/v1/principals/",
            f"/api/v1/principals/?cursor={_drf_cursor(deep['principal_id'])}")
    measure("api: scopes", "bench-ga", "/api/v1/scopes/", f"/api/v1/scopes/?cursor={_drf_cursor(deep['scope_id'])}")
    measure("api: requests", "bench-ga", "/api/v1/requests/",
            f"/api/v1/requests/?cursor={_drf_cursor(deep['request_created'].isoformat())}")
    measure("api: approvals", APPROVER, "/api/v1/approvals/", None)
    measure("api: approvals", "bench-owner", "/api/v1/approvals/",
            f"/api/v1/approvals/?cursor={_drf_cursor(deep['queue_created'].isoformat())}")
    measure("api: audit events", "bench-reader", "/api/v1/audit/events/",
            f"/api/v1/audit/events/?cursor={_drf_cursor(deep['seq'] + 1)}")
    measure("api: roles", "bench-ga", "/api/v1/roles/", None)
    measure("api: role settings", "bench-ga", "/api/v1/role-settings/", None)
    measure("api: dashboard", "bench-ga", "/api/v1/dashboard/", None)
    measure("api: dashboard", "bench-owner", "/api/v1/dashboard/", None)

    # Baselines in the same run: the code paths replaced.
    approver = people[APPROVER]
    new_queue = _timed(lambda: approval_selectors.request_list_pending_for_approver(user=approver), args.repeat)
    old = _timed(lambda: old_queue(approver), args.repeat)
    same = [r.pk for r in old_queue(approver)] == [
        r.pk for r in approval_selectors.request_list_pending_for_approver(user=approver)]
    decidable = len(approval_selectors.request_list_pending_for_approver(user=approver))
    log(f"approver queue selector: {new_queue[0]:.1f} ms ({new_queue[1]} q) vs old {old[0]:.1f} ms ({old[1]} q): "
        f"{old[0] / new_queue[0]:.1f}x; {decidable} decidable (expected {DECIDABLE}); same rows: {same}")
    owner = people["bench-owner"]
    old_page = _timed(lambda: old_queue_page(owner), args.baseline_repeat)
    old_api = _timed(lambda: old_queue_api(owner), args.baseline_repeat)
    queue_rows = [r for r in rows if r[0] in ("page: Approvals queue", "api: approvals") and r[1] == "bench-owner"]
    log(f"old approval queue of the Owner at / (every decidable request at once): page {old_page[0]:.0f} ms, "
        f"API {old_api[0]:.0f} ms; now (first page): "
        + ", ".join(f"{label} {first[0]:.0f} ms" for label, _, first, _ in queue_rows))
    base_repeat = max(1, min(args.repeat, args.baseline_repeat))
    assignments_row = next((r for r in rows if r[0] == "page: Assignments (Eligible)" and r[3]), None)
    old_first = old_deep = None
    if assignments_row is not None:  # tens of seconds each at 1 M: only when that page was measured
        old_first = _timed(lambda: old_assignments_page(owner, 1), base_repeat)
        old_deep = _timed(lambda: old_assignments_page(owner, deep_n), base_repeat)
        log(f"old Assignments rows for the Owner at /: first {old_first[0]:.0f} ms, page {deep_n} "
            f"{old_deep[0]:.0f} ms (median of {base_repeat})")

    print()
    print(f"Large-organisation profile: {', '.join(f'{v:,} {k}' for k, v in counts.items())}; medians of "
          f"{args.repeat} runs, in-process test client on PostgreSQL; deep page = page {deep_n} (position found "
          f"with OFFSET beforehand, then reached by cursor/keyset as a client following Next would).")
    print()
    print("| list | as | first page ms | queries | deep page ms | queries |")
    print("|---|---|---:|---:|---:|---:|")
    for label, who, first, second in rows:
        def cell(measured):
            ms, queries, status = measured
            return (f"{ms:.0f} | {queries} |" if status == 200
                    else f"> {STATEMENT_TIMEOUT} (answered {status}) | {queries} |")

        print(f"| {label} | {who} | {cell(first)} " + (cell(second) if second else "— | — |"))
    print()
    print(f"Baselines (same run): approver queue selector {old[0]:.0f} ms before, {new_queue[0]:.0f} ms now "
          f"({old[0] / new_queue[0]:.1f}x); the Owner at /'s whole queue at once (before): page {old_page[0]:.0f} ms, "
          f"API {old_api[0]:.0f} ms; now a page: "
          + ", ".join(f"{label} {first[0]:.0f} ms ({old_page[0] if 'page' in label else old_api[0]:.0f} / "
                      f"{first[0]:.0f} = {(old_page[0] if 'page' in label else old_api[0]) / first[0]:.1f}x)"
                      for label, _, first, _ in queue_rows) + ".")
    if assignments_row is not None:
        print(f"Assignments rows for the Owner at / before: first page {old_first[0]:.0f} ms, page {deep_n} "
              f"{old_deep[0]:.0f} ms; now: first {assignments_row[2][0]:.0f} ms, page {deep_n} "
              f"{assignments_row[3][0]:.0f} ms (whole page).")
    failures = [r for r in rows if r[2][2] != 200 or (r[3] and r[3][2] != 200)]
    for label, who, first, second in failures:
        print(f"NOT 200: {label} as {who}: {first[2]} / {second[2] if second else '-'}")
    return 1 if failures or not same else 0

