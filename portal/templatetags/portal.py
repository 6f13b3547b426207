"""Template helpers shared by every page."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def scope_label(scope):
    """A scope as people know it: the group's or resource's name, with its id below in small type.
    Group scopes are `/groups/<object id>`, which means nothing to a reader on its own."""
    if scope is None:
        return "—"
    if scope.kind == "directory":
        return mark_safe('Directory <span class="scope-path">/</span>')  # noqa: S308 — a constant
    kind = {"group": "Group", "management_group": "Management group", "subscription": "Subscription",
            "resource_group": "Resource group", "resource": "Resource"}.get(scope.kind, "")
    return format_html('{} {}<br><span class="scope-path">{}</span>', kind, scope.display_name, scope.path)
