"""A small dispatch day for Acme HVAC (America/Denver) and a rival business with its own rows."""

import datetime as dt
import types
import zoneinfo

import pytest

from apps.core import models as m
from apps.core.admin.permissions import grant_office_permissions
from apps.core.services.work_orders import work_order_transition
from tests import factories as f
from tests.admin.conftest import other, own, superuser  # noqa: F401  (the two-business world)

DENVER = zoneinfo.ZoneInfo("America/Denver")
DAY = dt.date(2026, 12, 8)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=DENVER)


def job(business, *, start=None, hours=2, technician=None, priority="normal", summary="No heat"):
    location = f.ServiceLocationFactory(
        customer=f.CustomerFactory(business=business), latitude="39.74", longitude="-104.99"
    )
    return f.WorkOrderFactory(
        location=location,
        summary=summary,
        priority=priority,
        arrival_window_start=start,
        arrival_window_end=start + dt.timedelta(hours=hours) if start else None,
        assigned_technician=technician,
    )


@pytest.fixture
def day_world(business, other_business):
    marcus = f.TechnicianFactory(
        business=business, user__first_name="Marcus", user__last_name="Rivera"
    )
    jenna = f.TechnicianFactory(business=business, user__first_name="Jenna", user__last_name="Ko")
    booked = job(business, start=at(DAY, 8), technician=marcus, summary="Furnace tune-up")
    work_order_transition(work_order=booked, to_status="scheduled", by=None)
    waiting = job(business, summary="Water heater leaking")
    emergency = job(business, start=at(DAY, 13), priority="emergency", summary="Gas smell")
    dispatched = job(business, start=at(DAY, 10), technician=jenna, summary="AC not cooling")
    for status in ("scheduled", "dispatched"):
        work_order_transition(work_order=dispatched, to_status=status, by=None)
    rival_tech = f.TechnicianFactory(business=other_business, user__last_name="RIVALMARK")
    rival_job = job(other_business, start=at(DAY, 9), technician=rival_tech, summary="RIVALMARK")
    return types.SimpleNamespace(**locals())


@pytest.fixture
def office(dispatcher):
    grant_office_permissions(dispatcher)
    return dispatcher


@pytest.fixture
def platform_admin(db):
    return m.User.objects.create_superuser(
        "platform", "platform@example.com", "correct-horse-battery", business=None
    )


@pytest.fixture
def manager(business):
    user = f.UserFactory(business=business, role=m.Role.MANAGER, is_staff=True)
    grant_office_permissions(user)
    return user
