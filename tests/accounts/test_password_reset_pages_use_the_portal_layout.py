"""The reset pages are the portal's: its layout and stylesheet, labelled fields, no allauth default markup."""

from django.urls import reverse


def test_each_page_is_in_the_portal_layout(client, db, settings):
    settings.PIM_PASSWORD_RESET = True
    for url, text in ((reverse("account_reset_password"), "Reset your password"),
                      (reverse("account_reset_password_done"), "Check your mailbox"),
                      (reverse("account_reset_password_from_key", kwargs={"uidb36": "zz", "key": "nope-nope"}),
                       "This link no longer works"),
                      (reverse("account_reset_password_from_key_done"), "Password changed")):
        response = client.get(url)
        page = response.content.decode()
        assert response.status_code == 200, url
        assert "portal.css" in page and text in page, url
        assert "<title>" in page and text in page.split("<title>", 1)[1].split("</title>", 1)[0], url
    page = client.get(reverse("account_reset_password")).content.decode()
    assert '<label for="id_email">Email address</label>' in page
