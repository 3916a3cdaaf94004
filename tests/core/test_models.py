"""Database constraints of the shared domain model: the last line of defence under the services.

Each violation runs inside its own atomic block so the failed statement does not poison the
test transaction (PostgreSQL aborts the whole transaction otherwise).
"""

import datetime as dt
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.forms import modelform_factory
from django.utils import timezone

from apps.core.models import (
    Customer,
    Equipment,
    Invoice,
    LineItem,
    Part,
    Payment,
    PaymentMethod,
    ServiceCategory,
    ServiceLocation,
    Skill,
    Technician,
    User,
    WorkOrder,
)
from tests import factories as f


@contextmanager
def violates(model: type[models.Model], constraint: str):
    """Expect an IntegrityError raised by exactly this constraint of the model."""
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        yield
    message = str(caught.value)
    declared = {c.name: c for c in model._meta.constraints}[constraint]
    if connection.vendor == "sqlite" and isinstance(declared, models.UniqueConstraint):
        # SQLite names the columns of a unique index, not the constraint.
        table = model._meta.db_table
        columns = ", ".join(f"{table}.{model._meta.get_field(n).column}" for n in declared.fields)
        assert f"UNIQUE constraint failed: {columns}" in message
    else:
        assert constraint in message


def _work_order(business, **overrides) -> WorkOrder:
    location = f.ServiceLocationFactory(customer__business=business, business=business)
    values = {
        "business": business,
        "customer": location.customer,
        "location": location,
        "category": f.ServiceCategoryFactory(business=business),
        "number": "WO-000001",
        "summary": "Furnace short-cycling",
    }
    values.update(overrides)
    return WorkOrder.objects.create(**values)


# --- Work orders -------------------------------------------------------------------------------


def test_work_order_number_unique_per_business(business):
    _work_order(business, number="WO-000007")
    with violates(WorkOrder, "workorder_number_unique"):
        _work_order(business, number="WO-000007")


def test_same_work_order_number_allowed_in_two_businesses(business, other_business):
    _work_order(business, number="WO-000007")
    _work_order(other_business, number="WO-000007")
    assert WorkOrder.objects.filter(number="WO-000007").count() == 2


@pytest.mark.parametrize("end_offset", [dt.timedelta(0), dt.timedelta(hours=-1)])
def test_work_order_window_must_end_after_start(business, end_offset):
    start = timezone.now()
    with violates(WorkOrder, "workorder_window_end_after_start"):
        _work_order(business, arrival_window_start=start, arrival_window_end=start + end_offset)


def test_work_order_open_window_allowed(business):
    # Only a complete window is compared; a start alone (e.g. "any time after 2pm") is stored.
    work_order = _work_order(business, arrival_window_start=timezone.now())
    assert work_order.arrival_window_end is None


def test_work_order_duration_positive(business):
    with violates(WorkOrder, "workorder_duration_positive"):
        _work_order(business, estimated_duration_minutes=0)


# --- Equipment and locations -------------------------------------------------------------------


def test_equipment_serial_unique_per_business_and_manufacturer(business):
    location = f.ServiceLocationFactory(customer__business=business, business=business)
    f.EquipmentFactory(location=location, manufacturer="Carrier", serial_number="SN-1")
    with violates(Equipment, "equipment_serial_unique_per_manufacturer"):
        f.EquipmentFactory(location=location, manufacturer="Carrier", serial_number="SN-1")


def test_equipment_same_serial_allowed_for_other_manufacturer_or_business(business, other_business):
    f.EquipmentFactory(
        location__customer__business=business, manufacturer="Carrier", serial_number="SN-1"
    )
    f.EquipmentFactory(
        location__customer__business=business, manufacturer="Trane", serial_number="SN-1"
    )
    f.EquipmentFactory(
        location__customer__business=other_business, manufacturer="Carrier", serial_number="SN-1"
    )
    assert Equipment.objects.filter(serial_number="SN-1").count() == 3


def test_equipment_blank_serial_allowed_twice(business):
    location = f.ServiceLocationFactory(customer__business=business, business=business)
    f.EquipmentFactory(location=location, manufacturer="Carrier", serial_number="")
    f.EquipmentFactory(location=location, manufacturer="Carrier", serial_number="")
    assert Equipment.objects.filter(business=business, serial_number="").count() == 2


def test_equipment_warranty_after_install(business):
    with violates(Equipment, "equipment_warranty_after_install"):
        f.EquipmentFactory(
            location__customer__business=business,
            install_date=dt.date(2024, 6, 1),
            warranty_expires=dt.date(2024, 5, 31),
        )


@pytest.mark.parametrize(
    ("field", "value", "constraint"),
    [
        ("latitude", Decimal("90.000001"), "location_latitude_range"),
        ("latitude", Decimal("-90.5"), "location_latitude_range"),
        ("longitude", Decimal("180.000001"), "location_longitude_range"),
        ("longitude", Decimal("-181"), "location_longitude_range"),
    ],
)
def test_location_coordinates_in_range(business, field, value, constraint):
    with violates(ServiceLocation, constraint):
        f.ServiceLocationFactory(customer__business=business, **{field: value})


def test_location_coordinates_at_the_limits_allowed(business):
    location = f.ServiceLocationFactory(
        customer__business=business, latitude=Decimal("-90"), longitude=Decimal("180")
    )
    location.refresh_from_db()
    assert (location.latitude, location.longitude) == (Decimal("-90"), Decimal("180"))


