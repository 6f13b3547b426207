"""`{{ event.action|action_name }}` and `{{ event.action|justification_label }}`: the readable names of
`auditlog.actions`, the same the CSV export writes."""

from django import template

from auditlog import actions

register = template.Library()


@register.filter
def action_name(code: str) -> str:
    return actions.action_name(code or "")


@register.filter
def justification_label(code: str) -> str:
    return actions.justification_label(code or "")
