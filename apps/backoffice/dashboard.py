"""Reads for the admin's front page: what a dispatcher needs to see first thing, all scoped to
one business, each figure with the list it came from."""

from __future__ import annotations

import dataclasses
import datetime as dt
from urllib.parse import urlencode

from django.db.models import Case, Count, F, IntegerField, Max, Q, When
from django.urls import reverse
from django.utils import timezone

from apps.comms.models import CommunicationLog, Direction
from apps.core.models import Business, Priority, Technician, WorkOrder, WorkOrderStatus
from apps.monitoring.selectors.health import Status, business_health

from .days import business_zone, day_bounds, local_today

S = WorkOrderStatus
OPEN = (S.NEW, S.SCHEDULED, S.DISPATCHED, S.EN_ROUTE, S.ON_SITE, S.ON_HOLD)
NOT_STARTED = (S.SCHEDULED, S.DISPATCHED, S.EN_ROUTE)  # late once the window has closed
# The statuses a dispatcher acts on, worst first; healthy and idle ones need nothing.
ATTENTION = (Status.NEEDS_RECONNECT, Status.STALE, Status.DEGRADED, Status.WARNING)


def work_order_list(**params) -> str:
    return f"{reverse('admin:core_workorder_changelist')}?{urlencode(params)}"


@dataclasses.dataclass
class StatusCount:
    status: str
    label: str
    count: int
    url: str


@dataclasses.dataclass
class LateJob:
    work_order: WorkOrder
    technician: Technician
    minutes_late: int

    @property
    def late_by(self) -> str:
        hours, minutes = divmod(self.minutes_late, 60)
        return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


@dataclasses.dataclass
class Waiting:
    customer_id: int
    customer_name: str
    count: int
    last_at: dt.datetime
    last_body: str
    url: str


@dataclasses.dataclass
class Dashboard:
    business: Business
    today: dt.date
    now: dt.datetime
    by_status: list[StatusCount]
    total_today: int
    today_url: str
    unassigned: int
    unassigned_first: list[WorkOrder]
    unassigned_url: str
    emergencies: list[WorkOrder]
    emergencies_url: str
    on_shift: list[Technician]
    active_technicians: int
    late: list[LateJob]
    attention: list  # monitoring Health rows
    health_url: str
    waiting: list[Waiting]
    waiting_url: str
    board_url: str


def dashboard_for(*, business: Business, now: dt.datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    today = local_today(business, now)
    start, end = day_bounds(business, today)
    window = {
        "arrival_window_start__gte": start.isoformat(),
        "arrival_window_start__lt": end.isoformat(),
    }
    todays = WorkOrder.objects.filter(
        business=business, arrival_window_start__gte=start, arrival_window_start__lt=end
    )
    counts = dict(todays.order_by().values_list("status").annotate(n=Count("pk")))
    by_status = [
        StatusCount(s.value, s.label, counts[s.value], work_order_list(**window, status__exact=s))
        for s in S
        if counts.get(s.value)
    ]
    unassigned_q = Q(assigned_technician__isnull=True, status__in=(S.NEW, S.SCHEDULED)) & (
        Q(arrival_window_start__lt=end) | Q(arrival_window_start__isnull=True)
    )
    open_orders = WorkOrder.objects.filter(business=business, status__in=OPEN)
    emergencies = list(
        open_orders.filter(priority=Priority.EMERGENCY)
        .select_related("customer", "assigned_technician__user")
        .order_by("arrival_window_start", "created_at")[:8]
    )
    return Dashboard(
        business=business,
        today=today,
        now=now,
        by_status=by_status,
        total_today=sum(counts.values()),
        today_url=work_order_list(**window),
        unassigned=WorkOrder.objects.filter(business=business).filter(unassigned_q).count(),
        unassigned_first=_first_unassigned(business, unassigned_q),
        unassigned_url=work_order_list(
            assigned_technician__isnull="True", status__in=f"{S.NEW},{S.SCHEDULED}"
        ),
        emergencies=emergencies,
        emergencies_url=work_order_list(
            priority__exact=Priority.EMERGENCY, status__in=",".join(OPEN)
        ),
        on_shift=technicians_on_shift(business=business, now=now),
        active_technicians=Technician.objects.filter(business=business, active=True).count(),
        late=late_jobs(business=business, now=now),
        attention=integrations_needing_attention(business=business, now=now),
        health_url=reverse("monitoring:dashboard"),
        waiting=messages_awaiting_reply(business=business),
        waiting_url=(
            reverse("admin:comms_communicationlog_changelist")
            + "?direction__exact=inbound&read_at__isnull=True"
        ),
        board_url=f"{reverse('admin:dispatch_board')}?date={today.isoformat()}",
    )


def _first_unassigned(business: Business, condition: Q) -> list[WorkOrder]:
    """Emergencies first, then high priority, then the earliest window (unbooked ones last)."""
    rank = Case(
        When(priority=Priority.EMERGENCY, then=0),
        When(priority=Priority.HIGH, then=1),
        default=2,
        output_field=IntegerField(),
    )
    return list(
        WorkOrder.objects.filter(business=business)
        .filter(condition)
        .select_related("customer")
        .annotate(rank=rank)
        .order_by("rank", F("arrival_window_start").asc(nulls_last=True), "created_at")[:5]
    )


def technicians_on_shift(*, business: Business, now: dt.datetime) -> list[Technician]:
    """Active technicians whose shift covers the business's current wall-clock time."""
    local = now.astimezone(business_zone(business)).time()
    return list(
        Technician.objects.filter(
            business=business, active=True, shift_start__lte=local, shift_end__gt=local
        ).select_related("user")
    )


def late_jobs(*, business: Business, now: dt.datetime) -> list[LateJob]:
    """Jobs whose arrival window has closed while the technician is not there yet."""
    orders = (
        WorkOrder.objects.filter(
            business=business,
            status__in=NOT_STARTED,
            assigned_technician__isnull=False,
            arrival_window_end__lt=now,
            arrival_window_end__gte=now - dt.timedelta(hours=24),
        )
        .select_related("assigned_technician__user", "customer")
        .order_by("arrival_window_end")
    )
    return [
        LateJob(
            work_order=order,
            technician=order.assigned_technician,
            minutes_late=int((now - order.arrival_window_end).total_seconds() // 60),
        )
        for order in orders
    ]


def integrations_needing_attention(*, business: Business, now: dt.datetime) -> list:
    health = business_health(business=business, now=now)
    flagged = [h for h in health.connections if h.status in ATTENTION]
    return sorted(flagged, key=lambda h: -Status.SEVERITY[h.status])


def messages_awaiting_reply(*, business: Business, limit: int = 8) -> list[Waiting]:
    """Customers whose latest texts nobody has read yet, longest waiting first."""
    unread = CommunicationLog.objects.filter(
        business=business,
        direction=Direction.INBOUND,
        read_at__isnull=True,
        customer__isnull=False,
    )
    rows = (
        unread.order_by()
        .values("customer_id", "customer__display_name")
        .annotate(n=Count("pk"), last=Max("created_at"))
        .order_by("last")[:limit]
    )
    waiting = []
    for row in rows:
        last = unread.filter(customer_id=row["customer_id"]).order_by("-created_at", "-pk").first()
        waiting.append(
            Waiting(
                customer_id=row["customer_id"],
                customer_name=row["customer__display_name"],
                count=row["n"],
                last_at=row["last"],
                last_body=(last.body if last else "")[:120],
                url=reverse("admin:comms_conversation", args=[row["customer_id"]]),
            )
        )
    return waiting
