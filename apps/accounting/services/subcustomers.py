"""QuickBooks sub-customers for service locations (connection setting `sub_customers`).

A property manager's tenants, or a landlord's rental units: the bookkeeper wants revenue per
place, billed to the one who pays. With `sub_customers` on, an invoice for work at a location is
billed to a sub-customer of the paying customer (Job=true, ParentRef, BillWithParent) named
"<customer> - <location>", when the location belongs to another customer (a tenant) or the paying
customer has several locations; else to the customer itself, as before. The sub-customer is
looked up by name under the same parent and linked before one is created, so an existing job
(typed by the bookkeeper, or created by an earlier run that lost its answer) is never duplicated.
The invoice's payments and refunds go to the same customer, as QuickBooks requires.
"""

from __future__ import annotations

import dataclasses

from apps.accounting.models import AccountingWrite
from apps.accounting.providers.base import CustomerFields
from apps.accounting.services import outbox
from apps.accounting.services.customers import _display_name, customer_link_or_create
from apps.accounting.services.refs import ref_by_remote, ref_get, ref_set
from apps.accounting.services.run import Run
from apps.core.models import Invoice, ServiceLocation
from apps.integrations.errors import RejectedError
from apps.integrations.models import ExternalRef

W = AccountingWrite


def _wanted(run: Run, invoice: Invoice) -> ServiceLocation | None:
    if not run.provider.supports_sub_customers:
        return None
    if not run.connection.setting("sub_customers"):
        return None
    location = invoice.work_order.location if invoice.work_order_id else None
    if location is None:
        return None
    if location.customer_id != invoice.customer_id:
        return location  # a tenant's place, billed to the property manager
    several = ServiceLocation.objects.filter(customer_id=invoice.customer_id).count() > 1
    return location if several else None


def sub_customer_name(invoice: Invoice, location: ServiceLocation) -> str:
    place = location.label or location.address_line1 or f"Location {location.pk}"
    if location.customer_id != invoice.customer_id and location.customer.display_name not in place:
        place = f"{location.customer.display_name}, {place}"
    return _display_name(f"{invoice.customer.display_name} - {place}")[:100]


def billed_ref(connection, invoice: Invoice) -> ExternalRef | None:
    """The link of whoever the invoice was billed to, without creating anything."""
    location = invoice.work_order.location if invoice.work_order_id else None
    found = ref_get(connection, location) if location is not None else None
    return found or ref_get(connection, invoice.customer)


def billing_customer_ref(run: Run, invoice: Invoice) -> ExternalRef:
    """Who the invoice (and its payments and refunds) is for at the vendor."""
    parent = customer_link_or_create(run, invoice.customer)
    location = _wanted(run, invoice)
    if location is None:
        return parent
    ref = ref_get(run.connection, location)
    if ref is not None:
        return ref
    name = sub_customer_name(invoice, location)
    write = outbox.write_open(
        connection=run.connection,
        entity=W.Entity.CUSTOMER,
        object_id=f"location:{location.pk}",
        label=name,
    )
    found = run.provider.customer_find(display_name=name)
    if found is not None:
        mine = found.parent_remote_id == parent.remote_id
        if not mine or ref_by_remote(run.connection, ServiceLocation, found.remote_id):
            raise RejectedError(
                f"{run.vendor} already has a customer named “{name}” that is not a sub-customer "
                f"of {invoice.customer.display_name}. Rename one of them, then retry."
            )
        remote = found
    else:
        fields = dataclasses.replace(_location_fields(location), display_name=name, company_name="")
        remote = run.provider.sub_customer_create(
            parent_remote_id=parent.remote_id, fields=fields, key=write.idempotency_key
        )
    outbox.write_done(write, remote_id=remote.remote_id, sync_log=run.sync_log)
    return ref_set(
        run.connection,
        location,
        remote_id=remote.remote_id,
        version=remote.version,
        remote_updated_at=remote.updated_at,
    )


def _location_fields(location: ServiceLocation) -> CustomerFields:
    return CustomerFields(
        display_name="",
        address_line1=location.address_line1,
        address_line2=location.address_line2,
        city=location.city,
        region=location.region,
        postal_code=location.postal_code,
        country=location.country,
    )
