"""One business with something behind every API operation: a dispatcher and a technician with
tokens, work orders (one assigned and on site), equipment, readings and findings, an open invoice
with a payment intent, a saved card, a draft route plan, accounting connections with sync logs.

Used by the cross-tenant id tests and the schemathesis run, for "ours" and for "theirs"."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from decimal import Decimal

from django.utils import timezone
from rest_framework.authtoken.models import Token

from apps.core.models import (
    Business,
    Customer,
    Equipment,
    Invoice,
    Part,
    Technician,
    User,
    WorkOrder,
    WorkOrderStatus,
)
from apps.core.services.billing import invoice_create_for_work_order
from apps.core.services.work_orders import work_order_line_add, work_order_transition
from apps.diagnostics.models import EquipmentProfile, Finding
from apps.diagnostics.services.analysis import work_order_analyze
from apps.diagnostics.services.readings import ReadingInput, reading_batch_store
from apps.integrations.models import IntegrationConnection, SyncLog
from apps.payments.models import SavedPaymentMethod, StripeCustomer, StripePaymentIntent
from apps.payments.services.intents import payment_intent_create
from apps.routing.models import RoutePlan
from tests import factories as f

CLOSED_PORT = "http://127.0.0.1:9"  # nothing listens: a vendor call fails at once, offline

# R-410A, fixed orifice, undercharged: the analysis has findings to report.
READINGS = [
    ("suction_pressure", "100", "psig"),
    ("suction_line_temp", "70", "F"),
    ("liquid_pressure", "300", "psig"),
    ("liquid_line_temp", "100", "F"),
    ("return_wet_bulb", "64", "F"),
    ("outdoor_dry_bulb", "96", "F"),
    ("return_dry_bulb", "75", "F"),
    ("supply_dry_bulb", "60", "F"),
]


@dataclasses.dataclass
class ApiWorld:
    business: Business
    dispatcher: User
    technician: Technician
    dispatcher_token: str
    technician_token: str
    customer: Customer
    equipment: Equipment
    work_order: WorkOrder  # assigned to the technician, on site, with readings and findings
    invoice: Invoice
    finding: Finding
    intent: StripePaymentIntent
    plan: RoutePlan
    quickbooks: IntegrationConnection
    xero: IntegrationConnection
    stripe: IntegrationConnection
    saved_method: SavedPaymentMethod
    part: Part

    def ids(self) -> dict[str, int]:
        """One real id per kind of object the API addresses."""
        return {
            "work_order": self.work_order.pk,
            "equipment": self.equipment.pk,
            "finding": self.finding.pk,
            "invoice": self.invoice.pk,
            "intent": self.intent.pk,
            "customer": self.customer.pk,
            "plan": self.plan.pk,
            "connection": self.quickbooks.pk,
            "technician": self.technician.pk,
            "saved_payment_method": self.saved_method.pk,
            "part": self.part.pk,
        }


def build_api_world(
    business: Business, *, stripe_url: str = "", qbo_url: str = "", qbo_discovery_url: str = ""
) -> ApiWorld:
    """Without vendor URLs, Stripe and QuickBooks sit on a closed loopback port (their calls
    fail at once); with them (localstripe, the QuickBooks fake), vendor calls succeed and the
    payment intent is a real one."""
    dispatcher = f.UserFactory(business=business, role="dispatcher", is_staff=True)
    technician = f.TechnicianFactory(business=business)
    customer = f.CustomerFactory(business=business)
    location = f.ServiceLocationFactory(customer=customer)
    equipment = f.EquipmentFactory(location=location)
    EquipmentProfile.objects.create(business=business, equipment=equipment, metering="fixed")

    work_order = f.WorkOrderFactory(location=location, assigned_technician=technician)
    unknown = f.EquipmentFactory(location=location, refrigerant="")  # not recorded: ""
    work_order.equipment.add(equipment, unknown)
    f.WorkOrderFactory(location=location)  # unassigned: the office's, not the technician's
    WorkOrder.objects.filter(pk=work_order.pk).update(status=WorkOrderStatus.ON_SITE)
    work_order.refresh_from_db()
    now = timezone.now()
    reading_batch_store(
        business=business,
        items=[
            ReadingInput(
                client_id=uuid.uuid4(),
                work_order=work_order,
                quantity=quantity,
                value=Decimal(value),
                unit=unit,
                taken_at=now - dt.timedelta(minutes=5),
                capture_method="manual",
                equipment=equipment,
            )
            for quantity, value, unit in READINGS
        ],
        by=technician.user,
    )
    finding = work_order_analyze(work_order=work_order, phase="in")[0]

    billed = f.WorkOrderFactory(location=location, assigned_technician=technician)
    WorkOrder.objects.filter(pk=billed.pk).update(status=WorkOrderStatus.ON_SITE)
    billed.refresh_from_db()
    work_order_line_add(
        work_order=billed,
        kind="service",
        description="Repair",
        quantity=Decimal("1"),
        unit_price=Decimal("250.00"),
        taxable=False,
    )
    work_order_transition(work_order=billed, to_status="completed", by=technician.user)
    invoice = invoice_create_for_work_order(work_order=billed)

    stripe = f.IntegrationConnectionFactory(
        business=business,
        provider="stripe",
        name="Stripe",
        status="connected",
        api_base_url=stripe_url or CLOSED_PORT,
        credentials={"secret_key": "sk_test_world_12345", "publishable_key": "pk_test_world"},
    )
    if stripe_url:
        intent = payment_intent_create(
            invoice=invoice,
            by=dispatcher,
            capture_method="manual",
            amount=Decimal("100.00"),
            payment_method_types=["card"],
        )
    else:
        intent = StripePaymentIntent.objects.create(
            business=business,
            connection=stripe,
            invoice=invoice,
            customer=customer,
            idempotency_key=f"world-{business.pk}",
            stripe_id=f"pi_world_{business.pk}",
            secrets={"client_secret": f"pi_world_{business.pk}_secret_x"},
            amount=Decimal("100.00"),
            currency="USD",
            status="requires_capture",
            capture_method="manual",
        )
    stripe_customer, _ = StripeCustomer.objects.get_or_create(  # the intent may have made it
        connection=stripe,
        customer=customer,
        defaults={
            "business": business,
            "stripe_id": f"cus_world_{business.pk}",
            "idempotency_key": f"world-customer-{business.pk}",
        },
    )
    saved_method = SavedPaymentMethod.objects.create(
        business=business,
        stripe_customer=stripe_customer,
        customer=customer,
        stripe_id=f"pm_world_{business.pk}",
        type="card",
        brand="visa",
        last4="4242",
        exp_month=12,
        exp_year=2030,
    )

    plan = RoutePlan.objects.create(
        business=business,
        date=timezone.localdate() + dt.timedelta(days=1),
        planned_at=now,
        kpis={"planned": 0, "unassigned": 0},
        created_by=dispatcher,
    )
    quickbooks = f.IntegrationConnectionFactory(
        business=business,
        provider="quickbooks",
        api_base_url=qbo_url or CLOSED_PORT,
        settings={"oauth_discovery_url": qbo_discovery_url or CLOSED_PORT},
    )
    xero = f.IntegrationConnectionFactory(business=business, provider="xero", name="Xero books")
    SyncLog.objects.create(
        business=business,
        connection=quickbooks,
        sync_type="customers",
        direction="push",
        status=SyncLog.Status.SUCCEEDED,
        completed_at=now,
    )
    return ApiWorld(
        business=business,
        dispatcher=dispatcher,
        technician=technician,
        dispatcher_token=Token.objects.create(user=dispatcher).key,
        technician_token=Token.objects.create(user=technician.user).key,
        customer=customer,
        equipment=equipment,
        work_order=work_order,
        invoice=invoice,
        finding=finding,
        intent=intent,
        plan=plan,
        quickbooks=quickbooks,
        xero=xero,
        stripe=stripe,
        saved_method=saved_method,
        part=f.PartFactory(business=business),
    )
