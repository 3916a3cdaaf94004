"""seed_demo and demo_admin: a big, realistic, deterministic and idempotent demo company.

Seeding 500 work orders through the real services takes seconds, so this module seeds once, in a
transaction that is rolled back after its last test, and every test reads that data.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from decimal import Decimal
from io import StringIO
from types import SimpleNamespace

import phonenumbers
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from apps.core.demo import DEFAULT_SLUG, RIVAL_SLUG, business_counts, demo_seed
from apps.core.models import (
    ALLOWED_TRANSITIONS,
    Business,
    Customer,
    Equipment,
    EquipmentKind,
    Invoice,
    InvoiceStatus,
    Priority,
    Refrigerant,
    Role,
    ServiceLocation,
    Technician,
    User,
    WorkOrder,
    WorkOrderStatus,
    WorkOrderStatusChange,
)
from apps.core.models.work_orders import TECHNICIAN_TRANSITIONS
from tests import factories as f

S = WorkOrderStatus
LAT, LNG = (Decimal("39.55"), Decimal("40.05")), (Decimal("-105.25"), Decimal("-104.70"))


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            out = StringIO()
            call_command("seed_demo", "--seed", "7", stdout=out)
            business = Business.objects.get(slug=DEFAULT_SLUG)
            yield SimpleNamespace(
                business=business,
                output=out.getvalue(),
                # Callbacks queued for commit: domain events would be delivered through these.
                pending_on_commit=len(transaction.get_connection().run_on_commit),
                today=timezone.localdate(timezone=business.timezone),
            )
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def demo(seeded, db):
    return seeded


def test_seeding_publishes_no_domain_events(demo):
    # Seeded history is not news: no texts, no invoice pushes for work that never happened.
    assert demo.pending_on_commit == 0


def test_the_company_is_seeded_at_full_size(demo):
    business = demo.business
    assert business.name == "Front Range Comfort Heating, Cooling & Plumbing"
    assert str(business.timezone) == "America/Denver" and business.currency == "USD"
    for number in (business.main_phone, business.emergency_phone):
        assert phonenumbers.is_valid_number(number) and str(number).startswith("+1")
    technicians = Technician.objects.for_business(business).select_related("user")
    assert technicians.count() >= 15
    assert {t.user.role for t in technicians} == {Role.TECHNICIAN}
    assert len({(t.shift_start, t.shift_end) for t in technicians}) >= 3
    assert all(LAT[0] <= t.home_latitude <= LAT[1] for t in technicians)
    assert all(t.stock.exists() for t in technicians)
    assert Customer.objects.for_business(business).count() == 300
    assert WorkOrder.objects.for_business(business).count() == 500
    assert re.search(r"Seeded .* with seed 7 in \d+\.\d s", demo.output)


def test_office_users_can_use_the_admin(demo):
    office = User.objects.filter(business=demo.business).exclude(role=Role.TECHNICIAN)
    assert {u.role for u in office} >= {Role.DISPATCHER, Role.MANAGER}
    for user in office:
        assert user.is_staff and user.check_password("thorbis-demo")
        assert user.has_perm("core.view_workorder") and user.has_perm("core.change_customer")


def test_customers_have_valid_phones_emails_and_addresses(demo):
    customers = list(Customer.objects.for_business(demo.business))
    assert len({c.display_name for c in customers}) == 300
    for customer in customers:
        assert phonenumbers.is_valid_number(customer.phone), customer.phone
        assert str(customer.phone)[:5] in ("+1303", "+1720", "+1719")
        assert re.fullmatch(r"[a-z.]+\d+@example\.(com|net|org)", customer.email)
        assert customer.address_line1 and customer.region == "CO" and customer.postal_code
    assert any(c.company_name for c in customers)


def test_every_location_is_geocoded_inside_the_metro(demo):
    locations = list(ServiceLocation.objects.for_business(demo.business))
    per_customer = defaultdict(int)
    for loc in locations:
        per_customer[loc.customer_id] += 1
        assert LAT[0] <= loc.latitude <= LAT[1] and LNG[0] <= loc.longitude <= LNG[1], loc
        assert str(loc.timezone) == "America/Denver"
        assert loc.address_line1 and loc.city
    assert len(per_customer) == 300 and set(per_customer.values()) == {1, 2}
    assert any(loc.access_notes for loc in locations)


def test_equipment_refrigerants_fit_their_age_and_warranties_follow_install(demo):
    units = list(Equipment.objects.for_business(demo.business))
    assert len(units) >= 300
    assert {u.manufacturer for u in units} >= {"Carrier", "Trane", "Lennox", "A.O. Smith"}
    cooling = {EquipmentKind.AIR_CONDITIONER, EquipmentKind.HEAT_PUMP, EquipmentKind.MINI_SPLIT}
    for unit in units:
        assert unit.install_date < demo.today and unit.warranty_expires > unit.install_date
        if unit.kind in cooling:
            assert unit.refrigerant
            assert (unit.refrigerant == Refrigerant.R22) == (unit.install_date.year < 2010)
        else:
            assert unit.refrigerant == ""
    assert {u.refrigerant for u in units} >= {"R-410A", "R-22", "R-454B", "R-32"}


def test_work_orders_cover_every_status_emergencies_and_the_coming_days(demo):
    tz = demo.business.timezone
    orders = list(WorkOrder.objects.for_business(demo.business))
    assert {wo.status for wo in orders} == set(S.values)
    days = defaultdict(list)
    for wo in orders:
        if wo.arrival_window_start is None:
            assert wo.status in (S.NEW, S.CANCELLED)
            continue
        start = timezone.localtime(wo.arrival_window_start, tz)
        end = timezone.localtime(wo.arrival_window_end, tz)
        offset = (start.date() - demo.today).days
        assert -15 <= offset <= 5, wo
        days[offset].append(wo)
        if wo.priority != Priority.EMERGENCY:  # booked jobs: 2 to 4 hours in business hours
            assert dt.timedelta(hours=2) <= end - start <= dt.timedelta(hours=4)
            assert start.hour >= 7 and (end.hour, end.minute) <= (18, 0)
    assert sum(len(days[d]) for d in range(1, 6)) >= 30
    assert {wo.status for d in range(1, 6) for wo in days[d]} >= {S.SCHEDULED}
    today_emergencies = {wo.status for wo in days[0] if wo.priority == Priority.EMERGENCY}
    assert {S.NEW, S.DISPATCHED} <= today_emergencies
    assert sum(wo.priority == Priority.EMERGENCY for wo in orders) >= 15


def test_assigned_technicians_have_the_required_skills(demo):
    orders = WorkOrder.objects.for_business(demo.business).prefetch_related(
        "required_skills", "assigned_technician__skills"
    )
    assigned = 0
    for wo in orders:
        required = {s.code for s in wo.required_skills.all()}
        assert required, wo
        if wo.status in (S.DISPATCHED, S.EN_ROUTE, S.ON_SITE, S.COMPLETED, S.INVOICED, S.PAID):
            assert wo.assigned_technician_id, wo
        if wo.assigned_technician_id:
            assigned += 1
            assert required <= {s.code for s in wo.assigned_technician.skills.all()}, wo
    assert assigned >= 400


def test_the_audit_trail_holds_only_allowed_transitions(demo):
    orders = {
        wo.pk: wo
        for wo in WorkOrder.objects.for_business(demo.business).select_related(
            "assigned_technician"
        )
    }
    trail = defaultdict(list)
    for change in WorkOrderStatusChange.objects.for_business(demo.business).order_by("pk"):
        trail[change.work_order_id].append(change)
    now = timezone.now()
    for pk, wo in orders.items():
        status, last_at = S.NEW, wo.created_at
        technician_user = wo.assigned_technician.user_id if wo.assigned_technician else None
        for change in trail[pk]:
            assert change.from_status == status
            assert change.to_status in ALLOWED_TRANSITIONS[status], change
            assert change.changed_by_id is not None
            if change.changed_by_id == technician_user:
                assert change.to_status in TECHNICIAN_TRANSITIONS
            assert last_at < change.changed_at <= now  # backdated, in order, never in the future
            status, last_at = change.to_status, change.changed_at
        assert status == wo.status, wo
    assert sum(len(changes) for changes in trail.values()) >= 1500


def test_closed_jobs_have_lines_invoices_and_payments(demo):
    orders = WorkOrder.objects.for_business(demo.business).prefetch_related(
        "lines", "invoices__payments"
    )
    for wo in orders:
        invoices = list(wo.invoices.all())
        if wo.status in (S.COMPLETED, S.INVOICED, S.PAID):
            assert wo.completed_at is not None and wo.completed_at <= timezone.now()
            assert wo.lines.all(), wo
        if wo.status in (S.INVOICED, S.PAID):
            (invoice,) = invoices
            assert invoice.total == invoice.subtotal + invoice.tax > 0
            assert invoice.tax_rate == Decimal("8.8100")
            assert invoice.issued_on <= invoice.due_date
            paid = sum(p.amount for p in invoice.payments.all())
            assert paid == invoice.amount_paid
            if wo.status == S.PAID:
                assert invoice.status == InvoiceStatus.PAID and paid == invoice.total
            else:
                assert invoice.status == InvoiceStatus.OPEN and paid < invoice.total
        else:
            assert not invoices
    assert Invoice.objects.for_business(demo.business).count() >= 200


def test_the_rival_business_is_small_and_separate(demo):
    rival = Business.objects.get(slug=RIVAL_SLUG)
    assert rival.name == "Rival Plumbing"
    counts = business_counts(rival)
    assert 0 < counts["customers"] <= 10 and 0 < counts["work orders"] <= 10
    for wo in WorkOrder.objects.for_business(rival).select_related("customer", "location"):
        assert wo.customer.business_id == wo.location.business_id == rival.pk
    rival_users = set(User.objects.filter(business=rival).values_list("username", flat=True))
    assert rival_users and all(name.startswith("rival.") for name in rival_users)


def test_a_technician_api_token_is_created_and_printed(demo):
    token = Token.objects.get(user__business=demo.business)
    assert token.user.role == Role.TECHNICIAN
    assert f"({token.user.username}): {token.key}" in demo.output


def test_running_again_changes_nothing(demo):
    before = business_counts(demo.business), business_counts(Business.objects.get(slug=RIVAL_SLUG))
    out = StringIO()
    call_command("seed_demo", "--seed", "7", stdout=out)
    after = business_counts(demo.business), business_counts(Business.objects.get(slug=RIVAL_SLUG))
    assert after == before
    assert "already seeded" in out.getvalue()
    assert Token.objects.get(user__business=demo.business).key in out.getvalue()


def test_an_existing_real_business_is_left_alone_and_gets_no_token(db):
    technician = f.TechnicianFactory(business=f.BusinessFactory(slug="someone-real"))
    out = StringIO()
    call_command("seed_demo", "--business-slug", "someone-real", stdout=out)
    assert "already seeded" in out.getvalue() and "no API token" in out.getvalue()
    assert not Token.objects.filter(user=technician.user).exists()
    assert WorkOrder.objects.for_business(technician.business).count() == 0


def _snapshot(slug: str) -> dict:
    business = Business.objects.get(slug=slug)
    orders = WorkOrder.objects.for_business(business).order_by("number")
    return {
        "customers": list(
            Customer.objects.for_business(business).order_by("pk").values_list("display_name")
        ),
        "locations": list(
            ServiceLocation.objects.for_business(business)
            .order_by("pk")
            .values_list("address_line1", "latitude", "longitude")
        ),
        "equipment": list(
            Equipment.objects.for_business(business)
            .order_by("pk")
            .values_list("manufacturer", "serial_number", "refrigerant", "install_date")
        ),
        "orders": list(
            orders.values_list(
                "number",
                "status",
                "summary",
                "priority",
                "customer__display_name",
                "assigned_technician__user__username",
            )
        ),
    }


def _seed_and_roll_back(seed: int) -> dict:
    with transaction.atomic():
        demo_seed(seed=seed, slug="determinism-check", customers=30, work_orders=40)
        snapshot = _snapshot("determinism-check")
        transaction.set_rollback(True)
    assert not Business.objects.filter(slug="determinism-check").exists()
    return snapshot


def test_the_same_seed_gives_the_same_data(demo):
    first, second = _seed_and_roll_back(3), _seed_and_roll_back(3)
    assert len(first["customers"]) == 30 and len(first["orders"]) == 40
    assert first == second
    assert _seed_and_roll_back(4)["customers"] != first["customers"]


def test_the_rival_slug_is_refused_as_the_demo_slug(demo):
    with pytest.raises(CommandError, match="second business"):
        call_command("seed_demo", "--business-slug", RIVAL_SLUG, stdout=StringIO())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--business-slug", "Not A Slug!"], "is not a slug"),
        (["--customers", "0"], "at least 1"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(db, args, message):
    before = Business.objects.count()
    with pytest.raises(CommandError, match=message):
        call_command("seed_demo", *args, stdout=StringIO())
    assert Business.objects.count() == before


def test_demo_admin_creates_then_updates_the_superuser(demo, settings):
    settings.DEBUG = True
    out = StringIO()
    call_command("demo_admin", stdout=out)
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.business == demo.business
    assert admin.check_password("thorbis-demo")
    assert "Created superuser 'admin'" in out.getvalue() and "thorbis-demo" in out.getvalue()
    settings.DEMO_ADMIN_PASSWORD = "a-new-demo-password"
    out = StringIO()
    call_command("demo_admin", stdout=out)
    assert User.objects.filter(username="admin").count() == 1
    admin.refresh_from_db()
    assert admin.check_password("a-new-demo-password")
    assert "Updated superuser 'admin'" in out.getvalue()


def test_demo_admin_without_a_demo_business_makes_an_unbound_superuser(db, settings):
    settings.DEBUG, settings.DEMO_ADMIN_USERNAME = True, "platform"
    Business.objects.filter(slug=DEFAULT_SLUG).update(slug="not-the-demo")  # when seeded here
    call_command("demo_admin", stdout=StringIO())
    user = User.objects.get(username="platform")
    assert user.is_superuser and user.business is None


def test_demo_admin_refuses_the_default_password_in_production(db, settings):
    settings.DEBUG, settings.DEMO_ADMIN_PASSWORD = False, "thorbis-demo"
    with pytest.raises(CommandError, match="default demo password"):
        call_command("demo_admin", stdout=StringIO())
    assert not User.objects.filter(username="admin").exists()


def test_demo_admin_masks_a_real_password_in_production(db, settings):
    settings.DEBUG, settings.DEMO_ADMIN_PASSWORD = False, "correct-horse-battery-staple"
    out = StringIO()
    call_command("demo_admin", stdout=out)
    assert "correct-horse-battery-staple" not in out.getvalue() and "aple" in out.getvalue()
    assert User.objects.get(username="admin").check_password("correct-horse-battery-staple")
