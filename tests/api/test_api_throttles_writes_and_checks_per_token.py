import pytest
from rest_framework.throttling import SimpleRateThrottle


@pytest.fixture
def tight_rates(monkeypatch):
    rates = {"api_write": "2/min", "api_check": "3/min"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    return rates


def test_check_is_throttled_per_token(world, tight_rates, auditor_p, sp_p):
    params = {"principal": auditor_p.principal.pk, "role": "global-reader"}
    client = auditor_p.client()
    codes = [client.get("/api/v1/check", params).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    throttled = client.get("/api/v1/check", params)
    assert throttled.json()["error"]["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0
    # Another token has its own budget.
    own = {"principal": sp_p.principal.pk, "role": "user-access-administrator", "scope": "/subscriptions/s1"}
    assert sp_p.client().get("/api/v1/check", own).status_code == 200


def test_writes_are_throttled_but_reads_are_not(world, tight_rates, requester_p):
    client = requester_p.client()
    codes = [client.post("/api/v1/requests/", {"action": "self_activate"}, format="json").status_code
             for _ in range(3)]
    assert codes == [400, 400, 429]
    assert all(client.get("/api/v1/roles/").status_code == 200 for _ in range(5))

