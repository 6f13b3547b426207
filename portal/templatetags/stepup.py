"""`{% admin_mfa_notice %}`: says up front, on a form that makes a privileged administrative change,
that saving needs a fresh multifactor verification (and whether this session has one)."""

from django import template

from core.stepup import admin_mfa_state

register = template.Library()


@register.inclusion_tag("accounts/_admin_mfa_notice.html", takes_context=True)
def admin_mfa_notice(context, what: str = "Saving this"):
    request = context.get("request")
    state = admin_mfa_state(request) if request is not None else {"exempt": True}
    return {"mfa": state, "what": what}
