"""The audit log's reading side: the auditor pages, "My audit", the one FilterSet, keyset pages and the
one CSV exporter (shared with `GET /api/v1/audit/events.csv`).

Who sees which events depends on their assignments (`assignments.selectors`), so this app sits above
`assignments`, while the log itself, its chain and its write path (`audit`) sit below every app that
records events. It has no models: it reads `audit.models.AuditEvent`.
"""