# --- Workforce ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shift_end", [dt.time(8, 0), dt.time(7, 0)])
def test_technician_shift_end_after_start(business, shift_end):
    with violates(Technician, "technician_shift_end_after_start"):
        f.TechnicianFactory(business=business, shift_start=dt.time(8, 0), shift_end=shift_end)


@pytest.mark.parametrize(
    ("model", "constraint", "make"),
    [
        (
            ServiceCategory,
            "category_code_unique",
            lambda b: ServiceCategory.objects.create(
                business=b, code="plumbing", name="Plumbing", revenue_category="Plumbing revenue"
            ),
        ),
        (
            Skill,
            "skill_code_unique",
            lambda b: Skill.objects.create(business=b, code="epa-608", name="EPA 608"),
        ),
        (
            Part,
            "part_sku_unique",
            lambda b: Part.objects.create(business=b, sku="CAP-455", name="Capacitor"),
        ),
    ],
    ids=["category", "skill", "part"],
)
def test_catalogue_codes_unique_per_business(business, other_business, model, constraint, make):
    make(business)
    make(other_business)  # the same code in another business is fine
    with violates(model, constraint):
        make(business)
    assert model.objects.count() == 2


def test_user_needs_business_unless_superuser(business):
    with violates(User, "user_business_required_unless_superuser"):
        User.objects.create(username="drifter", business=None)
    platform = User.objects.create(username="platform", business=None, is_superuser=True)
    assert platform.business is None


# --- Lines, invoices, payments -----------------------------------------------------------------


def test_line_quantity_positive(business):
    with violates(LineItem, "line_quantity_positive"):
        f.LineItemFactory(work_order__location__customer__business=business, quantity=0)


def test_line_price_not_negative(business):
    with violates(LineItem, "line_price_not_negative"):
        f.LineItemFactory(
            work_order__location__customer__business=business, unit_price=Decimal("-0.01")
        )


def test_line_free_of_charge_allowed(business):
    line = f.LineItemFactory(
        work_order__location__customer__business=business, unit_price=Decimal("0")
    )
    assert line.amount == Decimal("0.00")


def test_line_belongs_to_a_work_order_or_an_invoice(business):
    with violates(LineItem, "line_belongs_somewhere"):
        LineItem.objects.create(
            business=business, kind="fee", description="Trip charge", unit_price=Decimal("49")
        )


def _invoice(business, number="INV-000001", **amounts) -> Invoice:
    customer = f.CustomerFactory(business=business)
    return Invoice.objects.create(business=business, number=number, customer=customer, **amounts)


def test_invoice_total_is_subtotal_plus_tax(business):
    _invoice(business, subtotal=Decimal("100.00"), tax=Decimal("8.25"), total=Decimal("108.25"))
    with violates(Invoice, "invoice_total_is_subtotal_plus_tax"):
        _invoice(
            business,
            number="INV-000002",
            subtotal=Decimal("100.00"),
            tax=Decimal("8.25"),
            total=Decimal("108.26"),
        )


@pytest.mark.parametrize(
    "amounts",
    [
        {"subtotal": Decimal("-10.00"), "tax": Decimal("0"), "total": Decimal("-10.00")},
        {"subtotal": Decimal("10.00"), "tax": Decimal("-1.00"), "total": Decimal("9.00")},
        {"amount_paid": Decimal("-0.01")},
    ],
    ids=["subtotal", "tax", "amount_paid"],
)
def test_invoice_amounts_not_negative(business, amounts):
    with violates(Invoice, "invoice_amounts_not_negative"):
        _invoice(business, **amounts)


def test_invoice_due_after_issue(business):
    _invoice(business, issued_on=dt.date(2025, 3, 1), due_date=dt.date(2025, 3, 1))
    with violates(Invoice, "invoice_due_after_issue"):
        _invoice(
            business,
            number="INV-000002",
            issued_on=dt.date(2025, 3, 1),
            due_date=dt.date(2025, 2, 28),
        )


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-5.00")])
def test_payment_amount_positive(business, amount):
    customer = f.CustomerFactory(business=business)
    with violates(Payment, "payment_amount_positive"):
        Payment.objects.create(
            business=business,
            customer=customer,
            amount=amount,
            method=PaymentMethod.CASH,
            received_at=timezone.now(),
        )


# --- Phones ------------------------------------------------------------------------------------


def test_customer_phone_from_form_stored_as_e164(business):
    form_class = modelform_factory(Customer, fields=["display_name", "phone"])
    form = form_class(data={"display_name": "Dana Whitfield", "phone": "(303) 555-0123"})
    assert form.is_valid(), form.errors
    customer = form.save(commit=False)
    customer.business = business
    customer.save()
    stored = Customer.objects.values_list("phone", flat=True).get(pk=customer.pk)
    assert stored == "+13035550123"


def test_customer_phone_normalised_by_full_clean(business):
    customer = Customer(business=business, display_name="Dana Whitfield", phone="303.555.0123")
    customer.full_clean()
    customer.save()
    customer.refresh_from_db()
    assert customer.phone.as_e164 == "+13035550123"


def test_customer_invalid_phone_fails_full_clean(business):
    customer = Customer(business=business, display_name="Dana Whitfield", phone="555-01")
    with pytest.raises(ValidationError) as caught:
        customer.full_clean()
    assert list(caught.value.message_dict) == ["phone"]
