"""How the send treats the kinds routing's wiring plans (technician route, running late)."""

import pytest

from apps.comms.models import ScheduledMessage, SenderNumber
from apps.comms.tasks import scheduled_message_send_task
from apps.core.models import WorkOrder
from tests import factories as f

pytestmark = pytest.mark.django_db


def _message(wo, kind: str, **extra) -> ScheduledMessage:
    return ScheduledMessage.objects.create(
        business=wo.business,
        kind=kind,
        channel="sms",
        dedupe_key=f"{kind}:{wo.pk}",
        due_at=wo.arrival_window_start.replace(year=2020),
        work_order=wo,
        **extra,
    )


def test_a_route_text_goes_from_the_technicians_number_with_a_short_validity(
    business, location, main_sender, twilio_connection, twilio, daytime
):
    tech = f.TechnicianFactory(business=business, phone="+13035550142")
    own = SenderNumber.objects.create(
        business=business,
        role="technician",
        phone="+13035550177",
        connection=twilio_connection,
        technician=tech,
    )
    wo = f.WorkOrderFactory(location=location, status="dispatched", assigned_technician=tech)
    msg = _message(wo, "technician_route", audience="technician", technician=tech)
    scheduled_message_send_task(msg.pk)
    [sent] = twilio.messages()
    assert sent["form"]["To"] == "+13035550142"
    assert sent["form"]["From"] == str(own.phone)
    assert sent["form"]["ValidityPeriod"] == "1800"


def test_running_late_is_skipped_once_the_technician_is_on_site(
    location, main_sender, twilio, daytime
):
    wo = f.WorkOrderFactory(location=location, status="en_route")
    msg = _message(wo, "running_late", audience="customer")
    WorkOrder.objects.filter(pk=wo.pk).update(status="on_site")
    scheduled_message_send_task(msg.pk)
    msg.refresh_from_db()
    assert (msg.status, msg.reason) == ("skipped", "work order is on site")
    assert twilio.messages() == []
