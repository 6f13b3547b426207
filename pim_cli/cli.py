"""The `pim` command: sign in with a device code in the browser (where the MFA step-up happens), list
your roles, activate with a justification and a duration, deactivate, list and decide approvals, check.

Exit status: 0 done (for `check`: allowed), 1 refused or failed (the portal's message is printed),
2 wrong usage, 3 `check` answered "not allowed"."""

import argparse
import json
import os
import re
import socket
import sys
import time
import webbrowser
from datetime import datetime

from . import __version__
from .client import ApiError, Client
from .config import Credentials, credentials_delete, credentials_load, credentials_path, credentials_save

DURATION = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m?)?$")


class UsageError(Exception):
    pass


def parse_duration(text: str) -> int:
    """Minutes in "1h30m", "2h", "45m" or "45"."""
    match = DURATION.match(text.strip().lower())
    if not text.strip() or not match or not (match["h"] or match["m"]):
        raise UsageError(f"{text!r} is not a duration: use 1h30m, 2h, 45m or a number of minutes.")
    minutes = int(match["h"] or 0) * 60 + int(match["m"] or 0)
    if minutes <= 0:
        raise UsageError("The duration must be more than 0 minutes.")
    return minutes


def _when(text: str | None) -> str:
    if not text:
        return "permanent"
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return value.astimezone().strftime("%Y-%m-%d %H:%M %Z")


def _out(args, data, lines) -> None:
    if args.json:
        print(json.dumps(data, indent=2, default=str))
    else:
        for line in lines:
            print(line)


def _client(args) -> Client:
    credentials = credentials_load()
    server = args.server or os.environ.get("PIM_SERVER") or (credentials.server if credentials else None)
    if credentials is None or (args.server and args.server.rstrip("/") != credentials.server):
        raise ApiError(401, "Not signed in" + (f" to {server}" if server else "") + ": run `pim login"
                       + (f" --server {server}" if server else " --server https://pim.example.com") + "`.")
    return Client(credentials.server, credentials.token, verify=_verify())


def _verify() -> bool | str:
    return os.environ.get("PIM_CA_BUNDLE") or True


# --- Commands ---------------------------------------------------------------------------------------


def cmd_login(args) -> int:
    server = (args.server or os.environ.get("PIM_SERVER") or "").rstrip("/")
    if not server:
        raise UsageError("Give the portal's address: pim login --server https://pim.example.com")
    client = Client(server, verify=_verify())
    name = args.name or f"{os.environ.get('USER') or 'someone'}@{socket.gethostname()}"
    started = client.post("device/authorize", {"client_name": name})
    print(f"To sign in, open {started['verification_uri_complete']}", flush=True)
    print(f"and check that it shows the code {started['user_code']}; sign in, verify with your authenticator "
          f"and approve.", flush=True)
    if not args.no_browser:
        try:
            webbrowser.open(started["verification_uri_complete"])
        except webbrowser.Error:
            pass
    interval = max(1, int(started.get("interval", 5)))
    deadline = time.monotonic() + int(started.get("expires_in", 600))
    while time.monotonic() < deadline:
        time.sleep(interval)
        try:
            answer = client.post("device/token", {"device_code": started["device_code"]})
        except ApiError as error:
            if error.code == "authorization_pending":
                continue
            if error.code == "slow_down":
                interval += 5
                continue
            raise
        path = credentials_save(Credentials(server=server, token=answer["access_token"],
                                            expires_at=answer["expires_at"],
                                            mfa_verified_at=answer.get("mfa_verified_at")))
        me = Client(server, answer["access_token"], verify=_verify()).get("ping")
        print(f"Signed in to {server} (principal {me['principal']}) until {_when(answer['expires_at'])}; "
              f"credentials in {path}.")
        return 0
    raise ApiError(400, "The code expired before it was approved: run `pim login` again.", "expired_token")


def cmd_logout(args) -> int:
    print("Signed out (credentials deleted)." if credentials_delete() else "Not signed in.")
    print("The token stays valid until it expires unless you revoke it on the portal's API tokens page.")
    return 0


def _me(client: Client) -> int:
    return client.get("ping")["principal"]


def _mine(client: Client) -> list[dict]:
    principal = _me(client)
    return [a for a in client.pages("assignments/", principal=principal, page_size=500) if a["status"] == "live"]


