"""Justification and ticket checks of a role's request rules: pure pattern checks a form can run early,
and the ticket endpoint call (a GET on the network, under the portal's outbound URL policy: the name is
resolved, every address checked and the connection pinned to the checked one)."""

import re
from urllib.parse import quote

import httpx
from django.conf import settings

from core.errors import FieldErrors, invalid
from provisioning.outbound import OutboundAddressRefused, PinnedTransport
from provisioning.urlpolicy import outbound_url_problem

TICKET_PLACEHOLDER = "{ticket}"


def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` is not a usable regular expression, or None."""
    if not pattern:
        return None
    try:
        re.compile(pattern)
    except re.error as error:
        return f"That is not a regular expression: {error}."
    return None


def ticket_endpoint_problem(url: str) -> str | None:
    if not url:
        return None
    if TICKET_PLACEHOLDER not in url:
        return f"Put {TICKET_PLACEHOLDER} in the URL where the ticket number goes."
    return outbound_url_problem(url.replace(TICKET_PLACEHOLDER, "T-1"))


def _hinted(message: str, hint: str) -> str:
    return f"{message} {hint}".strip() if hint else message


def justification_and_ticket_check(*, rules, justification: str, ticket_number: str, role_name: str) -> None:
    """Every pattern mistake at once (FieldErrors): the justification's length and pattern, the
    ticket number's pattern. `rules` is a `RequestRules` (or None: nothing to check)."""
    if rules is None:
        return
    found = FieldErrors()
    if justification or rules.justification_min_length:
        if len(justification) < rules.justification_min_length:
            found.add("justification", _hinted(
                f"The policy of {role_name} asks for a justification of at least {rules.justification_min_length} "
                f"characters (this one has {len(justification)}).", rules.justification_hint))
        elif rules.justification_pattern and not re.fullmatch(rules.justification_pattern, justification):
            found.add("justification", _hinted(
                f"The justification does not have the form the policy of {role_name} asks for.",
                rules.justification_hint))
    if ticket_number and rules.ticket_pattern and not re.fullmatch(rules.ticket_pattern, ticket_number):
        found.add("ticket_number", _hinted(
            f"{ticket_number} is not a ticket number of the form the policy of {role_name} asks for.",
            rules.ticket_hint))
    found.raise_if_any()


def ticket_endpoint_check(*, url_template: str, ticket_number: str, transport: httpx.BaseTransport | None = None
                          ) -> None:
    """GET the ticket endpoint with the number: 2xx is a known ticket; 404 an unknown one; anything
    else (another status, a time-out, a refused address) a clear error. All refusals are on
    `ticket_number`, so forms show them there and the API answers 400."""
    url = url_template.replace(TICKET_PLACEHOLDER, quote(ticket_number, safe=""))
    problem = outbound_url_problem(url)
    if problem:
        raise invalid(f"The ticket system cannot be asked: {problem}", field="ticket_number")
    timeout = settings.PIM_TICKET_CHECK_TIMEOUT_SECONDS
    try:
        with httpx.Client(transport=PinnedTransport(transport), timeout=timeout, follow_redirects=False,
                          trust_env=False, headers={"Accept": "application/json"}) as client:
            response = client.get(url)
    except OutboundAddressRefused as error:
        raise invalid(f"The ticket system cannot be asked: {error}", field="ticket_number")
    except httpx.TimeoutException:
        raise invalid(f"The ticket system did not answer within {timeout:g} seconds; ticket {ticket_number} "
                      "could not be checked. Try again.", field="ticket_number")
    except httpx.HTTPError as error:
        raise invalid(f"The ticket system could not be reached ({error}); ticket {ticket_number} could not be "
                      "checked. Try again.", field="ticket_number")
    if 200 <= response.status_code < 300:
        return
    if response.status_code == 404:
        raise invalid(f"The ticket system does not know ticket {ticket_number}.", field="ticket_number")
    raise invalid(f"The ticket system answered HTTP {response.status_code} for ticket {ticket_number}; it could not "
                  "be checked. Try again, or ask the ticket system's administrators.", field="ticket_number")
