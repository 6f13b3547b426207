from django.urls import reverse


def test_admin_sees_the_admin_entries_and_a_requester_does_not(directory, requester, pra_client, login):
    admin_nav = pra_client.get("/").content.decode()
    for name in ("assignments:list", "assignments:role_settings", "assignments:principals"):
        assert f'href="{reverse(name)}"' in admin_nav
    requester_nav = login(requester).get("/").content.decode()
    for name in ("assignments:list", "assignments:role_settings", "assignments:principals"):
        assert f'href="{reverse(name)}"' not in requester_nav
