"""The connectors' side of a request's page: the approvals templates ask for it by tag, so that the
request app (a lower layer) never imports connectors."""

from django import template

from connectors.selectors import effects_for_request

register = template.Library()


@register.simple_tag
def request_connector_effects(pim_request):
    """`{% request_connector_effects req as connector_effects %}`: the grants and revokes it caused."""
    return effects_for_request(request=pim_request)
