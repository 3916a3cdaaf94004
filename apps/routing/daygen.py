"""A realistic synthetic day for the day benchmark and the tests: technicians with skills and
stocked vans around a metro area, jobs with windows, durations, skills, parts and emergencies.

Deterministic for a seed. Rows are bulk-created (no events), like an import would.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import zoneinfo
from decimal import Decimal

from apps.core.models import (
    Business,
    Customer,
    Part,
    Priority,
    Role,
    ServiceCategory,
    ServiceLocation,
    Skill,
    Technician,
    User,
    VanStock,
    WorkOrder,
    WorkOrderPart,
)

SKILLS = [
    ("hvac", "HVAC service"),
    ("epa-608", "EPA 608 refrigerant certification"),
    ("gas", "Gas piping"),
    ("electrical", "Electrical panels"),
    ("boiler", "Boilers and hydronics"),
    ("plumbing", "Plumbing"),
]
PARTS = [
    ("CAP-45-5", "Run capacitor 45/5 uF"),
    ("CONT-30A", "Contactor 30 A"),
    ("IGN-HSI", "Hot surface igniter"),
    ("FLT-16X25", "Filter 16x25x1"),
    ("TSTAT-WIFI", "Wi-Fi thermostat"),
    ("FLAME-SENS", "Flame sensor"),
    ("MOTOR-ECM", "ECM blower motor"),
    ("VALVE-GAS", "Gas valve"),
    ("BRKR-20A", "Breaker 20 A"),
    ("WH-ANODE", "Water heater anode rod"),
]
# Minutes a job takes: mostly short service calls (tune-ups, diagnostics), some repairs. Ten a
# day per technician, as in the 40 x 400 day, only works with calls this short.
DURATIONS = [15, 20, 20, 30, 30, 30, 30, 45, 45, 60, 90]
WINDOWS = [(8, 10), (10, 12), (12, 14), (14, 16), (8, 12), (12, 16), (8, 17)]
CENTER = (39.7392, -104.9903)  # Denver


@dataclasses.dataclass
class GeneratedDay:
    business: Business
    date: dt.date
    technicians: list[Technician]
    jobs: list[WorkOrder]
    skills: dict[str, Skill]
    parts: dict[str, Part]
    rng: random.Random

    def emergency(self, *, number: str, duration: int = 60) -> WorkOrder:
        """One more emergency job somewhere in the area (no window: as soon as possible)."""
        return _jobs(self, 1, emergencies=1, prefix=number, durations=[duration])[0]


def _near(rng: random.Random, spread_km: float) -> tuple[Decimal, Decimal]:
    lat = CENTER[0] + rng.gauss(0, spread_km / 111.0)
    lng = CENTER[1] + rng.gauss(0, spread_km / 85.0)  # a degree of longitude is ~85 km here
    return Decimal(f"{lat:.6f}"), Decimal(f"{lng:.6f}")


def generate_day(
    *,
    business: Business,
    date: dt.date,
    technicians: int = 40,
    jobs: int = 400,
    emergencies: int = 0,
    seed: int = 7,
    spread_km: float = 10.0,
) -> GeneratedDay:
    rng = random.Random(seed)  # noqa: S311  (synthetic data, reproducible by seed)
    skills = {
        code: Skill.objects.get_or_create(business=business, code=code, defaults={"name": name})[0]
        for code, name in SKILLS
    }
    parts = {
        sku: Part.objects.get_or_create(
            business=business, sku=sku, defaults={"name": name, "unit_price": Decimal("25.00")}
        )[0]
        for sku, name in PARTS
    }
    category = ServiceCategory.objects.get_or_create(
        business=business,
        code="hvac",
        defaults={"name": "HVAC", "revenue_category": "HVAC service revenue"},
    )[0]
    day = GeneratedDay(business, date, [], [], skills, parts, rng)
    day.technicians = _technicians(day, technicians, spread_km)
    day.jobs = _jobs(day, jobs, emergencies=emergencies, category=category, spread_km=spread_km)
    return day


def _technicians(day: GeneratedDay, count: int, spread_km: float) -> list[Technician]:
    rng, business = day.rng, day.business
    users = User.objects.bulk_create(
        [
            User(
                business=business,
                username=f"{business.slug}-tech-{i:03d}",
                first_name="Tech",
                last_name=f"{i:03d}",
                role=Role.TECHNICIAN,
            )
            for i in range(count)
        ]
    )
    techs = []
    for user in users:
        lat, lng = _near(rng, spread_km * 1.3)
        start = rng.choice([dt.time(7, 30), dt.time(8, 0), dt.time(8, 0), dt.time(8, 30)])
        techs.append(
            Technician(
                business=business,
                user=user,
                home_latitude=lat,
                home_longitude=lng,
                shift_start=start,
                shift_end=(dt.datetime.combine(day.date, start) + dt.timedelta(hours=9)).time(),
                lunch_break_minutes=30,
                max_overtime_minutes=rng.choice([0, 60, 60, 90]),
            )
        )
    techs = Technician.objects.bulk_create(techs)
    codes = list(day.skills)
    stock = []
    for tech in techs:
        # Everyone does HVAC service; two or three specialities on top.
        owned = {"hvac", *rng.sample(codes[1:], rng.choice([1, 2, 3]))}
        tech.skills.set([day.skills[c] for c in owned])
        for sku in rng.sample(list(day.parts), rng.randint(5, 9)):
            stock.append(
                VanStock(
                    business=business,
                    technician=tech,
                    part=day.parts[sku],
                    quantity=rng.randint(1, 4),
                )
            )
    VanStock.objects.bulk_create(stock)
    return techs


def _jobs(
    day: GeneratedDay,
    count: int,
    *,
    emergencies: int,
    category: ServiceCategory | None = None,
    spread_km: float = 10.0,
    prefix: str = "GEN",
    durations: list[int] | None = None,
) -> list[WorkOrder]:
    rng, business = day.rng, day.business
    category = category or ServiceCategory.objects.get(business=business, code="hvac")
    tz = zoneinfo.ZoneInfo(str(business.timezone))
    start_index = WorkOrder.objects.filter(business=business).count()
    customers = Customer.objects.bulk_create(
        [
            Customer(business=business, display_name=f"{prefix} customer {start_index + i}")
            for i in range(count)
        ]
    )
    locations = []
    for customer in customers:
        lat, lng = _near(rng, spread_km)
        locations.append(
            ServiceLocation(business=business, customer=customer, latitude=lat, longitude=lng)
        )
    locations = ServiceLocation.objects.bulk_create(locations)
    orders = []
    for i, (customer, location) in enumerate(zip(customers, locations, strict=True)):
        emergency = i < emergencies
        window = None
        roll = rng.random()
        if not emergency and roll < 0.85:
            window = rng.choice(WINDOWS)
        start = end = None
        if window:
            start = dt.datetime.combine(day.date, dt.time(window[0])).replace(tzinfo=tz)
            end = dt.datetime.combine(day.date, dt.time(window[1])).replace(tzinfo=tz)
        priority = (
            Priority.EMERGENCY
            if emergency
            else (Priority.HIGH if rng.random() < 0.1 else Priority.NORMAL)
        )
        orders.append(
            WorkOrder(
                business=business,
                number=f"{prefix}-{start_index + i:05d}",
                customer=customer,
                location=location,
                category=category,
                summary="Emergency: no heat" if emergency else "Service call",
                priority=priority,
                arrival_window_start=start,
                arrival_window_end=end,
                estimated_duration_minutes=rng.choice(durations or DURATIONS),
            )
        )
    orders = WorkOrder.objects.bulk_create(orders)
    through = WorkOrder.required_skills.through
    skill_rows, part_rows = [], []
    codes = list(day.skills)
    for order in orders:
        needs = rng.random()
        if needs < 0.45:
            skill_rows.append(through(workorder_id=order.pk, skill_id=day.skills["hvac"].pk))
        elif needs < 0.75:
            code = rng.choice(codes[1:])
            skill_rows.append(through(workorder_id=order.pk, skill_id=day.skills[code].pk))
        if rng.random() < 0.3:
            part = day.parts[rng.choice(list(day.parts))]
            part_rows.append(
                WorkOrderPart(business=business, work_order=order, part=part, quantity=1)
            )
    through.objects.bulk_create(skill_rows)
    WorkOrderPart.objects.bulk_create(part_rows)
    return orders


def advance_to(plan, clock: dt.datetime) -> None:
    """Walk the applied plan's jobs through their real status changes up to `clock`.

    Jobs finished by then are completed, the job in progress is on site, a technician driving
    is en route to the next one, and each technician's position is posted at `clock`. Status
    change times are set to the simulated times, as if the day had really happened.
    """
    from apps.core.models import WorkOrderStatus as S
    from apps.core.models import WorkOrderStatusChange
    from apps.core.services.work_orders import work_order_transition
    from apps.routing.models import RouteStop, TechnicianLocation

    path = {
        S.SCHEDULED: [S.DISPATCHED, S.EN_ROUTE, S.ON_SITE, S.COMPLETED],
        S.DISPATCHED: [S.EN_ROUTE, S.ON_SITE, S.COMPLETED],
        S.EN_ROUTE: [S.ON_SITE, S.COMPLETED],
        S.ON_SITE: [S.COMPLETED],
    }
    stops = RouteStop.objects.filter(plan=plan).select_related("work_order__location")
    by_tech: dict[int, list] = {}
    for stop in stops.order_by("technician_id", "sequence"):
        by_tech.setdefault(stop.technician_id, []).append(stop)
    for tech_id, route in by_tech.items():
        position = None
        for stop in route:
            order = stop.work_order
            if order.status not in path:
                continue
            if stop.departure <= clock:
                target = S.COMPLETED
            elif stop.service_start <= clock:
                target = S.ON_SITE
            elif stop.eta <= clock:
                target = S.DISPATCHED  # arrived early, waiting for the window: there already
            elif stop.eta - dt.timedelta(minutes=stop.drive_minutes) <= clock:
                target = S.EN_ROUTE
            else:
                break
            leave = stop.eta - dt.timedelta(minutes=stop.drive_minutes)
            moment = {
                S.DISPATCHED: leave,
                S.EN_ROUTE: leave,
                S.ON_SITE: stop.service_start,
                S.COMPLETED: stop.departure,
            }
            for status in path[order.status]:
                if order.status == target:
                    break
                work_order_transition(work_order=order, to_status=status, by=None)
                # Only the moves made now get simulated times; earlier ones keep theirs.
                WorkOrderStatusChange.objects.filter(
                    pk=order.status_changes.latest("pk").pk
                ).update(changed_at=min(moment[status], clock))
                if status == target:
                    break
            location = order.location
            if target == S.EN_ROUTE:
                # Part-way there: a phone posting every minute would say so.
                if position is not None and stop.drive_minutes:
                    left = stop.eta - dt.timedelta(minutes=stop.drive_minutes)
                    share = min(1.0, (clock - left).total_seconds() / (stop.drive_minutes * 60))
                    position = tuple(
                        Decimal(f"{float(a) + share * (float(b) - float(a)):.6f}")
                        for a, b in zip(
                            position, (location.latitude, location.longitude), strict=True
                        )
                    )
                break
            if target == S.DISPATCHED:
                position = (location.latitude, location.longitude)
                break
            position = (location.latitude, location.longitude)
            if target == S.ON_SITE:
                break
        if position is not None:
            TechnicianLocation.objects.create(
                business_id=plan.business_id,
                technician_id=tech_id,
                latitude=position[0],
                longitude=position[1],
                recorded_at=clock,
            )
