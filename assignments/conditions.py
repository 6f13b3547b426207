"""Activation conditions (the role of Conditional Access): trusted networks and allowed time windows.

Trusted networks: CIDR ranges, one per line. Time windows: one per line, `Mon-Fri 08:00-18:00` or
`Sat 10:00-12:00` or `08:00-18:00` (every day), in the zone the policy names (its
`allowed_time_windows_zone`, UTC unless set); a window may wrap past midnight.
"""

import ipaddress
import re
import zoneinfo
from datetime import datetime, time

from core.errors import DomainError, invalid

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WINDOW_RE = re.compile(
    r"^(?:(?P<d1>[A-Za-z]{3})(?:-(?P<d2>[A-Za-z]{3}))?\s+)?(?P<h1>\d{1,2}):(?P<m1>\d{2})-(?P<h2>\d{1,2}):(?P<m2>\d{2})$"
)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip() and not line.strip().startswith("#")]


def parse_trusted_networks(text: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for line in _lines(text):
        try:
            networks.append(ipaddress.ip_network(line, strict=False))
        except ValueError:
            raise invalid(f"'{line}' is not a network in CIDR notation (e.g. 10.0.0.0/8).", field="trusted_networks")
    return networks


def parse_time_windows(text: str) -> list[tuple[set[int], time, time]]:
    windows = []
    for line in _lines(text):
        match = WINDOW_RE.match(line)
        if not match:
            raise invalid(f"'{line}' is not a time window like 'Mon-Fri 08:00-18:00'.", field="allowed_time_windows")
        d1, d2 = (match["d1"] or "").lower(), (match["d2"] or "").lower()
        if d1 and d1 not in DAYS or d2 and d2 not in DAYS:
            raise invalid(f"'{line}': days are Mon, Tue, Wed, Thu, Fri, Sat, Sun.", field="allowed_time_windows")
        if not d1:
            days = set(range(7))
        elif not d2:
            days = {DAYS.index(d1)}
        else:
            first, last = DAYS.index(d1), DAYS.index(d2)
            days = {(first + i) % 7 for i in range(((last - first) % 7) + 1)}
        try:
            start = time(int(match["h1"]), int(match["m1"]))
            end = time(int(match["h2"]), int(match["m2"])) if match["h2"] != "24" else time(23, 59, 59, 999999)
        except ValueError:
            raise invalid(f"'{line}' has an impossible time.", field="allowed_time_windows")
        windows.append((days, start, end))
    return windows


def check_activation_conditions(*, trusted_networks: str, allowed_time_windows: str, client_ip: str | None,
                                at: datetime, time_zone: str = "UTC") -> None:
    """Raise DomainError (forbidden) unless the client address and the time satisfy the policy."""
    networks = parse_trusted_networks(trusted_networks)
    if networks:
        try:
            address = ipaddress.ip_address(client_ip or "")
        except ValueError:
            raise DomainError("This role can only be activated from a trusted network, and your address is unknown.",
                              code="forbidden")
        if not any(address in network for network in networks):
            raise DomainError(f"This role can only be activated from a trusted network; {address} is not one.",
                              code="forbidden")
    windows = parse_time_windows(allowed_time_windows)
    if windows:
        local = at.astimezone(zoneinfo.ZoneInfo(time_zone or "UTC"))
        weekday, now_time = local.weekday(), local.time()
        for days, start, end in windows:
            if start <= end and weekday in days and start <= now_time <= end:
                return
            if start > end and (  # wraps midnight: the part after midnight belongs to the previous day
                (weekday in days and now_time >= start) or ((weekday - 1) % 7 in days and now_time <= end)
            ):
                return
        raise DomainError("This role can only be activated during its allowed time windows: "
                          + "; ".join(_lines(allowed_time_windows)) + f" ({time_zone or 'UTC'}).", code="forbidden")
