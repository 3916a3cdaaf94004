"""Query filters for the work order list. Invalid values answer 400 (DjangoFilterBackend raises)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import django_filters
from django.db.models import Case, IntegerField, Value, When

from apps.core.api.filtering import BusinessFilterSet
from apps.core.models import Priority, Technician, WorkOrder, WorkOrderStatus

# Urgency as a number, so "-priority" puts emergencies first (the text values sort by accident).
PRIORITY_RANK = Case(
    When(priority=Priority.EMERGENCY, then=Value(2)),
    When(priority=Priority.HIGH, then=Value(1)),
    default=Value(0),
    output_field=IntegerField(),
)


def local_day_bounds(day: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a calendar day in a time zone, as aware datetimes. Built from wall-clock
    midnights, so days of 23 or 25 hours (DST changes) come out right."""
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


class StableOrderingFilter(django_filters.OrderingFilter):
    """Adds the primary key last, so pages never repeat or skip rows with equal sort keys."""

    def filter(self, qs, value):
        qs = super().filter(qs, value)
        if value:
            qs = qs.order_by(*qs.query.order_by, "pk")
        return qs


class WorkOrderFilter(BusinessFilterSet):
    date = django_filters.DateFilter(
        method="filter_date",
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "Enter a date as YYYY-MM-DD."},
        help_text="Arrival window starts on this day (YYYY-MM-DD) in the business's time zone.",
    )
    status = django_filters.MultipleChoiceFilter(
        choices=WorkOrderStatus.choices,
        help_text="Repeat to match several: ?status=scheduled&status=dispatched",
    )
    priority = django_filters.MultipleChoiceFilter(
        choices=Priority.choices, help_text="Repeat to match several."
    )
    # BusinessFilterSet limits the choices to the caller's business.
    assigned_technician = django_filters.ModelChoiceFilter(
        queryset=Technician.objects.all(), help_text="Technician id."
    )
    ordering = StableOrderingFilter(
        fields=(
            ("arrival_window_start", "arrival_window_start"),
            ("priority_rank", "priority"),
            ("number", "number"),
        ),
        help_text="arrival_window_start, priority or number; prefix '-' to reverse "
        "('-priority' lists emergencies first).",
    )

    class Meta:
        model = WorkOrder
        fields = ["date", "status", "priority", "assigned_technician"]

    def filter_date(self, queryset, name, value: dt.date):
        start, end = local_day_bounds(value, self.request.user.business.timezone)
        return queryset.filter(arrival_window_start__gte=start, arrival_window_start__lt=end)

    def filter_queryset(self, queryset):
        return super().filter_queryset(queryset.annotate(priority_rank=PRIORITY_RANK))
