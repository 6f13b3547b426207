"""The page inventory of the browser tests follows the URL conf: every named URL is visited by a persona
or excluded with a reason, and every visited page answers 200 (or the status it means) to its persona, so
the browser tests look at the page, not at an error."""

import pytest
from django.test import Client

from tests.browser import every_page

pytestmark = pytest.mark.django_db


def test_every_named_url_is_visited_or_excluded():
    assert every_page.uncovered_url_names() == [], (
        "add these to VISITED (persona and path) or EXCLUDED (with the reason) in tests/browser/every_page.py")
    stale = sorted(set(every_page.VISITED) | set(every_page.EXCLUDED))
    assert [name for name in stale if name not in every_page.named_urls()] == []


def test_every_visited_page_answers_200_to_its_persona(directory):
    world = every_page.build_world()
    clients = {None: Client()}
    failures = []
    for persona, name, path in every_page.visits(world):
        if persona not in clients:
            clients[persona] = every_page.session_client(world.users[persona])
        response = clients[persona].get(path)
        if response.status_code != every_page.EXPECTED_STATUS.get(name, 200):
            failures.append(f"{name} {path} as {persona}: {response.status_code} {response.get('Location', '')}")
    assert failures == [], "\n".join(failures)
