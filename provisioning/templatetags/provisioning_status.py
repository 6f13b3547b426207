"""The provisioning side of a request's page: the request app's templates ask for it by tag, so that
approvals (a lower layer) never imports provisioning."""

from django import template

from provisioning.selectors import provisioning_status_for_request

register = template.Library()


@register.simple_tag
def request_provisioning_status(pim_request):
    """`{% request_provisioning_status req as scim_operations %}`: the SCIM operations the request caused."""
    return provisioning_status_for_request(request=pim_request)
