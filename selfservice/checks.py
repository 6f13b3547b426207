"""Justification and ticket checks of a role's request rules: pure pattern checks a form can run early,
and the ticket endpoint call (a GET on the network, under the portal's outbound URL policy: the name is
resolved, every address checked and the connection pinned to the checked one).

Patterns are typed by administrators, so they are matched by the `regex` package with a time limit
(PIM_PATTERN_MATCH_TIMEOUT_SECONDS): a pattern that backtracks catastrophically gives a clear error,
never a hung worker. On save a pattern is compiled, held to MAX_PATTERN_LENGTH and tried on a few
probes that make such patterns blow up, so most never get saved."""

import functools
from urllib.parse import quote

import httpx
import regex
from django.conf import settings

from core.errors import FieldErrors, invalid
from provisioning.outbound import OutboundAddressRefused, PinnedTransport
from provisioning.urlpolicy import outbound_url_problem

TICKET_PLACEHOLDER = "{ticket}"


MAX_PATTERN_LENGTH = 300
# Long runs of one kind of character, then one that breaks the match: what makes nested or overlapping
# repetitions ((a|aa)+, (\w+\s?)*) backtrack exponentially.
_PROBES = tuple(run * 40 + "!" for run in ("a", "A", "1", " ", "-", "a1", "a "))


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str):
    return regex.compile(pattern, regex.VERSION0)


def _timeout() -> float:
    return settings.PIM_PATTERN_MATCH_TIMEOUT_SECONDS


def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` is not a usable regular expression, or None: it must compile, be at most
    MAX_PATTERN_LENGTH characters, and match (or not) every probe within the time limit."""
    if not pattern:
        return None
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"Keep the pattern to {MAX_PATTERN_LENGTH} characters (this one has {len(pattern)})."
    try:
        compiled = _compiled(pattern)
    except (regex.error, ValueError, OverflowError) as error:
        return f"That is not a regular expression: {error}."
    for probe in _PROBES:
        try:
            compiled.fullmatch(probe, timeout=_timeout())
        except TimeoutError:
            return ("That pattern takes too long to match (it backtracks catastrophically, as nested repetitions "
                    "like (a|aa)+ or (\\w+\\s?)* do): write it without repeating a repetition.")
    return None


def pattern_fullmatch(pattern: str, value: str, *, field: str, what: str) -> bool:
    """Does the whole of `value` match `pattern`, within the time limit? A pattern that runs out of time
    (or no longer compiles) refuses with a clear error on `field`; `what` names the pattern."""
    timeout = _timeout()
    try:
        return _compiled(pattern).fullmatch(value, timeout=timeout) is not None
    except TimeoutError:
        raise invalid(f"This value could not be checked: {what} took longer than {timeout:g} seconds on it. Ask the "
                      "role's administrators to simplify the pattern.", field=field)
    except (regex.error, ValueError, OverflowError) as error:
        raise invalid(f"This value could not be checked: {what} is not a valid pattern ({error}). Ask the role's "
                      "administrators to correct it.", field=field)


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
        elif rules.justification_pattern and not pattern_fullmatch(
                rules.justification_pattern, justification, field="justification",
                what=f"the justification pattern of {role_name}"):
            found.add("justification", _hinted(
                f"The justification does not have the form the policy of {role_name} asks for.",
                rules.justification_hint))
    if ticket_number and rules.ticket_pattern and not pattern_fullmatch(
            rules.ticket_pattern, ticket_number, field="ticket_number", what=f"the ticket pattern of {role_name}"):
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
