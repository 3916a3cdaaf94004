"""The board page, its JSON (polled every few seconds) and its one write: a move.

Office staff only, always inside one business: a work order or technician id of another business
answers exactly like a missing one (404). A move the rules refuse answers 409 with the service's
own message, and the browser puts the job back where it was.
"""

from __future__ import annotations

import datetime as dt
import json

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBadRequest, JsonResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from apps.core.errors import DomainError
from apps.core.models import Business, Technician, WorkOrder
from apps.core.tenancy import get_for_business_or_404

from ..access import business_choices, office_business
from ..days import business_zone, local_today
from .selectors import DEFAULT_WINDOW, board_for, clock
from .services import work_order_board_move


class BadMove(Exception):
    pass


def _day(request: HttpRequest, business: Business) -> dt.date:
    raw = request.GET.get("date", "")
    if not raw:
        return local_today(business)
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise BadMove(f"“{raw}” is not a date; use ?date=YYYY-MM-DD.") from None


def board_page(request: HttpRequest, *, admin_site):
    business = office_business(request)
    try:
        day = _day(request, business)
    except BadMove as exc:
        return HttpResponseBadRequest(str(exc))
    with timezone.override(business_zone(business)):
        data = board_for(business=business, day=day)
    context = {
        **admin_site.each_context(request),
        "title": "Dispatch board",
        "board": data,
        "business": business,
        "businesses": business_choices(request),
        "day": day,
        "previous_day": (day - dt.timedelta(days=1)).isoformat(),
        "next_day": (day + dt.timedelta(days=1)).isoformat(),
        "today": local_today(business).isoformat(),
        "tile_url": settings.ROUTING_TILE_URL,
        "can_move": request.user.has_perm("core.change_workorder"),
    }
    request.current_app = admin_site.name
    with timezone.override(business_zone(business)):
        return TemplateResponse(request, "backoffice/board.html", context).render()


@require_GET
def board_data(request: HttpRequest):
    business = office_business(request)
    try:
        day = _day(request, business)
    except BadMove as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(board_for(business=business, day=day))


def _int_or_none(payload: dict, key: str) -> int | None:
    value = payload.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not str(value).isdigit():
        raise BadMove(f"“{key}” must be an id.")
    return int(value)


def _window(payload: dict, business: Business, order: WorkOrder):
    """The new arrival window in the business's zone, keeping the job's window length."""
    start = payload.get("start")
    if start in (None, ""):
        return None, None
    try:
        day = dt.date.fromisoformat(str(payload.get("date", "")))
        at = dt.time.fromisoformat(str(start))
    except ValueError:
        raise BadMove("Give the day as YYYY-MM-DD and the time as HH:MM.") from None
    begin = dt.datetime.combine(day, at, tzinfo=business_zone(business))
    current = (order.arrival_window_start, order.arrival_window_end)
    length = current[1] - current[0] if all(current) else DEFAULT_WINDOW
    return begin, begin + length


@require_POST
def board_move(request: HttpRequest):
    try:
        payload = json.loads(request.body or b"{}")
        if not isinstance(payload, dict):
            raise ValueError
    except ValueError:
        return JsonResponse({"error": "Send the move as a JSON object."}, status=400)
    business = office_business(
        request, perm="core.change_workorder", picked=payload.get("business")
    )
    try:
        order_id = _int_or_none(payload, "work_order")
        tech_id = _int_or_none(payload, "technician")
        if order_id is None:
            raise BadMove("Which work order? “work_order” is missing.")
        order = get_for_business_or_404(WorkOrder, business=business, pk=order_id)
        technician = (
            get_for_business_or_404(Technician, business=business, pk=tech_id)
            if tech_id is not None
            else None
        )
        begin, end = _window(payload, business, order)
        moved = work_order_board_move(
            work_order=order,
            technician=technician,
            arrival_window_start=begin,
            arrival_window_end=end,
            by=request.user,
        )
    except BadMove as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    except Http404 as exc:
        return JsonResponse({"error": str(exc)}, status=404)
    except DomainError as exc:
        return JsonResponse({"error": exc.message, "work_order": order.number}, status=409)
    tz = business_zone(business)
    who = str(technician) if technician else "nobody (back in the queue)"
    when = (
        f", {clock(moved.arrival_window_start, tz)} \u2013 {clock(moved.arrival_window_end, tz)}"
        if moved.arrival_window_start
        else ""
    )
    day = moved.arrival_window_start.astimezone(tz).date() if moved.arrival_window_start else None
    return JsonResponse(
        {
            "ok": True,
            "message": f"{moved.number} assigned to {who}{when}.",
            "work_order": {
                "id": moved.pk,
                "number": moved.number,
                "status": moved.status,
                "technician": moved.assigned_technician_id,
                "date": day.isoformat() if day else None,
            },
        }
    )


def guarded_json(view, admin_site):
    """Admin login and CSRF (admin_view), then office-staff refusals answered as JSON 403."""

    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            return JsonResponse({"error": str(exc) or "Not allowed."}, status=403)

    return admin_site.admin_view(wrapper)
