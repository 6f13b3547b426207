from django.urls import NoReverseMatch, reverse

from assignments.capabilities import user_capabilities

from .navigation import NAV_ITEMS, SECTIONS


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_sections": [], "nav_items": []}
    caps = user_capabilities(request)
    entries = []
    for item in NAV_ITEMS:
        if not caps.get(item.needs):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        entries.append({"label": item.label, "url": url, "section": item.section})
    # The current page is the entry with the longest URL that prefixes the path ("/" only for itself).
    matches = [e for e in entries
               if request.path == e["url"] or (e["url"] != "/" and request.path.startswith(e["url"]))]
    current = max(matches, key=lambda e: len(e["url"]))["url"] if matches else None
    sections = []
    for name in SECTIONS:
        items = [{**e, "active": e["url"] == current} for e in entries if e["section"] == name]
        if items:
            sections.append({"name": name, "items": items})
    nav_items = [item for section in sections for item in section["items"]]
    return {"nav_sections": sections, "nav_items": nav_items, "capabilities": caps}
