"""`/metrics` answers the Prometheus text format to a scraper on an allowed network or with the token,
and 403 to anyone else; the request latency histogram is labelled by view, never by raw path."""

import pytest
from prometheus_client.parser import text_string_to_metric_families


def families(response) -> dict:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {family.name: family for family in text_string_to_metric_families(response.content.decode())}


def samples(family, name=None, **labels):
    return [s.value for s in family.samples
            if (name is None or s.name == name) and all(s.labels.get(k) == v for k, v in labels.items())]


@pytest.mark.django_db
def test_loopback_scrapes_without_a_token_and_other_networks_are_refused(client, settings):
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    refused = client.get("/metrics", REMOTE_ADDR="203.0.113.7")
    assert refused.status_code == 403
    assert b"PIM_METRICS_TOKEN" in refused.content
    settings.PIM_METRICS_ALLOWED_NETWORKS = ["203.0.113.0/24"]
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


@pytest.mark.django_db
def test_a_token_opens_it_from_anywhere_and_a_wrong_one_does_not(client, settings):
    settings.PIM_METRICS_TOKEN = "scrape-secret-0123456789"
    settings.PIM_METRICS_ALLOWED_NETWORKS = []
    outside = {"REMOTE_ADDR": "198.51.100.4"}
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-0123456789", **outside).status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-012345678", **outside).status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Basic scrape-secret-0123456789", **outside).status_code == 403
    assert client.get("/metrics", **outside).status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-0123456789",
                      REMOTE_ADDR="127.0.0.1").status_code == 200


@pytest.mark.django_db
def test_request_latency_is_counted_by_view_method_and_status(client):
    before = families(client.get("/metrics"))["pim_http_request_duration_seconds"]
    count = samples(before, "pim_http_request_duration_seconds_count", view="operations:healthz", status="200")
    client.get("/healthz")
    client.get("/healthz")
    client.get("/no/such/page/4711")
    after = families(client.get("/metrics"))["pim_http_request_duration_seconds"]
    [now] = samples(after, "pim_http_request_duration_seconds_count", view="operations:healthz", method="GET",
                    status="200")
    assert now == (count[0] if count else 0) + 2
    assert samples(after, "pim_http_request_duration_seconds_count", view="unmatched", status="404")
    assert not any("4711" in str(s.labels) for s in after.samples)


@pytest.mark.django_db
def test_responses_name_the_requests_correlation_id(client):
    response = client.get("/healthz")
    assert len(response["X-Correlation-ID"]) == 36
    assert client.get("/healthz")["X-Correlation-ID"] != response["X-Correlation-ID"]
