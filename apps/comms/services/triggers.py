"""What each domain event plans: the table in issue 4, one function per row, then routing's events
(a plan applied: one route text per technician and a visit update per customer; ETAs refreshed:
"running late" once the ETA leaves the promised window).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from apps.comms.models import CommsSettings, ScheduledMessage, TemplateKind
from apps.comms.services.outbox import (
    confirmation_key,
    confirmation_plan,
    message_schedule,
    work_order_messages_cancel,
)
from apps.core.models import Invoice, Technician, WorkOrder, WorkOrderStatus

K, A, M = TemplateKind, ScheduledMessage.Audience, ScheduledMessage.Status
WS = WorkOrderStatus
REMINDER_SPACING = dt.timedelta(days=7)
# Statuses in which a confirmation is planned, and in which a new window is news to the technician.
CONFIRMABLE = (WS.SCHEDULED, WS.DISPATCHED)
DISPATCHABLE = (WS.NEW, WS.SCHEDULED, WS.DISPATCHED, WS.ON_HOLD)
# A message in these states has told, or will tell, its recipient.
TELLING = (M.PENDING, M.SENDING, M.SENT)


def window_tag(work_order) -> str:
    """The arrival window in a dedupe key: the same window gives the same key in any zone."""
    start, end = work_order.arrival_window_start, work_order.arrival_window_end
    if start is None:
        return "none"
    tail = end.astimezone(dt.UTC).strftime("%Y%m%dT%H%M") if end else "open"
    return f"{start.astimezone(dt.UTC):%Y%m%dT%H%M}-{tail}"


def last_told(*, kind: str, work_order, technician=None) -> ScheduledMessage | None:
    """The latest text of this kind about this job (to this technician) that went or will go."""
    qs = ScheduledMessage.objects.filter(
        business_id=work_order.business_id,
        kind=kind,
        work_order=work_order,
        channel="sms",
        status__in=TELLING,
    )
    if technician is not None:
        qs = qs.filter(technician=technician)
    return qs.order_by("-created_at", "-pk").first()


def _made_by_route_plan(work_order_id: int, technician_id: int, occurred_at: str) -> bool:
    from apps.routing.services.etas import plan_apply_covering

    when = dt.datetime.fromisoformat(occurred_at)
    return (
        plan_apply_covering(
            work_order_id=work_order_id, technician_id=technician_id, occurred_at=when
        )
        is not None
    )


@transaction.atomic
def work_order_status_plan(*, work_order_id: int, to_status: str, occurred_at: str) -> list:
    wo = WorkOrder.objects.select_related("business").filter(pk=work_order_id).first()
    if wo is None:
        return []
    now = timezone.now()
    if to_status == "scheduled":
        return confirmation_plan(work_order=wo)
    if to_status == "cancelled":
        work_order_messages_cancel(work_order=wo, reason="work order cancelled")
        return []
    if to_status == "en_route":
        return message_schedule(
            business=wo.business,
            kind=K.EN_ROUTE,
            audience=A.CUSTOMER,
            dedupe_key=f"en_route:{wo.pk}:{occurred_at}",
            due_at=now,
            urgent=wo.priority == "emergency",
            work_order=wo,
        )
    if to_status == "completed":
        return message_schedule(
            business=wo.business,
            kind=K.SERVICE_COMPLETE,
            audience=A.CUSTOMER,
            dedupe_key=f"complete:{wo.pk}",
            due_at=now,
            work_order=wo,
        )
    return []


@transaction.atomic
def emergency_plan(*, work_order_id: int) -> list:
    wo = WorkOrder.objects.select_related("business").filter(pk=work_order_id).first()
    if wo is None:
        return []
    return message_schedule(
        business=wo.business,
        kind=K.EMERGENCY_RESPONSE,
        audience=A.CUSTOMER,
        dedupe_key=f"emergency:{wo.pk}",
        due_at=timezone.now(),
        urgent=True,
        work_order=wo,
    )


@transaction.atomic
def technician_dispatch_plan(*, work_order_id: int, technician_id: int, occurred_at: str) -> list:
    wo = WorkOrder.objects.select_related("business").filter(pk=work_order_id).first()
    tech = Technician.objects.filter(pk=technician_id).first()
    if wo is None or tech is None or tech.business_id != wo.business_id:
        return []
    if _made_by_route_plan(wo.pk, tech.pk, occurred_at):
        return []  # the plan's one route text tells the technician (route_plan_applied_plan)
    return message_schedule(
        business=wo.business,
        kind=K.TECHNICIAN_DISPATCH,
        audience=A.TECHNICIAN,
        dedupe_key=f"dispatch:{wo.pk}:{tech.pk}:{occurred_at}",
        due_at=timezone.now(),
        urgent=wo.priority == "emergency",
        work_order=wo,
        technician=tech,
        context={"window": window_tag(wo), "location_id": wo.location_id},
    )


@transaction.atomic
def work_order_window_changed_plan(*, work_order_id: int, occurred_at: str) -> list:
    """Core's WorkOrderWindowChanged: re-plan the confirmation, re-send the dispatch text.

    Both read the window from the work order, not the event, so a burst of moves plans once for
    where the window ended up.
    """
    wo = (
        WorkOrder.objects.select_related("business", "assigned_technician")
        .filter(pk=work_order_id)
        .first()
    )
    if wo is None:
        return []
    planned = confirmation_plan(work_order=wo) if wo.status in CONFIRMABLE else []
    return planned + _dispatch_window_resend(wo, occurred_at)


def _dispatch_window_resend(wo: WorkOrder, occurred_at: str) -> list:
    tech = wo.assigned_technician
    if tech is None or wo.status not in DISPATCHABLE or wo.arrival_window_start is None:
        return []
    if _made_by_route_plan(wo.pk, tech.pk, occurred_at):
        return []
    window = window_tag(wo)
    news = {"window": window, "location_id": wo.location_id}
    return _dispatch_resend(wo, tech, news=news, compare="window", key_part=window)


def _dispatch_resend(wo: WorkOrder, tech, *, news: dict, compare: str, key_part: str) -> list:
    """Text the technician the job again unless the last dispatch text already said `compare`."""
    last = last_told(kind=K.TECHNICIAN_DISPATCH, work_order=wo, technician=tech)
    if last is not None and last.status == M.PENDING:
        # Not sent yet (quiet hours): it renders the job when it goes, so it carries the news.
        last.context = {**last.context, **news}
        last.save(update_fields=["context", "updated_at"])
        return []
    if last is not None and last.context.get(compare) == news[compare]:
        return []  # the technician already knows
    # The count makes a value the technician was told before, then away from, news again.
    told = ScheduledMessage.objects.filter(
        kind=K.TECHNICIAN_DISPATCH, work_order=wo, technician=tech
    ).count()
    return message_schedule(
        business=wo.business,
        kind=K.TECHNICIAN_DISPATCH,
        audience=A.TECHNICIAN,
        dedupe_key=f"dispatch:{wo.pk}:{tech.pk}:{key_part}:{told}",
        due_at=timezone.now(),
        urgent=wo.priority == "emergency",
        work_order=wo,
        technician=tech,
        context=news,
    )


# A new address is news to a technician on the way too; on site, they already found it.
RELOCATABLE = (*DISPATCHABLE, WS.EN_ROUTE)


@transaction.atomic
def work_order_location_changed_plan(*, work_order_id: int, occurred_at: str) -> list:
    """Core's WorkOrderLocationChanged: re-send the technician's dispatch text, new address.

    Reads the location from the work order, not the event, so a burst of moves texts once for
    where the job ended up; the location id in the text's context makes a redelivery a no-op.
    """
    wo = (
        WorkOrder.objects.select_related("business", "assigned_technician")
        .filter(pk=work_order_id)
        .first()
    )
    tech = wo.assigned_technician if wo is not None else None
    if tech is None or wo.status not in RELOCATABLE:
        return []
    news = {"location_id": wo.location_id, "window": window_tag(wo)}
    return _dispatch_resend(
        wo, tech, news=news, compare="location_id", key_part=f"location:{wo.location_id}"
    )


def payment_reminders_plan(*, today: dt.date | None = None) -> int:
    """At most `max_payment_reminders` (2) per overdue invoice: the day after due, then weekly."""
    planned = 0
    overdue = Invoice.objects.filter(
        status__in=["open", "overdue"], due_date__isnull=False
    ).select_related("business")
    for invoice in overdue:
        local_today = today or timezone.localdate(timezone=invoice.business.timezone)
        if invoice.due_date >= local_today or invoice.total - invoice.amount_paid <= 0:
            continue
        cfg = CommsSettings.for_business(invoice.business)
        sent = list(
            ScheduledMessage.objects.filter(
                invoice=invoice, kind=K.PAYMENT_REMINDER, channel="sms"
            ).order_by("created_at")
        )
        if len(sent) >= cfg.max_payment_reminders:
            continue
        if sent and sent[-1].created_at > timezone.now() - REMINDER_SPACING:
            continue
        with transaction.atomic():
            planned += len(
                message_schedule(
                    business=invoice.business,
                    kind=K.PAYMENT_REMINDER,
                    audience=A.CUSTOMER,
                    dedupe_key=f"payment:{invoice.pk}:{len(sent) + 1}",
                    due_at=timezone.now(),
                    invoice=invoice,
                )
            )
    return planned


# --- routing's events ---------------------------------------------------------------------------
LATE_GRACE = dt.timedelta(minutes=5)  # GPS jitter around the window's end is not "late"
CONFIRMATION_COVERS = dt.timedelta(hours=2)  # a confirmation this close makes the update redundant
VISIT_STATUSES = (WS.SCHEDULED, WS.DISPATCHED)
LATE_STATUSES = (WS.SCHEDULED, WS.DISPATCHED, WS.EN_ROUTE)


@transaction.atomic
def route_plan_applied_plan(
    *, plan_id: int, technician_ids: list[int], work_order_ids: list[int]
) -> list:
    """RoutePlanApplied: one route text per affected technician, a visit update per customer.

    Keys carry the plan, so a redelivered event plans nothing twice.
    """
    from apps.routing.models import RoutePlan, RouteStop

    plan = RoutePlan.objects.select_related("business").filter(pk=plan_id).first()
    if plan is None or plan.status not in (RoutePlan.Status.APPLIED, RoutePlan.Status.SUPERSEDED):
        return []
    planned = []
    technicians = Technician.objects.filter(
        business_id=plan.business_id, pk__in=technician_ids, active=True
    )
    for tech in technicians:
        planned += _route_text(plan, tech)
    stops = (
        RouteStop.objects.filter(business_id=plan.business_id, plan=plan)
        .filter(work_order_id__in=work_order_ids)
        .select_related("work_order__business")
    )
    for stop in stops:
        planned += _visit_update(plan, stop.work_order)
    return planned


def _route_text(plan, tech: Technician) -> list:
    from apps.routing.services.etas import technician_remaining_stops

    stops = technician_remaining_stops(plan=plan, technician_id=tech.pk)
    if not stops:
        return []  # nothing left on the day; see docs/comms.md (no "route emptied" text yet)
    key = f"route:{plan.pk}:{tech.pk}"
    # One text per technician: an older plan's unsent summary and unsent per-job dispatch texts
    # for these stops are replaced by this summary, which lists them all.
    ScheduledMessage.objects.filter(
        business_id=plan.business_id,
        technician=tech,
        status=M.PENDING,
        kind=K.TECHNICIAN_ROUTE,
        context__date=plan.date.isoformat(),
    ).exclude(dedupe_key=key).update(status=M.CANCELLED, reason="a newer route plan was applied")
    ScheduledMessage.objects.filter(
        business_id=plan.business_id,
        technician=tech,
        status=M.PENDING,
        kind=K.TECHNICIAN_DISPATCH,
        work_order_id__in=[s.work_order_id for s in stops],
    ).update(status=M.CANCELLED, reason=f"in the route summary of plan #{plan.pk}")
    first = stops[0].work_order
    return message_schedule(
        business=plan.business,
        kind=K.TECHNICIAN_ROUTE,
        audience=A.TECHNICIAN,
        dedupe_key=key,
        due_at=timezone.now(),
        urgent=any(s.work_order.priority == "emergency" for s in stops),
        work_order=first,
        technician=tech,
        context={"plan_id": plan.pk, "date": plan.date.isoformat()},
    )


def _visit_update(plan, wo: WorkOrder) -> list:
    """Tell the customer the window and technician, unless that is what they were last told."""
    if (
        wo.status not in VISIT_STATUSES
        or wo.assigned_technician_id is None
        or wo.arrival_window_start is None
    ):
        return []  # unassigned by the plan (the office calls), under way, or closed
    told = {"window": window_tag(wo), "technician_id": wo.assigned_technician_id}
    if _confirmation_says_it_now(plan, wo):
        return []
    last = last_told(kind=K.VISIT_UPDATED, work_order=wo)
    if last is not None and last.status == M.PENDING:
        last.context = {**last.context, **told}  # renders the job as it is when it goes
        last.save(update_fields=["context", "updated_at"])
        return []
    if last is not None and all(last.context.get(k) == v for k, v in told.items()):
        return []
    return message_schedule(
        business=wo.business,
        kind=K.VISIT_UPDATED,
        audience=A.CUSTOMER,
        dedupe_key=f"visit:{plan.pk}:{wo.pk}",
        due_at=timezone.now(),
        urgent=wo.priority == "emergency",
        work_order=wo,
        context={**told, "plan_id": plan.pk},
    )


def _confirmation_says_it_now(plan, wo: WorkOrder) -> bool:
    """The confirmation for this window goes (or went) out about now: two texts would be one too
    many, so the visit update gives way to it."""
    confirmation_plan(work_order=wo)  # idempotent; the status event may not have run yet
    row = ScheduledMessage.objects.filter(dedupe_key=confirmation_key(wo)).first()
    if row is None:
        return False
    if row.status == M.PENDING:
        return row.due_at <= timezone.now() + CONFIRMATION_COVERS
    return row.status in (M.SENDING, M.SENT) and row.updated_at >= plan.created_at


@transaction.atomic
def technician_etas_plan(*, plan_id: int, technician_id: int, work_order_ids: list[int]) -> list:
    """TechnicianEtasUpdated: a customer whose ETA has left the promised window hears it once.

    ETAs inside the window tell the customer nothing new (the tracking link shows them live).
    """
    from apps.comms.services.quiet_hours import next_send_time
    from apps.routing.models import RoutePlan, RouteStop

    stops = RouteStop.objects.filter(
        plan_id=plan_id,
        plan__status=RoutePlan.Status.APPLIED,
        technician_id=technician_id,
        work_order_id__in=work_order_ids,
    ).select_related("work_order__business", "work_order__location")
    now, planned = timezone.now(), []
    for stop in stops:
        wo = stop.work_order
        end = wo.arrival_window_end
        if (
            end is None
            or stop.eta <= end + LATE_GRACE
            or wo.status not in LATE_STATUSES
            or wo.assigned_technician_id != technician_id
        ):
            continue
        urgent = wo.priority == "emergency"
        cfg = CommsSettings.for_business(wo.business)
        tz = wo.location.timezone
        quiet = next_send_time(now=now, tz=tz, start=cfg.send_window_start, end=cfg.send_window_end)
        if quiet is not None and not urgent:
            continue  # a "late" text held until morning is noise; a later fix may still send it
        minutes = max(5, -(-int((stop.eta - now).total_seconds()) // 300) * 5)
        planned += message_schedule(
            business=wo.business,
            kind=K.RUNNING_LATE,
            audience=A.CUSTOMER,
            dedupe_key=f"late:{wo.pk}:{window_tag(wo)}",
            due_at=now,
            urgent=urgent,
            work_order=wo,
            context={"eta_minutes": minutes, "plan_id": plan_id},
        )
    return planned
