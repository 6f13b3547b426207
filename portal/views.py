from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from alerts.charts import column_chart
from alerts.selectors import personal_dashboard_for


@login_required
def home(request):
    """The personal overview: what I hold, what waits, what ends soon, my activations over 30 days."""
    data = personal_dashboard_for(user=request.user)
    chart = column_chart(title="My activations per day, last 30 days", series=data.activations_per_day,
                         height=160, css_class="chart-my-activations")
    return render(request, "portal/home.html", {"active": data.active, "eligible": data.eligible, "d": data,
                                                "chart_my_activations": chart, "now": timezone.now()})


def error_400(request, exception=None):
    return render(request, "400.html", status=400)


def error_403(request, exception=None):
    message = str(exception) if exception and str(exception) else "You do not have access to this page."
    return render(request, "403.html", {"message": message}, status=403)


def error_404(request, exception=None):
    return render(request, "404.html", status=404)


def error_500(request):
    return render(request, "500.html", status=500)
