"""scim2-tester (PyPI), the python-scim project's compliance checker, runs every check it has against
the live `/scim/v2/` endpoint (pytest-django's live server: a real HTTP server in this process):
discovery, create, read, list, attributes/excludedAttributes, replace, delete, and PATCH add, remove
and replace of every attribute the server publishes. None may fail."""

import httpx
from scim2_models import ScimProvider
from scim2_tester import Status, check_server

from provisioning.scim_protocol import HttpxSCIMClient
from tests.conftest import Directory

from .conftest import make_client


def test_scim2_tester_finds_no_failed_check(transactional_db, live_server):
    Directory()
    _, token = make_client()
    http = httpx.Client(base_url=f"{live_server.url}/scim/v2/", trust_env=False, timeout=30,
                        headers={"Authorization": f"Bearer {token}", "Accept": "application/scim+json"})
    try:
        # An empty provider: the checker discovers the server from what its endpoints publish.
        results = check_server(HttpxSCIMClient(http, provider=ScimProvider()), raise_exceptions=False)
    finally:
        http.close()
    failed = [f"{result.title}: {result.reason}" for result in results
              if result.status not in (Status.SUCCESS, Status.SKIPPED)]
    assert not failed, "\n".join(failed)
    succeeded = [result for result in results if result.status == Status.SUCCESS]
    skipped = [f"{result.title}: {result.reason}" for result in results if result.status == Status.SKIPPED]
    print(f"scim2-tester: {len(succeeded)} succeeded, {len(skipped)} skipped", *skipped, sep="\n  ")
    # The run did reach the resources (a server that publishes nothing would "fail" nothing).
    assert len(succeeded) > 40, [f"{r.title}: {r.status} {r.reason}" for r in results]
