"""The form pieces every page shares (`templates/forms/`): a field's widget with its error and help
wired to it for assistive technology, and long text fields with a character counter instead of a
`maxlength` that cuts what is typed or pasted without a word."""

from django import template
from django.forms.widgets import PasswordInput, Textarea, TextInput

from core.forms import minutes_label

register = template.Library()

# Text fields allowing at least this many characters get a counter (names, justifications, comments).
COUNTER_FROM = 200


def counted_limit(bound_field) -> int | None:
    widget = bound_field.field.widget
    limit = getattr(bound_field.field, "max_length", None)
    if limit is None or limit < COUNTER_FROM or isinstance(widget, PasswordInput):
        return None
    return limit if isinstance(widget, Textarea | TextInput) else None


@register.simple_tag
def field_widget(bound_field):
    """The widget, with aria-invalid / aria-describedby naming its error, help and counter."""
    auto_id = bound_field.auto_id
    described = []
    attrs = {}
    if bound_field.help_text:
        described.append(f"{auto_id}-help")
    limit = counted_limit(bound_field)
    if limit is not None:
        # No maxlength: the browser would cut a paste silently; the counter and the server say so instead.
        attrs["maxlength"] = False
        attrs["data-maxlength"] = limit
        attrs["data-counter"] = f"{auto_id}-counter"
        described.append(f"{auto_id}-counter")
    if bound_field.errors:
        attrs["aria-invalid"] = "true"
        described.append(f"{auto_id}-error")
    if described:
        attrs["aria-describedby"] = " ".join(described)
    return bound_field.as_widget(attrs=attrs)


@register.filter
def counter_limit(bound_field):
    return counted_limit(bound_field)


@register.simple_tag
def error_count(form) -> int:
    return sum(len(errors) for errors in form.errors.values())


@register.filter
def minutes(value):
    """A duration in minutes as people read it: 90 → "1 h 30 min"."""
    try:
        return minutes_label(int(value))
    except (TypeError, ValueError):
        return value
