"""demo_seed: builds a whole demo company (or skips it when its slug exists).

Deterministic: every choice comes from one random.Random(seed) per company, so the same seed gives
the same customers, equipment and work orders; only dates move, relative to the business's today.
"""

from __future__ import annotations

import dataclasses
import random
import time
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from apps.core import events
from apps.core.models import (
    Business,
    Customer,
    Equipment,
    Invoice,
    Part,
    Payment,
    Role,
    ServiceCategory,
    ServiceLocation,
    Skill,
    Technician,
    User,
    VanStock,
    WorkOrder,
    WorkOrderStatusChange,
)

from . import catalog, people
from .work_orders import seed_work_orders

DEFAULT_SLUG = "front-range-comfort"
RIVAL_SLUG = "rival-plumbing"


@dataclasses.dataclass(frozen=True)
class CompanySpec:
    name: str
    slug: str
    main_phone: str
    emergency_phone: str
    categories: tuple[str, ...]
    roster: tuple[catalog.Tech, ...]
    office: tuple[tuple[str, str, str, str], ...]
    customers: int
    work_orders: int
    username_prefix: str = ""
    seed_offset: int = 0  # keeps the two companies' random streams apart


FRONT_RANGE = CompanySpec(
    name="Front Range Comfort Heating, Cooling & Plumbing",
    slug=DEFAULT_SLUG,
    main_phone="+13035550100",
    emergency_phone="+13035550111",
    categories=tuple(code for code, *_ in catalog.CATEGORIES),
    roster=tuple(catalog.ROSTER),
    office=tuple(catalog.OFFICE),
    customers=300,
    work_orders=500,
)
# A second, tiny tenant, so the demo can show that one business never sees another's rows.
RIVAL = CompanySpec(
    name="Rival Plumbing",
    slug=RIVAL_SLUG,
    main_phone="+17205550150",
    emergency_phone="+17205550151",
    categories=("plumbing",),
    roster=(
        catalog.Tech("Vince", "Moretti", "plumber", "day", "aurora"),
        catalog.Tech("Gina", "Park", "drains", "early", "lakewood"),
    ),
    office=(("dispatch", "Marla", "Quinn", Role.DISPATCHER),),
    customers=6,
    work_orders=8,
    username_prefix="rival.",
    seed_offset=1,
)


@dataclasses.dataclass
class SeedReport:
    business: Business
    created: bool  # False: the slug existed, nothing was written
    counts: dict[str, int]
    token_username: str | None
    token_key: str | None
    other_business_created: bool
    seconds: float


def demo_seed(
    *, seed: int = 42, slug: str = DEFAULT_SLUG, customers: int = 300, work_orders: int = 500
) -> SeedReport:
    """Seed the demo company and its rival; a company whose slug exists is left as it is."""
    started = time.monotonic()
    spec = dataclasses.replace(FRONT_RANGE, customers=customers, work_orders=work_orders)
    if slug != DEFAULT_SLUG:  # usernames are global, so another copy needs its own
        spec = dataclasses.replace(spec, slug=slug, username_prefix=f"{slug}.")
    if slug == RIVAL_SLUG:
        raise ValueError(f"'{RIVAL_SLUG}' is the demo's second business; pick another slug.")
    with transaction.atomic(), events.suppressed():
        business, created = _seed_company(spec, seed)
        _, rival_created = _seed_company(RIVAL, seed)
    # Only the demo's own technician gets a token: a real business that happens to have this
    # slug must never have credentials minted and printed for one of its people.
    user = User.objects.filter(
        business=business, username=_username(spec, spec.roster[0]), role=Role.TECHNICIAN
    ).first()
    token = Token.objects.get_or_create(user=user)[0] if user else None
    return SeedReport(
        business=business,
        created=created,
        counts=business_counts(business),
        token_username=user.username if user else None,
        token_key=token.key if token else None,
        other_business_created=rival_created,
        seconds=time.monotonic() - started,
    )


def business_counts(business: Business) -> dict[str, int]:
    models = [
        User,
        Technician,
        Customer,
        ServiceLocation,
        Equipment,
        Part,
        WorkOrder,
        WorkOrderStatusChange,
        Invoice,
        Payment,
    ]
    return {
        m._meta.verbose_name_plural: m.objects.filter(business=business).count() for m in models
    }


