"""The per-account limit of failed sign-ins (5 in 5 minutes) is one counter per account, whether the
attacker types the username, the email address or either in another case; a string that names no
account counts on its own."""

from django.urls import reverse


def _fail(client, login, times=1):
    for _ in range(times):
        client.post(reverse("account_login"), {"login": login, "password": "wrong-password-1"})


def _sign_in(client, login):
    response = client.post(reverse("account_login"), {"login": login, "password": "pw-for-tests-123"})
    return response, "_auth_user_id" in client.session


def test_five_failures_by_username_lock_out_the_email_address(client, directory):
    directory.user("frank.dubois", email="frank.dubois@contoso.example")
    _fail(client, "frank.dubois", times=5)
    response, signed_in = _sign_in(client, "frank.dubois@contoso.example")
    assert not signed_in
    assert b"Too many failed login attempts" in response.content


def test_failures_in_any_case_and_either_name_share_one_counter(client, directory):
    directory.user("frank.dubois", email="frank.dubois@contoso.example")
    _fail(client, "FRANK.DUBOIS", times=2)
    _fail(client, "Frank.Dubois@Contoso.Example", times=2)
    _fail(client, "frank.dubois", times=1)
    response, signed_in = _sign_in(client, "frank.dubois")
    assert not signed_in
    assert b"Too many failed login attempts" in response.content


def test_failures_on_a_name_nobody_has_do_not_lock_out_an_account(client, directory):
    directory.user("frank.dubois", email="frank.dubois@contoso.example")
    _fail(client, "frank.duboiz", times=5)
    response, _ = _sign_in(client, "frank.duboiz")
    assert b"Too many failed login attempts" in response.content
    _, signed_in = _sign_in(client, "frank.dubois")
    assert signed_in
