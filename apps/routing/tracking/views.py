"""GET /track/<token>/: status, technician's first name, window and live ETA; HTML or JSON.

Public, so it shows as little as a customer needs: no phone numbers, no prices, no last names,
the street and city only. Every failure is the same 404, so a token probe learns nothing.
"""

from __future__ import annotations

import datetime as dt

from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from apps.core.models import WorkOrder, WorkOrderStatus
from apps.routing.services.etas import applied_stop_for

from .tokens import work_order_for_token

S = WorkOrderStatus
STATUS_WORDS = {
    S.NEW: "scheduled",
    S.SCHEDULED: "scheduled",
    S.DISPATCHED: "scheduled",
    S.EN_ROUTE: "on the way",
    S.ON_SITE: "on site",
    S.COMPLETED: "done",
    S.INVOICED: "done",
    S.PAID: "done",
    S.CANCELLED: "cancelled",
    S.ON_HOLD: "on hold",  # paused (e.g. waiting for parts): "scheduled" would mislead
}
# Only a job still to be reached has an arrival worth quoting.
AWAITED = ("scheduled", "on the way")
REFRESH_SECONDS = 60


def _live_eta(work_order: WorkOrder) -> dt.datetime | None:
    """The applied plan's stop ETA, which each technician location post refreshes."""
    stop = applied_stop_for(work_order=work_order)
    return stop.eta if stop is not None else None


def _local(moment: dt.datetime | None, tz) -> dt.datetime | None:
    return timezone.localtime(moment, tz) if moment else None


def _wants_json(request) -> bool:
    if request.GET.get("format") == "json":
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


@require_safe
@never_cache
def track(request, token: str):
    work_order = work_order_for_token(token)
    if work_order is None:
        raise Http404("Not found")
    business = work_order.business
    tz = business.timezone
    status = STATUS_WORDS.get(work_order.status, "scheduled")
    eta = _local(_live_eta(work_order), tz) if status in AWAITED else None
    start = _local(work_order.arrival_window_start, tz)
    end = _local(work_order.arrival_window_end, tz)
    tech = work_order.assigned_technician
    first_name = (tech.user.first_name or None) if tech else None
    if _wants_json(request):
        response = JsonResponse(
            {
                "status": status,
                "eta": eta.isoformat() if eta else None,
                "window_start": start.isoformat() if start else None,
                "window_end": end.isoformat() if end else None,
                "technician": first_name,
            }
        )
    else:
        location = work_order.location
        context = {
            "business_name": business.name,
            "status": status,
            "eta": eta,
            "window_start": start,
            "window_end": end,
            "technician": first_name,
            "place": ", ".join(p for p in (location.address_line1, location.city) if p),
            "awaited": status in AWAITED,
            "refresh_seconds": REFRESH_SECONDS,
        }
        with timezone.override(tz):  # templates show datetimes in the active zone
            response = render(request, "routing/track.html", context)
    response["Vary"] = "Accept"
    response["Referrer-Policy"] = "no-referrer"  # the token is the credential: never pass it on
    response["X-Robots-Tag"] = "noindex"
    return response
