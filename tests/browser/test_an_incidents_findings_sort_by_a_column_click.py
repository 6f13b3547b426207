"""An incident lists what it affects in a table whose columns sort on a click (again to reverse), and
the header says the order to assistive technology (aria-sort)."""

import pytest
from django.urls import reverse

from alerts.models import Incident
from alerts.services import alert_evaluate
from assignments.models import User
from core.actors import Actor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KEY = "stale_accounts_in_privileged_roles"
PRINCIPALS = """() => [...document.querySelectorAll("table[data-sortable] tbody tr")]
  .map(row => row.querySelector("td[data-label=Principal]").textContent.trim())"""


def test_findings_sort_by_principal_both_ways(directory, new_page, sign_in):
    for name in ("carla", "anna", "bert"):
        user = directory.user(name)
        directory.grant(user, "user-administrator")
        User.objects.filter(pk=user.pk).update(last_login=None, date_joined="2020-01-01T00:00:00Z")
    alert_evaluate(key=KEY, actor=Actor.system("alerts-evaluate"))
    incident = Incident.objects.get(alert_key=KEY, status=Incident.Status.OPEN)
    directory.grant(directory.user("admin"), "global-administrator")

    page = new_page()
    sign_in(page, "admin")
    page.goto(reverse("alerts:incident", args=[incident.pk]))
    header = page.locator("table[data-sortable] th", has=page.locator("button.sort", has_text="Principal"))

    header.locator("button.sort").click()
    assert header.get_attribute("aria-sort") == "ascending"
    ascending = page.evaluate(PRINCIPALS)
    assert [name.split()[0] for name in ascending] == ["Anna", "Bert", "Carla"], ascending

    header.locator("button.sort").click()
    assert header.get_attribute("aria-sort") == "descending"
    assert page.evaluate(PRINCIPALS) == ascending[::-1]
