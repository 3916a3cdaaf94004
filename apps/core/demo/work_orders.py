"""Demo work orders, walked through the real services so that the audit trail, the lines, the
invoices and the payments are exactly what the product itself writes. Only the clock is faked:
the services stamp "now", so the times are backdated to the plan's afterwards.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal

from django.utils import timezone

from apps.core.models import (
    Business,
    Equipment,
    Invoice,
    LineItem,
    Part,
    PaymentMethod,
    Priority,
    Role,
    ServiceCategory,
    ServiceLocation,
    Skill,
    Technician,
    User,
    WorkOrder,
    WorkOrderPart,
    WorkOrderStatus,
    WorkOrderStatusChange,
)
from apps.core.services.billing import invoice_create_for_work_order, payment_record
from apps.core.services.work_orders import (
    work_order_create,
    work_order_line_add,
    work_order_transition,
)

from .catalog import (
    DIAGNOSTIC_FEE,
    EMERGENCY_FEE,
    JOB_TYPES,
    REFRIGERANT_PARTS,
    SALES_TAX_RATE,
    JobType,
)
from .plan import Job, plan_jobs

S = WorkOrderStatus
CENT = Decimal("0.01")
TECH_STEPS = {S.EN_ROUTE, S.ON_SITE, S.COMPLETED}
NOTES = {
    S.CANCELLED: ["Customer cancelled: the problem went away.", "Customer went with another company.",
                  "Duplicate booking."],
    S.ON_HOLD: ["Customer asked to move the visit; will call back.",
                "Waiting on the customer to approve the estimate."],
    "site_hold": ["Waiting on parts: ordered from the supply house.",
                  "Needs a permit before the work can go on."],
    S.NEW: ["Customer called back: the problem is back."],
    S.COMPLETED: ["Repaired and tested; system running normally.",
                  "Work complete; walked the customer through it."],
}  # fmt: skip


def seed_work_orders(
    rng: random.Random,
    *,
    business: Business,
    count: int,
    today: dt.date,
    categories: dict[str, ServiceCategory],
    skills: dict[str, Skill],
    parts: dict[str, Part],
    office: list[User],
    technicians: list[Technician],
    locations: list[ServiceLocation],
    equipment: list[Equipment],
) -> list[WorkOrder]:
    now = timezone.localtime(timezone=business.timezone)
    tech_skills: dict[int, set[str]] = defaultdict(set)
    for tech_id, code in Technician.skills.through.objects.filter(
        technician__business=business
    ).values_list("technician_id", "skill__code"):
        tech_skills[tech_id].add(code)
    # Only jobs this company does and someone on the roster is qualified for.
    job_types = [
        jt
        for jt in JOB_TYPES
        if jt.category in categories and any(set(jt.skills) <= s for s in tech_skills.values())
    ]
    units: dict[int, list[Equipment]] = defaultdict(list)
    for unit in equipment:
        units[unit.location_id].append(unit)
    locations_by_kind: dict[str, list[ServiceLocation]] = defaultdict(list, {"": locations})
    for location in locations:
        for kind in dict.fromkeys(u.kind for u in units[location.pk]):
            locations_by_kind[kind].append(location)
    jobs = plan_jobs(
        rng,
        count=count,
        today=today,
        now=now,
        job_types=job_types,
        technicians=technicians,
        tech_skills=tech_skills,
        locations_by_kind=locations_by_kind,
    )
    dispatchers = [u for u in office if u.role == Role.DISPATCHER] or office
    walked, links = [], _Links()
    for job in jobs:
        unit = next((u for u in units[job.location.pk] if u.kind == job.kind.equipment), None)
        needed = _parts_needed(rng, job.kind, unit, parts)
        wo, invoice = _walk(rng, job, business, categories, rng.choice(dispatchers), needed)
        links.add(wo, job.kind, unit, needed, skills)
        walked.append((wo, job, invoice))
    links.save()
    _backdate(business, walked)
    return [wo for wo, _, _ in walked]


def _parts_needed(rng, kind: JobType, unit, parts) -> list[tuple[Part, Decimal]]:
    needed = []
    for sku, quantity in kind.parts:
        if sku.startswith("REF-"):  # recharge with what the unit holds, by the pound
            sku = REFRIGERANT_PARTS.get(unit.refrigerant, sku) if unit else sku
            quantity = rng.randint(1, 5)
        if sku in parts:
            needed.append((parts[sku], Decimal(quantity)))
    return needed


def _walk(rng, job: Job, business, categories, clerk: User, needed):
    window = job.window or (None, None)
    wo = work_order_create(
        business=business,
        customer=job.location.customer,
        location=job.location,
        category=categories[job.kind.category],
        summary=job.kind.summary,
        description=job.kind.description,
        priority=job.priority,
        arrival_window_start=window[0],
        arrival_window_end=window[1],
        estimated_duration_minutes=job.kind.minutes,
        assigned_technician=job.technician,
        created_by=clerk,
    )
    invoice = None
    for i, step in enumerate(job.path):
        at = job.times[i + 1]
        previous = job.path[i - 1] if i else S.NEW
        if step == S.COMPLETED:
            _add_lines(job, wo, categories[job.kind.category], needed)
        if step == S.INVOICED:
            invoice = invoice_create_for_work_order(
                work_order=wo, tax_rate=SALES_TAX_RATE, by=clerk
            )
            if rng.random() < 0.15:  # a deposit taken with the invoice
                _pay(rng, invoice, (invoice.total / 2).quantize(CENT), at, clerk)
        elif step == S.PAID:
            invoice.refresh_from_db()
            _pay(rng, invoice, invoice.balance_due, at, clerk)  # moves the order to paid
        else:
            on_site_hold = step == S.ON_HOLD and previous == S.ON_SITE
            by = job.technician.user if step in TECH_STEPS or on_site_hold else clerk
            notes = NOTES.get("site_hold" if on_site_hold else step)
            work_order_transition(
                work_order=wo, to_status=step, by=by, note=rng.choice(notes) if notes else ""
            )
    return wo, invoice


def _add_lines(job: Job, wo: WorkOrder, category: ServiceCategory, needed) -> None:
    """What the technician adds on site before closing the job."""
    by, kind = job.technician.user, job.kind
    if job.priority == Priority.EMERGENCY:
        fee = ("Emergency dispatch fee", EMERGENCY_FEE)
    elif kind.category != "maintenance" and Decimal(kind.labour) < 500:
        fee = ("Diagnostic fee", DIAGNOSTIC_FEE)
    else:
        fee = None
    if fee:  # labour and fees are not taxed in Colorado; parts are
        work_order_line_add(
            work_order=wo,
            kind=LineItem.Kind.FEE,
            description=fee[0],
            quantity=Decimal(1),
            unit_price=fee[1],
            category=category,
            taxable=False,
            by=by,
        )
    work_order_line_add(
        work_order=wo,
        kind=LineItem.Kind.SERVICE,
        description=f"Labour: {kind.summary}",
        quantity=Decimal(1),
        unit_price=Decimal(kind.labour),
        category=category,
        taxable=False,
        by=by,
    )
    for part, quantity in needed:
        work_order_line_add(
            work_order=wo,
            kind=LineItem.Kind.PART,
            description="",
            quantity=quantity,
            part=part,
            by=by,
        )


def _pay(rng, invoice: Invoice, amount: Decimal, at: dt.datetime, clerk: User) -> None:
    method = rng.choices(
        [PaymentMethod.CARD, PaymentMethod.CHECK, PaymentMethod.ACH, PaymentMethod.CASH],
        [55, 20, 15, 10],
    )[0]
    reference = {
        PaymentMethod.CARD: f"{rng.choice(('Visa', 'Mastercard', 'Amex'))} ending {rng.randint(1000, 9999)}",
        PaymentMethod.CHECK: f"Check #{rng.randint(1001, 4999)}",
        PaymentMethod.ACH: f"ACH trace {rng.randint(10**8, 10**9 - 1)}",
    }.get(method, "")
    payment_record(
        invoice=invoice, amount=amount, method=method, received_at=at, reference=reference, by=clerk
    )


class _Links:
    """Many-to-many rows gathered during the walk and written in three bulk inserts."""

    def __init__(self):
        self.skills, self.equipment, self.parts = [], [], []

    def add(self, wo: WorkOrder, kind: JobType, unit, needed, skills) -> None:
        self.skills += [
            WorkOrder.required_skills.through(workorder_id=wo.pk, skill_id=skills[c].pk)
            for c in kind.skills
        ]
        if unit is not None:
            self.equipment.append(
                WorkOrder.equipment.through(workorder_id=wo.pk, equipment_id=unit.pk)
            )
        self.parts += [
            WorkOrderPart(
                business_id=wo.business_id, work_order=wo, part=part, quantity=int(quantity)
            )
            for part, quantity in needed
        ]

    def save(self) -> None:
        WorkOrder.required_skills.through.objects.bulk_create(self.skills)
        WorkOrder.equipment.through.objects.bulk_create(self.equipment)
        WorkOrderPart.objects.bulk_create(self.parts)


def _backdate(business: Business, walked) -> None:
    """Move the services' "now" stamps to the planned times, so history reads as it happened."""
    tz = business.timezone
    orders, invoices, change_times = [], [], {}
    for wo, job, invoice in walked:
        wo.created_at, wo.updated_at = job.times[0], job.times[-1]
        if S.COMPLETED in job.path:
            wo.completed_at = job.times[job.path.index(S.COMPLETED) + 1]
        orders.append(wo)
        change_times[wo.pk] = iter(job.times[1:])
        if invoice is not None:
            issued_at = job.times[job.path.index(S.INVOICED) + 1]
            invoice.created_at = issued_at
            invoice.issued_on = timezone.localdate(issued_at, timezone=tz)
            invoice.due_date = invoice.issued_on + dt.timedelta(days=invoice.customer.payment_terms)
            invoices.append(invoice)
    WorkOrder.objects.bulk_update(orders, ["created_at", "updated_at", "completed_at"], 250)
    Invoice.objects.bulk_update(invoices, ["created_at", "issued_on", "due_date"], 250)
    changes = list(
        WorkOrderStatusChange.objects.filter(business=business).order_by("work_order_id", "pk")
    )
    for change in changes:
        change.changed_at = next(change_times[change.work_order_id])
    WorkOrderStatusChange.objects.bulk_update(changes, ["changed_at"], 500)