def cmd_roles(args) -> int:
    client = _client(args)
    mine = _mine(client)
    eligible = [a for a in mine if a["kind"] == "eligible"]
    active = [a for a in mine if a["kind"] == "active"]
    lines = ["Eligible (activate with `pim activate ROLE`):"]
    lines += [f"  {a['role_slug']:<34} {a['scope_path']:<40} until {_when(a['end_at'])}" for a in eligible] or [
        "  none"]
    lines.append("Active:")
    lines += [f"  {a['role_slug']:<34} {a['scope_path']:<40} until {_when(a['end_at'])}"
              f"{'' if a['activated_from'] else '  (assigned)'}" for a in active] or ["  none"]
    _out(args, {"eligible": eligible, "active": active}, lines)
    return 0


def _matches(assignment: dict, role: str) -> bool:
    return role.isdigit() and assignment["id"] == int(role) or assignment["role_slug"] == role or \
        assignment["role_name"].lower() == role.lower()


def _one(candidates: list[dict], what: str) -> dict:
    if not candidates:
        raise ApiError(404, f"You have no {what}.")
    if len(candidates) > 1:
        listed = ", ".join(f"#{a['id']} at {a['scope_path']}" for a in candidates)
        raise UsageError(f"Several {what}s match: {listed}. Name one by its id, or give --scope.")
    return candidates[0]


def cmd_activate(args) -> int:
    client = _client(args)
    eligible = [a for a in _mine(client) if a["kind"] == "eligible" and _matches(a, args.role)]
    if args.scope:
        eligible = [a for a in eligible if args.scope == a["scope_path"] or a["scope_path"] == "/" or
                    args.scope.startswith(a["scope_path"].rstrip("/") + "/")]
    target = _one(eligible, f"eligible assignment of {args.role}")
    body = {"action": "self_activate", "assignment": target["id"], "duration_minutes": parse_duration(args.duration),
            "justification": args.justification or ""}
    if args.scope:
        body["scope"] = args.scope
    if args.start:
        body["start_at"] = args.start
    if args.ticket:
        system, _, number = args.ticket.partition(":")
        if not number:
            raise UsageError("Give the ticket as SYSTEM:NUMBER, e.g. --ticket ServiceNow:INC0012345.")
        body.update(ticket_system=system, ticket_number=number)
    result = client.post("requests/", body)
    request = result.get("request") or {}
    status = request.get("status")
    if status == "pending_approval":
        line = (f"Requested {target['role_slug']}: waiting for approval ({request['approvals_required']} needed, "
                f"until {_when(request['approval_deadline'])}). Request {request['id']}.")
    elif status == "scheduled":
        line = f"Scheduled {target['role_slug']} from {_when(request['start_at'])}. Request {request['id']}."
    else:
        assignment = result.get("assignment") or {}
        line = (f"Activated {target['role_slug']} at {assignment.get('scope_path', target['scope_path'])} until "
                f"{_when(assignment.get('end_at'))}.")
    _out(args, result, [line])
    return 0


def cmd_deactivate(args) -> int:
    client = _client(args)
    active = [a for a in _mine(client) if a["kind"] == "active" and a["activated_from"] and _matches(a, args.role)
              and (not args.scope or a["scope_path"] == args.scope)]
    target = _one(active, f"activation of {args.role}")
    result = client.post("requests/", {"action": "self_deactivate", "assignment": target["id"],
                                       "justification": args.justification or ""})
    _out(args, result, [f"Deactivated {target['role_slug']} at {target['scope_path']}."])
    return 0


def cmd_approvals(args) -> int:
    client = _client(args)
    pending = list(client.pages("approvals/", page_size=500))  # the queue is cursor-paginated
    lines = [f"{r['id']}  {r['principal_display_name']} asks for {r['role_slug']} at {r['scope_path']} for "
             f"{r['duration_minutes'] or '?'} min: {r['justification'] or '(no justification)'}{_ticket(r)}"
             for r in pending] or ["Nothing waits for your decision."]
    _out(args, pending, lines)
    return 0


def _ticket(request: dict) -> str:
    return f" [{request['ticket_system']} {request['ticket_number']}]" if request.get("ticket_number") else ""


