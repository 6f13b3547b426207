"""`{% password_reset_enabled as name %}`: whether the sign-in page offers "Forgot your password?"."""

from django import template

from accounts.services import password_reset_enabled as _enabled

register = template.Library()


@register.simple_tag
def password_reset_enabled() -> bool:
    return _enabled()
