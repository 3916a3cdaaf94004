"""Filters of the readings list. Choices are the caller's business's (BusinessFilterSet), and a
technician's work-order choices are their own jobs: an order they cannot open answers like a
missing one."""

from __future__ import annotations

import django_filters

from apps.core.api.filtering import BusinessFilterSet
from apps.core.models import Equipment, WorkOrder
from apps.diagnostics.models import Reading


def visible_work_orders(request):
    """Office staff: every order of the business (BusinessFilterSet adds that filter).
    Technicians: the orders assigned to them."""
    user = request.user
    orders = WorkOrder.objects.all()
    if user.is_superuser or user.is_office_staff:
        return orders
    return orders.filter(assigned_technician__user=user)


class ReadingFilter(BusinessFilterSet):
    work_order = django_filters.ModelChoiceFilter(
        queryset=visible_work_orders, help_text="Work order id."
    )
    equipment = django_filters.ModelChoiceFilter(
        queryset=Equipment.objects.all(), help_text="Equipment id."
    )

    class Meta:
        model = Reading
        fields = ["work_order", "equipment", "phase", "quantity", "capture_method"]
