"""Prometheus metrics (`/metrics`).

Two kinds:
- request latency by view, method and status, measured by `RequestMetricsMiddleware` in each web
  process. Under several gunicorn workers set PROMETHEUS_MULTIPROC_DIR (the run command does): each
  process writes its samples there and a scrape adds them up, whichever worker answers it.
- the portal's state, read from the database at scrape time (`PortalCollector`): activations,
  approvals pending and their age, the outbox backlog by channel and its oldest row, connector
  effects (grants, revokes, webhook deliveries) by kind and status, the sweep lag (the oldest end not
  yet tidied up), the audit chain head, the age of the last checkpoint, the witness and the SIEM
  streams, the heartbeats, and the intake: LDAP / AD sync runs by source, kind and outcome, the age
  of each source's last success and the entries its runs changed; SCIM clients' changes of the last
  day by outcome. Each is one aggregate query on an indexed column; the whole scrape is about a dozen
  statements, whatever the size of the data.
"""

import logging
import os
import time
from collections.abc import Iterator
from datetime import timedelta

from django.db import DatabaseError
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from assignments.models import Assignment, Request
from audit.models import AuditChainHead, AuditCheckpoint, AuditEvent, AuditWitnessState
from connectors.models import Effect
from directory.models import DirectorySource, DirectorySyncRun, ScimClient, ScimResource
from notifications.models import OutboxMessage

from .models import Heartbeat, SiemStream

logger = logging.getLogger(__name__)

