from . import context


def client_ip_of(request) -> str | None:
    # Behind a proxy, deployments set DJANGO_BEHIND_TLS_PROXY and the proxy sets REMOTE_ADDR
    # correctly (e.g. gunicorn --forwarded-allow-ips); X-Forwarded-For is not trusted here.
    return request.META.get("REMOTE_ADDR") or None


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with context.bind(client_ip=client_ip_of(request)):
            request.correlation_id = context.current().correlation_id
            return self.get_response(request)
