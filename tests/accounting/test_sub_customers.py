"""QuickBooks sub-customers for service locations: billed to the payer, never duplicated."""

from decimal import Decimal

import pytest
from django.utils import timezone

from apps.accounting.services.customers import customers_sync
from apps.accounting.services.invoices import invoice_push_request
from apps.accounting.services.payments import payment_push_request
from apps.accounting.services.refs import ref_get
from apps.accounting.services.sync import resource_sync
from apps.core import models as m
from apps.core.services.billing import invoice_recalculate, payment_record
from tests import factories as f

pytestmark = pytest.mark.django_db


def _sync(provider, resource):
    return resource_sync(provider=provider, resource=resource, sync_log=None)


@pytest.fixture
def manager(business, qbo_connection):
    qbo_connection.settings = {**qbo_connection.settings, "sub_customers": True}
    qbo_connection.save()
    return f.CustomerFactory(business=business, display_name="Aspen Property Management")


def _invoice_at(location, bill_to, category):
    work_order = f.WorkOrderFactory(location=location, category=category)
    invoice = m.Invoice.objects.create(
        business=bill_to.business,
        number=f"INV-S{work_order.pk:05d}",
        customer=bill_to,
        work_order=work_order,
        status=m.InvoiceStatus.OPEN,
        issued_on=timezone.localdate(),
    )
    m.LineItem.objects.create(
        business=bill_to.business,
        invoice=invoice,
        kind=m.LineItem.Kind.SERVICE,
        description="Furnace repair",
        quantity=Decimal(1),
        unit_price=Decimal("150.00"),
        category=category,
    )
    return invoice_recalculate(invoice=invoice)


def test_a_tenants_invoice_goes_to_a_sub_customer_of_the_property_manager(
    provider, books, business, manager, category
):
    tenant = f.CustomerFactory(business=business, display_name="Riley Tenant")
    unit = f.ServiceLocationFactory(customer=tenant, label="Unit 4B", address_line1="12 Oak St")
    first, second = _invoice_at(unit, manager, category), _invoice_at(unit, manager, category)
    for invoice in (first, second):
        invoice_push_request(invoice=invoice)

    assert _sync(provider, "invoices").failures == ()

    parent = ref_get(provider.connection, manager).remote_id
    sub = ref_get(provider.connection, unit).remote_id
    row = books.rows["Customer"][sub]
    assert (row["ParentRef"]["value"], row["Job"], row["BillWithParent"]) == (parent, True, True)
    assert row["DisplayName"] == "Aspen Property Management - Riley Tenant, Unit 4B"
    assert row["FullyQualifiedName"].startswith("Aspen Property Management:")
    assert {r["CustomerRef"]["value"] for r in books.rows["Invoice"].values()} == {sub}
    assert len(books.rows["Customer"]) == 2  # the manager and one sub-customer, not the tenant

    # Its payment goes to the same customer, as QuickBooks requires.
    payment = payment_record(invoice=first, amount=Decimal("150.00"), method="check")
    payment_push_request(payment_id=payment.pk)
    assert _sync(provider, "payments").failures == ()
    (remote_payment,) = books.rows["Payment"].values()
    assert remote_payment["CustomerRef"]["value"] == sub


def test_an_existing_sub_customer_is_linked_not_duplicated_and_not_imported(
    provider, run, books, business, manager, category
):
    home = f.ServiceLocationFactory(customer=manager, label="Office")
    rental = f.ServiceLocationFactory(customer=manager, label="Rental 2")
    parent = books.insert("Customer", {"DisplayName": manager.display_name, "Active": True})
    typed = books.insert(
        "Customer",
        {
            "DisplayName": "Aspen Property Management - Rental 2",
            "ParentRef": {"value": parent["Id"]},
            "Job": True,
            "Active": True,
        },
    )
    invoice = _invoice_at(rental, manager, category)
    invoice_push_request(invoice=invoice)

    _sync(provider, "invoices")
    customers_sync(run)  # the first customer sync reads every customer, jobs included

    assert ref_get(provider.connection, rental).remote_id == typed["Id"]
    assert len(books.rows["Customer"]) == 2
    (remote,) = books.rows["Invoice"].values()
    assert remote["CustomerRef"]["value"] == typed["Id"]
    assert not m.Customer.objects.filter(display_name__startswith="Aspen Property Management -")
    assert ref_get(provider.connection, home) is None


def test_off_by_default_and_for_a_single_home_the_customer_is_billed(
    provider, books, business, category
):
    owner = f.CustomerFactory(business=business, display_name="Sam Owner")
    house = f.ServiceLocationFactory(customer=owner, label="Home")
    invoice = _invoice_at(house, owner, category)
    invoice_push_request(invoice=invoice)

    _sync(provider, "invoices")

    (remote,) = books.rows["Invoice"].values()
    assert remote["CustomerRef"]["value"] == ref_get(provider.connection, owner).remote_id
    assert len(books.rows["Customer"]) == 1
