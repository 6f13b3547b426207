"""A real OpenID provider for single sign-on tests: django-oauth-toolkit's, in a second process
(tests/oidc_provider), on 127.0.0.1 and a free port, registered with the portal's live server as a
confidential client. Tests sign in through it with httpx, as a browser would: the portal's SSO button,
the provider's sign-in form and consent form, the callback (code flow with PKCE).
"""

import json
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_ID = "corp"
CLIENT_ID, CLIENT_SECRET = "pim-portal", "pim-portal-secret-for-tests"
PASSWORD = "idp-password-for-tests"


class Forms(HTMLParser):
    """The forms of a page: action and the fields a browser would post (a submit button only when named)."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action") or "", "method": (attrs.get("method") or "get").lower(),
                               "fields": {}, "submits": {}})
        elif tag in ("input", "button") and self.forms and attrs.get("name"):
            kind = (attrs.get("type") or ("submit" if tag == "button" else "text")).lower()
            bucket = "submits" if kind == "submit" else "fields"
            self.forms[-1][bucket][attrs["name"]] = attrs.get("value") or ""


def page_form(response: httpx.Response, *, having: str) -> tuple[str, dict]:
    """The page's form with a field or button named `having`: its absolute action and its fields."""
    parser = Forms()
    parser.feed(response.text)
    for form in parser.forms:
        if having in form["fields"] or having in form["submits"]:
            return urljoin(str(response.url), form["action"] or str(response.url)), form
    raise AssertionError(f"no form with {having!r} at {response.url} ({response.status_code}):\n{response.text[:2000]}")


@dataclass
class SignIn:
    response: httpx.Response  # the portal's last answer
    authorize_urls: list[str] = field(default_factory=list)  # every request to the provider's authorize endpoint
    client: httpx.Client | None = None


@dataclass
class IdentityProvider:
    directory: Path
    issuer: str
    portal_url: str
    process: subprocess.Popen
    people: dict = field(default_factory=dict)
    clients: list[httpx.Client] = field(default_factory=list)

    def person(self, username: str, **claims) -> None:
        """Make the provider know `username` (password PASSWORD) with these claims (sub is its own)."""
        self.people[username] = {"password": PASSWORD, "claims": claims}
        self._write()

    def _write(self) -> None:
        redirect = f"{self.portal_url}/accounts/oidc/{PROVIDER_ID}/login/callback/"
        (self.directory / "people.json").write_text(json.dumps(
            {"people": self.people, "client": {"id": CLIENT_ID, "secret": CLIENT_SECRET, "redirect_uri": redirect}}))

    def portal_settings(self, **policy) -> dict:
        """The portal's SOCIALACCOUNT_PROVIDERS for this provider, as pim_portal/settings.py builds it."""
        return {"openid_connect": {"APPS": [{
            "provider_id": PROVIDER_ID, "name": "Corp SSO", "client_id": CLIENT_ID, "secret": CLIENT_SECRET,
            "settings": {"server_url": self.issuer, "oauth_pkce_enabled": True,
                         "scope": ["openid", "profile", "email", "groups"], **policy}}]}}

    def sign_in(self, username: str, *, password: str = PASSWORD) -> SignIn:
        """Press the portal's SSO button, sign in at the provider, consent, come back to the portal."""
        authorize_urls: list[str] = []

        def seen(request: httpx.Request) -> None:
            if str(request.url).startswith(f"{self.issuer}/authorize"):
                authorize_urls.append(str(request.url))

        client = httpx.Client(follow_redirects=True, timeout=30, event_hooks={"request": [seen]})
        self.clients.append(client)  # closed after the test: an open keep-alive connection holds a live
        # server thread, and with it a database connection that would outlive the test database
        start = client.get(f"{self.portal_url}/accounts/oidc/{PROVIDER_ID}/login/")
        action, form = page_form(start, having="csrfmiddlewaretoken")
        login_page = client.post(action, data=form["fields"])
        action, form = page_form(login_page, having="password")
        consent = client.post(action, data={**form["fields"], "username": username, "password": password})
        action, form = page_form(consent, having="allow")
        back = client.post(action, data={**form["fields"], "allow": form["submits"]["allow"]})
        return SignIn(response=back, authorize_urls=authorize_urls, client=client)


def _start(directory: Path) -> tuple[subprocess.Popen, int]:
    env = {key: value for key, value in os.environ.items() if key not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    log = (directory / "idp.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "tests.oidc_provider.serve", str(directory)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=log, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 1)
        if ready:
            line = process.stdout.readline()
            if line.startswith("READY "):
                return process, int(line.split()[1])
        if process.poll() is not None:
            break
    process.kill()
    raise AssertionError(f"the test identity provider did not start:\n{(directory / 'idp.log').read_text()[-4000:]}")


@pytest.fixture(scope="module")
def _provider_process(live_server, tmp_path_factory):
    directory = tmp_path_factory.mktemp("idp")
    provider = IdentityProvider(directory=directory, issuer="", portal_url=live_server.url, process=None)
    provider._write()  # the client registration, before it starts
    process, port = _start(directory)
    provider.process, provider.issuer = process, f"http://127.0.0.1:{port}/o"
    yield provider
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    process.stdout.close()


@pytest.fixture
def identity_provider(_provider_process, settings, live_server):
    """The running provider, knowing nobody yet; the portal configured for it (no JIT, no groups)."""
    _provider_process.people = {}
    _provider_process._write()
    settings.SOCIALACCOUNT_PROVIDERS = _provider_process.portal_settings()
    yield _provider_process
    while _provider_process.clients:
        _provider_process.clients.pop().close()