REQUESTS = CollectorRegistry(auto_describe=True)
REQUEST_LATENCY = Histogram(
    "pim_http_request_duration_seconds", "Time to answer an HTTP request, by view (URL name), method and status.",
    ["view", "method", "status"], registry=REQUESTS,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


def _view_label(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"  # a 404 by the resolver: never the raw path (unbounded label values)
    return match.view_name or match._func_path


class RequestMetricsMiddleware:
    """Times every request (first in MIDDLEWARE, so the whole stack is inside), and gives the response the
    request's correlation id (`X-Correlation-ID`), the id its audit events and log lines carry."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        REQUEST_LATENCY.labels(view=_view_label(request), method=request.method if request.method in _METHODS
                               else "other", status=str(response.status_code)).observe(time.perf_counter() - started)
        correlation_id = getattr(request, "correlation_id", None)
        if correlation_id is not None:
            response["X-Correlation-ID"] = str(correlation_id)
        return response


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _age(now, then) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


class PortalCollector:
    """The portal's state at scrape time. A part whose query fails is left out and counted in
    `pim_metrics_errors` (named by `part`), so one broken table does not hide the rest."""

    def describe(self):
        return []  # no collect() at registration: the queries run only when scraped

    def collect(self) -> Iterator:
        errors = GaugeMetricFamily("pim_metrics_errors", "Parts of the portal's metrics that could not be read "
                                   "at this scrape (1).", labels=["part"])
        now = timezone.now()
        for part in (self._activations, self._approvals, self._outbox, self._provisioning, self._sweep,
                     self._audit, self._siem, self._heartbeats, self._ldap_sync, self._scim_intake):
            try:
                yield from part(now)
            except DatabaseError as error:
                logger.warning("metrics: %s not collected: %s", part.__name__, error)
                errors.add_metric([part.__name__.strip("_")], 1)
        yield errors

    def _activations(self, now):
        total = CounterMetricFamily("pim_activations", "Activation requests filed (self-service), by status now.",
                                    labels=["status"])
        for status, count in (Request.objects.filter(action=Request.Action.SELF_ACTIVATE)
                              .values_list("status").annotate(n=Count("pk")).order_by()):
            total.add_metric([status], count)
        yield total
        active = Assignment.objects.filter(kind=Assignment.Kind.ACTIVE, status=Assignment.Status.LIVE,
                                           activated_from__isnull=False, start_at__lte=now).filter(
            Q(end_at__isnull=True) | Q(end_at__gt=now)).count()
        yield GaugeMetricFamily("pim_activations_active", "Activations held right now.", value=active)

    def _approvals(self, now):
        pending = Request.objects.filter(status=Request.Status.PENDING_APPROVAL).aggregate(
            n=Count("pk"), oldest=Min("created_at"))
        yield GaugeMetricFamily("pim_approvals_pending", "Requests waiting for approval.", value=pending["n"])
        yield GaugeMetricFamily("pim_approvals_pending_oldest_age_seconds",
                                "Age of the oldest request waiting for approval (0 when none).",
                                value=_age(now, pending["oldest"]))

    def _outbox(self, now):
        backlog = GaugeMetricFamily("pim_outbox_backlog", "Outbox rows not delivered yet, by channel.",
                                    labels=["channel"])
        oldest = GaugeMetricFamily("pim_outbox_oldest_pending_age_seconds",
                                   "Age of the oldest undelivered outbox row, by channel.", labels=["channel"])
        failed = GaugeMetricFamily("pim_outbox_failed", "Outbox rows that failed for good (retries exhausted), by "
                                   "channel: email and the connectors' channel (grants, revokes, webhook "
                                   "deliveries).", labels=["channel"])
        for channel, n, first in (OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING)
                                  .values_list("channel").annotate(n=Count("pk"), first=Min("created_at"))
                                  .order_by()):
            backlog.add_metric([channel], n)
            oldest.add_metric([channel], _age(now, first))
        for channel, n in (OutboxMessage.objects.filter(status=OutboxMessage.Status.FAILED)
                           .values_list("channel").annotate(n=Count("pk")).order_by()):
            failed.add_metric([channel], n)
        yield from (backlog, oldest, failed)

    def _provisioning(self, now):
        effects = GaugeMetricFamily("pim_connector_effects", "Grants and revokes in connector targets (LDAP, "
                                    "PostgreSQL, SCIM) and event deliveries to webhook targets (kind webhook), by "
                                    "target kind and status (failed: the target refused or stayed unreachable).",
                                    labels=["kind", "status"])
        for kind, status, n in (Effect.objects.values_list("target__kind", "status").annotate(n=Count("pk"))
                                .order_by()):
            effects.add_metric([kind, status], n)
        yield effects

    def _sweep(self, now):
        overdue = Assignment.objects.filter(status=Assignment.Status.LIVE, end_at__lte=now).aggregate(
            first=Min("end_at"), n=Count("pk"))
        yield GaugeMetricFamily("pim_sweep_lag_seconds", "How long ago the oldest ended assignment the expiry sweep "
                                "has not tidied up yet ended (0 when none; access already ended at its end).",
                                value=_age(now, overdue["first"]))
        yield GaugeMetricFamily("pim_sweep_backlog", "Ended assignments not tidied up yet.", value=overdue["n"])

    def _audit(self, now):
        head = AuditChainHead.objects.filter(pk=1).values_list("last_seq", flat=True).first() or 0
        yield GaugeMetricFamily("pim_audit_chain_head_seq", "Sequence number of the newest audit event.", value=head)
        last = AuditCheckpoint.objects.filter(kind=AuditCheckpoint.Kind.PERIODIC).aggregate(
            at=Max("created_at"), seq=Max("last_seq"))
        yield GaugeMetricFamily("pim_audit_last_checkpoint_age_seconds", "Age of the newest signed checkpoint "
                                "(-1 when there is none yet).", value=_age(now, last["at"]) if last["at"] else -1)
        yield GaugeMetricFamily("pim_audit_events_after_last_checkpoint", "Audit events not covered by a signed "
                                "checkpoint yet.", value=max(0, head - (last["seq"] or 0)))
        state = AuditWitnessState.objects.filter(pk=1).first()
        if state is not None:
            yield GaugeMetricFamily("pim_audit_witness_lag_events", "Audit events since the last witnessed record.",
                                    value=max(0, head - state.last_seq))
            yield GaugeMetricFamily("pim_audit_witness_failing_seconds", "How long the external witness has been "
                                    "failing (0 when it is not).", value=_age(now, state.failing_since))

    def _siem(self, now):
        head = AuditChainHead.objects.filter(pk=1).values_list("last_seq", flat=True).first() or 0
        lag = GaugeMetricFamily("pim_siem_stream_lag_events", "Audit events a SIEM consumer has not confirmed yet.",
                                labels=["stream"])
        failing = GaugeMetricFamily("pim_siem_stream_failing_seconds", "How long a SIEM consumer has been failing "
                                    "(0 when it is not).", labels=["stream"])
        sent = CounterMetricFamily("pim_siem_stream_events_sent", "Audit events a SIEM consumer confirmed.",
                                   labels=["stream"])
        for stream in SiemStream.objects.order_by("name"):
            lag.add_metric([stream.name], max(0, head - stream.last_seq))
            failing.add_metric([stream.name], _age(now, stream.failing_since))
            sent.add_metric([stream.name], stream.events_sent)
        yield from (lag, failing, sent)

    def _heartbeats(self, now):
        age = GaugeMetricFamily("pim_heartbeat_age_seconds", "Time since the beat last published (beat) and a "
                                "worker last ran (worker) the heartbeat job.", labels=["process"])
        for beat in Heartbeat.objects.order_by("name"):
            age.add_metric([beat.name], _age(now, beat.at))
        yield age


    # What a succeeded run changed (`DirectorySyncRun`'s counts), summed per source by kind of change.
    _SYNC_CHANGES = ("users_created", "users_updated", "users_disabled", "groups_created", "groups_updated",
                     "memberships_added", "memberships_removed")

    def _ldap_sync(self, now):
        runs = CounterMetricFamily("pim_ldap_sync_runs", "LDAP / Active Directory sync runs recorded, by source, "
                                   "kind (full, incremental, ldif) and status (succeeded, failed, refused, running).",
                                   labels=["source", "kind", "status"])
        for source, kind, status, n in (DirectorySyncRun.objects.values_list("source__name", "kind", "status")
                                        .annotate(n=Count("pk")).order_by()):
            runs.add_metric([source, kind, status], n)
        yield runs
        succeeded = Q(runs__status=DirectorySyncRun.Status.SUCCEEDED)
        sources = DirectorySource.objects.order_by("name").annotate(
            last_ok=Max("runs__finished_at", filter=succeeded),
            **{name: Sum(f"runs__{name}", filter=succeeded) for name in self._SYNC_CHANGES},
        ).values("name", "enabled", "running_since", "last_ok", *self._SYNC_CHANGES)
        age = GaugeMetricFamily("pim_ldap_sync_last_success_age_seconds", "Time since the source's last "
                                "succeeded run finished (-1: none yet).", labels=["source"])
        running = GaugeMetricFamily("pim_ldap_sync_running_seconds", "How long the source's current run has been "
                                    "running (0: none running).", labels=["source"])
        enabled = GaugeMetricFamily("pim_ldap_sync_source_enabled", "1 when the source runs on its schedule.",
                                    labels=["source"])
        changed = CounterMetricFamily("pim_ldap_sync_entries_changed", "Entries the source's succeeded runs "
                                      "changed, by change (users_created, memberships_removed, …).",
                                      labels=["source", "change"])
        for row in sources:
            name = row["name"]
            age.add_metric([name], _age(now, row["last_ok"]) if row["last_ok"] else -1)
            running.add_metric([name], _age(now, row["running_since"]))
            enabled.add_metric([name], 1 if row["enabled"] else 0)
            for change in self._SYNC_CHANGES:
                changed.add_metric([name, change], row[change] or 0)
        yield from (runs, age, running, enabled, changed)

    # SCIM is pushed: no runs, so its results are the audited changes a client made (actor
    # "system:scim (<client>)", actions "scim.*"), over the last day to keep the scan on the time index.
    SCIM_WINDOW_SECONDS = 24 * 3600

    def _scim_intake(self, now):
        clients = {f"system:scim ({name})": name for name in ScimClient.objects.values_list("name", flat=True)}
        changes = GaugeMetricFamily("pim_scim_intake_changes_last_day", "Changes SCIM clients made in the last 24 "
                                    "hours, by client, action (scim.user_create, …) and outcome (success, denied, "
                                    "failure).", labels=["client", "action", "outcome"])
        for label, action, outcome, n in (
                AuditEvent.objects.filter(occurred_at__gte=now - timedelta(seconds=self.SCIM_WINDOW_SECONDS),
                                          action__startswith="scim.", actor_label__in=list(clients))
                .values_list("actor_label", "action", "outcome").annotate(n=Count("pk")).order_by()):
            changes.add_metric([clients[label], action, outcome], n)
        yield changes
        last = GaugeMetricFamily("pim_scim_intake_last_request_age_seconds", "Time since a SCIM client last used "
                                 "one of its tokens (-1: never; bumped at most once a minute).", labels=["client"])
        resources = GaugeMetricFamily("pim_scim_intake_resources", "Users and groups a SCIM client provisioned and "
                                      "has not deleted, by kind.", labels=["client", "kind"])
        for name, used in (ScimClient.objects.order_by("name")
                           .annotate(used=Max("tokens__last_used_at")).values_list("name", "used")):
            last.add_metric([name], _age(now, used) if used else -1)
        for name, kind, n in (ScimResource.objects.values_list("client__name", "principal__kind")
                              .annotate(n=Count("pk")).order_by()):
            resources.add_metric([name, kind], n)
        yield from (last, resources)


def metrics_text() -> bytes:
    """The exposition text of one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(REQUEST_LATENCY)
    registry.register(PortalCollector())
    return generate_latest(registry)