def _seed_company(spec: CompanySpec, seed: int) -> tuple[Business, bool]:
    existing = Business.objects.filter(slug=spec.slug).first()
    if existing is not None:
        return existing, False
    rng = random.Random(seed + spec.seed_offset)
    business = Business.objects.create(
        name=spec.name,
        slug=spec.slug,
        timezone="America/Denver",
        main_phone=spec.main_phone,
        emergency_phone=spec.emergency_phone,
        currency="USD",
    )
    business.refresh_from_db()  # the time zone field hands back a ZoneInfo after a read
    today = timezone.localdate(timezone=business.timezone)
    categories, skills, parts = _reference_data(business, spec)
    office, technicians = _staff(rng, business, spec, skills, parts)
    pairs = people.build_customers(rng, business, spec.customers)
    Customer.objects.bulk_create([c for c, _ in pairs])
    locations = ServiceLocation.objects.bulk_create(people.build_locations(rng, business, pairs))
    equipment = Equipment.objects.bulk_create(
        people.build_equipment(rng, business, locations, today)
    )
    seed_work_orders(
        rng,
        business=business,
        count=spec.work_orders,
        today=today,
        categories=categories,
        skills=skills,
        parts=parts,
        office=office,
        technicians=technicians,
        locations=locations,
        equipment=equipment,
    )
    return business, True


def _reference_data(business: Business, spec: CompanySpec):
    categories = {
        code: ServiceCategory.objects.create(
            business=business,
            code=code,
            name=name,
            revenue_category=revenue,
            default_duration_minutes=minutes,
        )
        for code, name, revenue, minutes in catalog.CATEGORIES
        if code in spec.categories
    }
    skills = {
        s.code: s
        for s in Skill.objects.bulk_create(
            Skill(business=business, code=code, name=name, kind=kind)
            for code, name, kind in catalog.SKILLS
        )
    }
    parts = {
        p.sku: p
        for p in Part.objects.bulk_create(
            Part(
                business=business,
                sku=sku,
                name=name,
                unit_price=Decimal(price),
                category=categories[code],
            )
            for sku, name, price, code in catalog.PARTS
            if code in categories
        )
    }
    return categories, skills, parts


# Van stock by trade: which part categories a technician carries.
_STOCKED = {"hvac": ("hvac", "maintenance"), "plumb": ("plumbing",), "elec": ("electrical",)}


def _trade(archetype: str) -> str:
    if archetype.startswith("hvac"):
        return "hvac"
    return "elec" if "electrician" in archetype else "plumb"


def _staff(rng, business, spec: CompanySpec, skills, parts):
    # One hash for every demo account: hashing is deliberately slow, and they share a password.
    password = make_password(settings.DEMO_ADMIN_PASSWORD)
    email_domain = f"{spec.slug}.example.com"
    office = User.objects.bulk_create(
        User(
            business=business,
            username=f"{spec.username_prefix}{username}",
            first_name=first,
            last_name=last,
            email=f"{username}@{email_domain}",
            role=role,
            is_staff=True,
            password=password,
        )
        for username, first, last, role in spec.office
    )
    _grant_office_permissions(office)
    tech_users = User.objects.bulk_create(
        User(
            business=business,
            username=_username(spec, t),
            first_name=t.first,
            last_name=t.last,
            role=Role.TECHNICIAN,
            password=password,
            email=f"{t.first}.{t.last}@{email_domain}".lower(),
        )
        for t in spec.roster
    )
    technicians = []
    for tech, user in zip(spec.roster, tech_users, strict=True):
        home = people.address(rng, tech.home_area)
        start, end = catalog.SHIFTS[tech.shift]
        technicians.append(
            Technician(
                business=business,
                user=user,
                phone=people.phone(rng),
                home_base_address=f"{home['address_line1']}, {home['city']}, CO {home['postal_code']}",
                home_latitude=home["latitude"],
                home_longitude=home["longitude"],
                shift_start=start,
                shift_end=end,
                lunch_break_minutes=rng.choice((30, 30, 45, 60)),
                max_overtime_minutes=rng.choice((0, 60, 60, 120)),
            )
        )
    technicians = Technician.objects.bulk_create(technicians)
    skill_rows, stock = [], []
    for tech, technician in zip(spec.roster, technicians, strict=True):
        codes = dict.fromkeys([*catalog.ARCHETYPES[tech.archetype], *tech.extras])
        skill_rows += [
            Technician.skills.through(technician_id=technician.pk, skill_id=skills[c].pk)
            for c in codes
        ]
        carried = [p for p in parts.values() if p.category.code in _STOCKED[_trade(tech.archetype)]]
        for part in carried:
            if rng.random() < 0.75:
                bulk = part.sku.endswith(("-LB", "-FT"))  # sold by the pound or the foot
                quantity = rng.randint(10, 60) if bulk else rng.randint(1, 6)
                stock.append(
                    VanStock(business=business, technician=technician, part=part, quantity=quantity)
                )
    Technician.skills.through.objects.bulk_create(skill_rows)
    VanStock.objects.bulk_create(stock)
    return office, technicians


def _username(spec: CompanySpec, tech: catalog.Tech) -> str:
    return f"{spec.username_prefix}{tech.first}.{tech.last}".lower()


def _grant_office_permissions(users: list[User]) -> None:
    # Imported here: the admin package is optional to the seed and imports the admin site.
    from apps.core.admin.permissions import grant_office_permissions

    for user in users:
        grant_office_permissions(user)
