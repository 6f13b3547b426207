"""Behind a reverse proxy every request comes from the proxy's address. allauth's per-address limits
(10 failed sign-ins a minute, 30 sign-ins a minute) count the client behind it (PIM_TRUSTED_PROXIES),
so one noisy client does not lock out everyone else, and a forged X-Forwarded-For does not escape."""

from django.test import override_settings
from django.urls import reverse

PROXY = "10.0.0.2"


def _post(client, login, password, client_ip, forged=""):
    return client.post(reverse("account_login"), {"login": login, "password": password},
                       REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"{forged}{client_ip}")


@override_settings(PIM_TRUSTED_PROXIES=1)
def test_ten_failures_from_one_client_leave_the_others_alone(client, directory, requester):
    for number in range(10):  # a different login each time: the per-account limit stays out of it
        forged = f"198.51.100.{number}, "  # a new forged leftmost hop each time does not help
        _post(client, f"nobody{number}", "wrong-password-1", "203.0.113.5", forged=forged)
    blocked = _post(client, "requester", "pw-for-tests-123", "203.0.113.5")
    assert b"Too many failed login attempts" in blocked.content
    assert "_auth_user_id" not in client.session
    other = _post(client, "requester", "pw-for-tests-123", "203.0.113.6")
    assert other.status_code == 302 and "_auth_user_id" in client.session
