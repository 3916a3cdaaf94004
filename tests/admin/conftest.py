"""Two businesses with one of everything, each row carrying its business's marker string.

A page that shows OTHER_MARK to Acme's dispatcher has leaked another tenant's data.
"""

import datetime as dt
import types
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from apps.core import models as m
from apps.core.admin.permissions import grant_office_permissions
from apps.core.services.billing import invoice_create_for_work_order, payment_record
from apps.core.services.work_orders import work_order_transition
from apps.integrations import models as im
from tests import factories as f

OWN_MARK = "ACMEMARK"
OTHER_MARK = "RIVALMARK"
SECRET = "s3cr3t-value-do-not-leak-9876"
CLIENT_ID = "ABcdEFghIJklMNop1234"


def build_world(business: m.Business, mark: str) -> types.SimpleNamespace:
    business.name = f"{business.name} {mark}"
    business.save(update_fields=["name"])
    customer = f.CustomerFactory(business=business, display_name=f"Customer {mark}")
    location = f.ServiceLocationFactory(
        customer=customer, label=f"Home {mark}", address_line1=f"1 {mark} St"
    )
    equipment = f.EquipmentFactory(location=location, manufacturer=f"Carrier {mark}")
    category = f.ServiceCategoryFactory(business=business, name=f"HVAC {mark}")
    skill = f.SkillFactory(business=business, name=f"Brazing {mark}")
    part = f.PartFactory(business=business, name=f"Capacitor {mark}")
    technician = f.TechnicianFactory(business=business, user__last_name=f"Tech {mark}")
    van_stock = m.VanStock.objects.create(
        business=business, technician=technician, part=part, quantity=2
    )
    work_order = f.WorkOrderFactory(
        location=location,
        category=category,
        summary=f"No cooling {mark}",
        assigned_technician=technician,
    )
    required_part = m.WorkOrderPart.objects.create(
        business=business, work_order=work_order, part=part
    )
    line = f.LineItemFactory(work_order=work_order, description=f"Diagnostic {mark}")
    work_order_transition(
        work_order=work_order, to_status="scheduled", by=None, note=f"Booked {mark}"
    )
    done = f.WorkOrderFactory(
        location=location,
        category=category,
        summary=f"Finished job {mark}",
        assigned_technician=technician,
    )
    for status in ("dispatched", "en_route", "on_site", "completed"):
        work_order_transition(work_order=done, to_status=status, by=None)
    f.LineItemFactory(work_order=done, description=f"Repair {mark}", unit_price=Decimal("100"))
    invoice = invoice_create_for_work_order(work_order=done)
    payment = payment_record(
        invoice=invoice, amount=Decimal("10.00"), method="cash", reference=f"Cash {mark}"
    )
    connection = f.IntegrationConnectionFactory(
        business=business, name=f"Books {mark}", status=im.ConnectionStatus.CONNECTED
    )
    account_mapping = im.AccountMapping.objects.create(
        business=business,
        connection=connection,
        kind=im.AccountMapping.Kind.REVENUE,
        local_key=f"HVAC revenue {mark}",
        remote_id="81",
    )
    sync_mapping = im.SyncMapping.objects.create(
        business=business,
        connection=connection,
        local_resource=f"customer-{mark}",
        remote_resource="Customer",
    )
    now = timezone.now()
    sync_log = im.SyncLog.objects.create(
        business=business,
        connection=connection,
        sync_type=f"customers-{mark}",
        direction=im.Direction.PUSH,
        status=im.SyncLog.Status.PARTIAL,
        processed=2,
        succeeded=1,
        failed=1,
        started_at=now - dt.timedelta(minutes=1),
        completed_at=now,
    )
    record_error = im.SyncRecordError.objects.create(
        business=business,
        sync_log=sync_log,
        record_type="customer",
        record_id=str(customer.pk),
        record_label=f"Customer {mark}",
        message="The vendor requires a billing email.",
    )
    external_ref = im.ExternalRef.objects.create(
        business=business,
        connection=connection,
        content_type=ContentType.objects.get_for_model(m.Customer),
        object_id=str(customer.pk),
        remote_id=f"QB-{mark}",
    )
    inbound_event = im.InboundEvent.objects.create(
        provider="stripe",
        provider_event_id=f"evt_{mark}",
        event_type=f"payment.{mark}",
        business=business,
        connection=connection,
        headers={"Content-Type": "application/json"},
        body='{"id": "evt_1", "object": "event"}',
    )
    activity = im.IntegrationActivity.objects.create(
        business=business,
        connection=connection,
        kind=im.ActivityKind.API_CALL,
        operation=f"POST invoice {mark}",
        outcome=im.Outcome.SUCCESS,
        occurred_at=now,
    )
    return types.SimpleNamespace(**locals())


@pytest.fixture
def own(business):
    return build_world(business, OWN_MARK)


@pytest.fixture
def other(other_business):
    return build_world(other_business, OTHER_MARK)


@pytest.fixture
def superuser(db):
    return m.User.objects.create_superuser(
        "platform", "platform@example.com", "correct-horse-battery", business=None
    )


@pytest.fixture
def office_dispatcher(dispatcher):
    grant_office_permissions(dispatcher)
    return dispatcher


@pytest.fixture
def manager(business):
    user = f.UserFactory(business=business, role=m.Role.MANAGER)
    grant_office_permissions(user)
    return user


@pytest.fixture
def admin_client_for(client):
    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in
