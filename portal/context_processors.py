from django.urls import NoReverseMatch, reverse

from .navigation import NAV_ITEMS
from .permissions import user_capabilities


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    caps = user_capabilities(request)
    items = []
    for item in NAV_ITEMS:
        if caps.get(item.needs):
            try:
                url = reverse(item.url_name)
            except NoReverseMatch:
                continue
            items.append({"label": item.label, "url": url, "active": request.path.startswith(url) and url != "/"
                          or request.path == url, "section": item.section})
    return {"nav_items": items, "capabilities": caps}
