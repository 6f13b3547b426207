from django.urls import path, re_path

from . import connectors, directory_views, pages, views

app_name = "api"
urlpatterns = [
    path("ping", views.PingView.as_view(), name="ping"),
    path("check", views.CheckView.as_view(), name="check"),
    path("roles/", directory_views.RoleListCreate.as_view(), name="roles"),
    path("roles/<str:pk>/", directory_views.RoleDetail.as_view(), name="role"),
    path("scopes/", directory_views.ScopeListCreate.as_view(), name="scopes"),
    path("scopes/<str:pk>/", directory_views.ScopeDetail.as_view(), name="scope"),
    path("users/", directory_views.UserCreate.as_view(), name="users"),
    path("users/<str:pk>/", directory_views.UserDetail.as_view(), name="user"),
    path("directory/import/", directory_views.DirectoryImport.as_view(), name="directory-import"),
    path("directory/export/", directory_views.DirectoryExport.as_view(), name="directory-export"),
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
    path("connectors/targets/", connectors.TargetList.as_view(), name="connector-targets"),
    path("connectors/targets/<str:pk>/", connectors.TargetDetail.as_view(), name="connector-target"),
    path("connectors/targets/<str:pk>/test/", connectors.TargetTest.as_view(), name="connector-target-test"),
    path("connectors/targets/<str:pk>/reconcile/", connectors.TargetReconcile.as_view(),
         name="connector-target-reconcile"),
    path("connectors/targets/<str:pk>/mappings/", connectors.MappingList.as_view(), name="connector-mappings"),
    path("connectors/targets/<str:pk>/effects/", connectors.EffectList.as_view(), name="connector-effects"),
    path("connectors/targets/<str:pk>/drift/", connectors.DriftList.as_view(), name="connector-drift"),
    path("schema/", views.SchemaView.as_view(), name="schema"),
    path("docs/", pages.docs, name="docs"),
    path("tokens/", pages.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", pages.token_revoke, name="token-revoke"),
    # Anything else under /api/v1/: a JSON 404 in the API's error body, not the portal's HTML page.
    re_path(r"^.*$", views.unknown_endpoint),
]
