"""Pages for managers and office staff: sign-in required, always the user's own business."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from apps.core.errors import DomainError
from apps.core.tenancy import scoped
from apps.monitoring.models import Alert
from apps.monitoring.pdf import report_filename, report_pdf
from apps.monitoring.presenters import report_context
from apps.monitoring.selectors.health import business_health
from apps.monitoring.selectors.report import health_report


def office_page(view):
    """Signed in, office staff of a business; the business's time zone while rendering."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        user = request.user
        business = getattr(user, "business", None)
        if business is None or not user.is_office_staff:
            raise PermissionDenied("Integration health is for the office staff of a business.")
        with timezone.override(business.timezone):
            return view(request, business, *args, **kwargs)

    return wrapper


@require_GET
@office_page
def dashboard(request: HttpRequest, business) -> HttpResponse:
    health = business_health(business=business)
    alerts = scoped(Alert, business=business).filter(resolved_at__isnull=True)
    return render(
        request,
        "monitoring/dashboard.html",
        {
            "business": business,
            "health": health,
            "alerts": alerts.order_by("-severity", "-opened_at"),
            "stale_minutes": int(health.thresholds.stale_after.total_seconds() // 60),
        },
    )


@require_GET
@office_page
def report(request: HttpRequest, business) -> HttpResponse:
    try:
        result = health_report(business=business, period=request.GET.get("period"))
    except DomainError as exc:
        return render(
            request,
            "monitoring/report.html",
            {"business": business, "error": exc.message},
            status=400,
        )
    return render(request, "monitoring/report.html", report_context(result))


@require_GET
@office_page
def report_pdf_download(request: HttpRequest, business) -> HttpResponse:
    try:
        result = health_report(business=business, period=request.GET.get("period"))
    except DomainError as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(report_pdf(result), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{report_filename(result)}"'
    return response
