"""The two read-only reports of the security pages are in the API too: the emergency access accounts
checked against the recommendations (directory viewers) and the dashboard figures (administrators);
others, and service principals, are refused."""


def test_directory_viewers_read_the_emergency_access_report(world, admin_p, auditor_p, requester_p, sp_p):
    for persona in (admin_p, auditor_p):
        report = persona.client().get("/api/v1/emergency-access/")
        assert report.status_code == 200, report.json()
        body = report.json()
        assert [a["username"] for a in body["accounts"]] == ["breakglass1", "breakglass2"]
        assert all(a["holds_global_administrator"] and a["global_administrator_until"] is None
                   for a in body["accounts"])
        assert body["all_ok"] is True and all(c["ok"] for c in body["checks"])
    for persona in (requester_p, sp_p):
        assert persona.client().get("/api/v1/emergency-access/").status_code == 403


def test_administrators_read_the_dashboard_figures_over_what_they_may_see(world, admin_p, requester_p, sp_p):
    figures = admin_p.client().get("/api/v1/dashboard/")
    assert figures.status_code == 200, figures.json()
    body = figures.json()
    assert body["totals"]["eligible"] >= 2 and body["totals"]["active"] >= 1  # the world's assignments
    assert {"label", "count"} <= set(body["by_type"][0])
    assert body["pending_approvals"] >= 0
    for persona in (requester_p, sp_p):
        assert persona.client().get("/api/v1/dashboard/").status_code == 403
