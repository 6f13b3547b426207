import re

from django.contrib.staticfiles import finders


def test_schema_lists_every_operation_with_the_error_body(client, directory):
    client.force_login(directory.user("reader"))
    response = client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path in ["/api/v1/check", "/api/v1/ping", "/api/v1/assignments/", "/api/v1/requests/",
                 "/api/v1/approvals/{id}/approve/", "/api/v1/audit/events.csv", "/api/v1/role-settings/"]:
        assert path in paths, path
    create = paths["/api/v1/requests/"]["post"]
    assert {"201", "400", "401", "403", "409", "429"} <= set(create["responses"])
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_docs_page_loads_only_local_assets(client, directory):
    client.force_login(directory.user("reader"))
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources
    for source in sources:
        assert not source.startswith(("http://", "https://", "//")), source
    for asset in ["api/swagger-ui-bundle.js", "api/swagger-ui.css", "api/docs.js"]:
        assert f"/static/{asset}" in html
        assert finders.find(asset), asset
    bundle = open(finders.find("api/swagger-ui-bundle.js"), encoding="utf-8").read()
    assert "sourceMappingURL" not in bundle  # the manifest storage would fail on a missing .map