def cmd_approve(args) -> int:
    client = _client(args)
    result = client.post(f"approvals/{args.request}/approve/", {"comment": args.comment or ""})
    _out(args, result, [f"Approved: request {result['id']} is now {result['status'].replace('_', ' ')}."])
    return 0


def cmd_deny(args) -> int:
    client = _client(args)
    result = client.post(f"approvals/{args.request}/deny/", {"comment": args.reason})
    _out(args, result, [f"Denied request {result['id']}."])
    return 0


def cmd_check(args) -> int:
    client = _client(args)
    principal = args.principal or str(_me(client))
    answer = client.get("check", principal=principal, role=args.role, scope=args.scope or "/")
    allowed = answer["allowed"]
    _out(args, answer, [f"{'allowed' if allowed else 'not allowed'}: {args.role} at {args.scope or '/'}"
                        + (f" until {_when(answer['ends_at'])}" if allowed else "")])
    return 0 if allowed else 3


def cmd_whoami(args) -> int:
    client = _client(args)
    credentials = credentials_load()
    me = client.get("ping")
    _out(args, {**me, "server": client.server, "expires_at": credentials.expires_at},
         [f"principal {me['principal']} on {client.server}; the token expires {_when(credentials.expires_at)}"])
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="pim", description="The PIM portal from a terminal.")
    top.add_argument("--version", action="version", version=f"pim {__version__}")
    top.add_argument("--server", help="the portal's address (default: the one you signed in to, or $PIM_SERVER)")
    top.add_argument("--json", action="store_true", help="print the API's answer as JSON")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    login = commands.add_parser("login", help="sign in with a code approved in the browser (MFA happens there)")
    login.add_argument("--no-browser", action="store_true", help="only print the address to open")
    login.add_argument("--name", help="how the portal names this client (default: user@host)")
    login.set_defaults(run=cmd_login)
    commands.add_parser("logout", help="forget the credentials").set_defaults(run=cmd_logout)
    commands.add_parser("whoami", help="who the credentials act as").set_defaults(run=cmd_whoami)
    commands.add_parser("roles", help="your eligible and active roles").set_defaults(run=cmd_roles)

    activate = commands.add_parser("activate", help="activate an eligible role")
    activate.add_argument("role", help="role slug or name (or the eligible assignment's id)")
    activate.add_argument("-j", "--justification", help="why (required by most policies)")
    activate.add_argument("-d", "--duration", default="1h", help="how long: 1h30m, 2h, 45m (default 1h)")
    activate.add_argument("--scope", help="a narrower scope than the eligible one, e.g. /subscriptions/s1")
    activate.add_argument("--ticket", help="SYSTEM:NUMBER, when the policy asks for a ticket")
    activate.add_argument("--start", help="a future start (ISO 8601 with a time zone)")
    activate.set_defaults(run=cmd_activate)

    deactivate = commands.add_parser("deactivate", help="end one of your activations now")
    deactivate.add_argument("role")
    deactivate.add_argument("--scope")
    deactivate.add_argument("-j", "--justification")
    deactivate.set_defaults(run=cmd_deactivate)

    commands.add_parser("approvals", help="requests waiting for your decision").set_defaults(run=cmd_approvals)
    approve = commands.add_parser("approve", help="approve a request")
    approve.add_argument("request", help="the request id (from `pim approvals`)")
    approve.add_argument("-c", "--comment")
    approve.set_defaults(run=cmd_approve)
    deny = commands.add_parser("deny", help="deny a request, with the reason")
    deny.add_argument("request")
    deny.add_argument("-r", "--reason", required=True)
    deny.set_defaults(run=cmd_deny)

    check = commands.add_parser("check", help="may this principal hold this role here now? (exit 3: no)")
    check.add_argument("role")
    check.add_argument("--scope", default="/")
    check.add_argument("--principal", help="id, object id or username (default: you)")
    check.set_defaults(run=cmd_check)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except UsageError as error:
        print(f"pim: {error}", file=sys.stderr)
        return 2
    except ApiError as error:
        print(f"pim: {error.message}", file=sys.stderr)
        if error.field in ("mfa", "admin_mfa"):
            print("pim: run `pim login` again: approving it in the browser verifies you afresh.", file=sys.stderr)
        elif error.status == 401 and credentials_path().exists():
            print("pim: run `pim login` to sign in again.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


