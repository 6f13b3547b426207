from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from assignments.models import Assignment


@login_required
def home(request):
    now = timezone.now()
    mine = (
        Assignment.objects.filter(principal=request.user.principal, status=Assignment.Status.LIVE)
        .select_related("role", "scope")
        .order_by("kind", "role__name")
    )
    active = [a for a in mine if a.kind == Assignment.Kind.ACTIVE and a.is_held_at(now)]
    eligible = [a for a in mine if a.kind == Assignment.Kind.ELIGIBLE and a.is_held_at(now)]
    return render(request, "portal/home.html", {"active": active, "eligible": eligible, "now": now})


def error_403(request, exception=None):
    message = str(exception) if exception and str(exception) else "You do not have access to this page."
    return render(request, "403.html", {"message": message}, status=403)


def error_404(request, exception=None):
    return render(request, "404.html", status=404)


def error_500(request):
    return render(request, "500.html", status=500)
