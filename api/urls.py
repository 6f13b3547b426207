from django.urls import path, re_path

from . import pages, views

app_name = "api"
urlpatterns = [
    path("ping", views.PingView.as_view(), name="ping"),
    path("check", views.CheckView.as_view(), name="check"),
    path("roles/", views.RoleDefinitionList.as_view(), name="roles"),
    path("scopes/", views.ScopeList.as_view(), name="scopes"),
    path("principals/", views.PrincipalList.as_view(), name="principals"),
    path("role-settings/", views.RoleSettingList.as_view(), name="role-settings"),
    path("assignments/", views.AssignmentList.as_view(), name="assignments"),
    path("assignments/<str:pk>/", views.AssignmentDetail.as_view(), name="assignment"),
    path("requests/", views.RequestList.as_view(), name="requests"),
    path("requests/<str:pk>/", views.RequestDetail.as_view(), name="request"),
    path("requests/<str:pk>/cancel/", views.RequestCancel.as_view(), name="request-cancel"),
    path("approvals/", views.ApprovalList.as_view(), name="approvals"),
    path("approvals/approve/", views.ApprovalApproveMany.as_view(), name="approvals-approve"),
    path("approvals/<str:pk>/approve/", views.ApprovalApprove.as_view(), name="approval-approve"),
    path("approvals/<str:pk>/deny/", views.ApprovalDeny.as_view(), name="approval-deny"),
    path("audit/events/", views.AuditEventList.as_view(), name="audit-events"),
    path("audit/events.csv", views.AuditEventCsv.as_view(), name="audit-events-csv"),
    path("device/authorize", views.DeviceAuthorize.as_view(), name="device-authorize"),
    path("device/token", views.DeviceToken.as_view(), name="device-token"),
    path("device/", pages.device, name="device"),
    path("schema/", views.SchemaView.as_view(), name="schema"),
    path("docs/", pages.docs, name="docs"),
    path("tokens/", pages.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", pages.token_revoke, name="token-revoke"),
    # Anything else under /api/v1/: a JSON 404 in the API's error body, not the portal's HTML page.
    re_path(r"^.*$", views.unknown_endpoint),
]
