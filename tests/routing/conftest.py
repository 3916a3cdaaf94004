"""A small service area around Denver, with builders for technicians and jobs.

Plans are made for tomorrow with the clock set to 06:00 (or mid-morning for re-plans), so tests
do not depend on the hour they run at. Solver time limits are kept to fractions of a second.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.core.cache import cache

from apps.core.models import Skill, VanStock, WorkOrderPart
from apps.integrations import ratelimit
from apps.routing.checks import plan_violations
from tests import factories as f

DENVER = zoneinfo.ZoneInfo("America/Denver")
# Points a few kilometres apart in the metro area.
PLACES = {
    "downtown": (39.7392, -104.9903),
    "capitol_hill": (39.7312, -104.9826),
    "highlands": (39.7626, -105.0114),
    "cherry_creek": (39.7169, -104.9531),
    "wash_park": (39.6995, -104.9690),
    "lakewood": (39.7047, -105.0814),
    "aurora": (39.7294, -104.8319),
    "littleton": (39.6133, -105.0166),
    "arvada": (39.8028, -105.0875),
    "golden": (39.7555, -105.2211),
    "boulder": (40.0150, -105.2705),
}


@pytest.fixture(autouse=True)
def _isolated(settings):
    settings.ROUTING_POLICY = {"plan_seconds": 0.4, "replan_seconds": 0.4}
    cache.clear()
    ratelimit.reset_backend(ratelimit.LocalBackend())
    yield
    ratelimit.reset_backend(None)
    cache.clear()


@pytest.fixture
def plan_date() -> dt.date:
    return dt.datetime.now(DENVER).date() + dt.timedelta(days=1)


def at(date: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(date, dt.time(hour, minute)).replace(tzinfo=DENVER)


@pytest.fixture
def morning(plan_date) -> dt.datetime:
    return at(plan_date, 6)


class World:
    def __init__(self, business):
        self.business = business
        self.category = f.ServiceCategoryFactory(business=business)

    def skill(self, code: str) -> Skill:
        return Skill.objects.get_or_create(
            business=self.business, code=code, defaults={"name": code.replace("-", " ").title()}
        )[0]

    def part(self, sku: str):
        return f.PartFactory(business=self.business, sku=sku, name=f"Part {sku}")

    def technician(
        self,
        name: str,
        home: str = "downtown",
        *,
        skills=(),
        stock=None,
        shift=(dt.time(8), dt.time(17)),
        lunch: int = 0,
        overtime: int = 0,
    ):
        lat, lng = PLACES[home]
        tech = f.TechnicianFactory(
            business=self.business,
            user__first_name=name,
            user__last_name="Tech",
            home_latitude=Decimal(f"{lat:.6f}"),
            home_longitude=Decimal(f"{lng:.6f}"),
            shift_start=shift[0],
            shift_end=shift[1],
            lunch_break_minutes=lunch,
            max_overtime_minutes=overtime,
        )
        tech.skills.set([self.skill(s) for s in skills])
        for part, quantity in (stock or {}).items():
            VanStock.objects.create(
                business=self.business, technician=tech, part=part, quantity=quantity
            )
        return tech

    def job(
        self,
        where: str = "capitol_hill",
        *,
        window: tuple[dt.datetime, dt.datetime] | None = None,
        minutes: int = 60,
        skills=(),
        parts=None,
        priority: str = "normal",
        summary: str = "Service call",
        customer=None,
        **kwargs,
    ):
        lat, lng = PLACES[where] if where else (None, None)
        customer = customer or f.CustomerFactory(business=self.business)
        location = f.ServiceLocationFactory(
            customer=customer,
            latitude=None if lat is None else Decimal(f"{lat:.6f}"),
            longitude=None if lng is None else Decimal(f"{lng:.6f}"),
        )
        order = f.WorkOrderFactory(
            location=location,
            category=self.category,
            summary=summary,
            priority=priority,
            arrival_window_start=window[0] if window else None,
            arrival_window_end=window[1] if window else None,
            estimated_duration_minutes=minutes,
            **kwargs,
        )
        order.required_skills.set([self.skill(s) for s in skills])
        for part, quantity in (parts or {}).items():
            WorkOrderPart.objects.create(
                business=self.business, work_order=order, part=part, quantity=quantity
            )
        return order


@pytest.fixture
def world(business):
    business.timezone = "America/Denver"
    business.save(update_fields=["timezone"])
    return World(business)


@pytest.fixture
def rival_world(other_business):
    other_business.timezone = "America/Denver"
    other_business.save(update_fields=["timezone"])
    return World(other_business)


def assert_feasible(plan) -> None:
    """The independent checker finds nothing wrong: run on every plan the tests make."""
    assert plan_violations(plan) == []


def route_of(plan, technician) -> list[str]:
    return list(
        plan.stops.filter(technician=technician)
        .order_by("sequence")
        .values_list("work_order__number", flat=True)
    )


def reasons(plan) -> dict[str, str]:
    return dict(plan.unassigned.values_list("work_order__number", "reason"))
