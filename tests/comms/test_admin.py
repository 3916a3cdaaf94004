"""Admin: template form errors, preview, log search, conversation reply and click-to-call."""

import pytest
from django.urls import reverse

from apps.comms.models import CommunicationLog, MessageTemplate
from apps.core.admin.permissions import grant_office_permissions
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(business):
    user = f.UserFactory(business=business, role="manager", is_staff=True, phone="+13035550888")
    grant_office_permissions(user)
    return user


@pytest.fixture
def office(client, manager):
    client.force_login(manager)
    return client


def test_saving_a_template_with_an_undeclared_variable_shows_the_error(office, business):
    response = office.post(
        reverse("admin:comms_messagetemplate_add"),
        {
            "kind": "en_route",
            "active": "on",
            "variables": "customer_name",
            "sms_body": "Hi {customer_name}, ETA {eta}",
        },
    )
    assert response.status_code == 200
    assert "Uses undeclared variable {eta}" in response.content.decode()
    assert not MessageTemplate.objects.exists()


def test_preview_renders_with_a_real_work_order(office, business, customer, location, technician):
    wo = f.WorkOrderFactory(
        location=location, business=business, customer=customer, assigned_technician=technician
    )
    t = MessageTemplate.objects.create(
        business=business,
        kind="en_route",
        variables="customer_name,technician_name,eta",
        sms_body="Hi {customer_name}, {technician_name} arrives in {eta} \u2019ok\u2019",
    )
    url = reverse("admin:comms_messagetemplate_preview", args=[t.pk]) + f"?work_order={wo.pk}"
    html = office.get(url).content.decode()
    assert f"Hi {customer.display_name}, {technician.user.get_full_name()} arrives in" in html
    assert '<strong class="encoding">GSM-7</strong>' in html
    assert '<strong class="segments">1</strong>' in html


@pytest.mark.parametrize("chosen", ["\u00b2", "abc", str(2**70), "-1"])
def test_preview_with_a_bad_work_order_id_shows_the_first_order(
    office, business, customer, location, chosen
):
    wo = f.WorkOrderFactory(location=location, business=business, customer=customer)
    t = MessageTemplate.objects.create(
        business=business,
        kind="en_route",
        variables="work_order_number",
        sms_body="{work_order_number}",
    )
    url = reverse("admin:comms_messagetemplate_preview", args=[t.pk])
    response = office.get(url, {"work_order": chosen})
    assert response.status_code == 200
    assert wo.number in response.content.decode()


def test_preview_of_another_business_template_is_404(office, other_business):
    t = MessageTemplate.objects.create(
        business=other_business, kind="en_route", variables="eta", sms_body="{eta}"
    )
    assert (
        office.get(reverse("admin:comms_messagetemplate_preview", args=[t.pk])).status_code == 404
    )


def test_log_is_searchable_and_scoped(office, business, other_business):
    CommunicationLog.objects.create(
        business=business,
        channel="sms",
        direction="outbound",
        recipient="+13035550123",
        body="furnace ACMEONLY",
    )
    CommunicationLog.objects.create(
        business=other_business,
        channel="sms",
        direction="outbound",
        recipient="+13035550124",
        body="furnace RIVALONLY",
    )
    html = office.get(
        reverse("admin:comms_communicationlog_changelist") + "?q=furnace"
    ).content.decode()
    assert "+13035550123" in html and "+13035550124" not in html


def test_conversation_reply_sends_through_twilio(
    office, business, customer, main_sender, twilio, manager
):
    CommunicationLog.objects.create(
        business=business,
        channel="sms",
        direction="inbound",
        sender="+13035550123",
        recipient="+13035550100",
        body="Are you coming?",
        customer=customer,
    )
    url = reverse("admin:comms_conversation", args=[customer.pk])
    assert "Are you coming?" in office.get(url).content.decode()
    response = office.post(url, {"action": "reply", "body": "Yes, 10 minutes out"})
    assert response.status_code == 302
    [sent] = twilio.messages()
    assert sent["form"]["Body"] == "Yes, 10 minutes out"
    reply = CommunicationLog.objects.get(direction="outbound")
    assert (reply.user, reply.customer, reply.status) == (manager, customer, "queued")
    assert CommunicationLog.objects.get(direction="inbound").read_at is not None


def test_reply_to_opted_out_customer_is_refused(office, business, customer, main_sender, twilio):
    from apps.comms.services.consent import consent_set

    consent_set(business=business, phone="+13035550123", status="opted_out", source="keyword")
    url = reverse("admin:comms_conversation", args=[customer.pk])
    response = office.post(url, {"action": "reply", "body": "hello"}, follow=True)
    assert "opted out" in response.content.decode()
    assert twilio.messages() == []


def test_click_to_call_rings_the_dispatcher_then_dials_the_customer(
    office, customer, main_sender, twilio
):
    url = reverse("admin:comms_conversation", args=[customer.pk])
    office.post(url, {"action": "call"})
    [call] = [r for r in twilio.requests if r["path"].endswith("/Calls.json")]
    assert call["form"]["To"] == "+13035550888"
    assert "<Dial" in call["form"]["Twiml"] and "+13035550123" in call["form"]["Twiml"]
    assert call["form"]["StatusCallback"].endswith("/webhooks/twilio/voice/status")
    log = CommunicationLog.objects.get(channel="voice")
    assert log.provider_id.startswith("CA") and log.recipient == "+13035550123"


def test_conversation_of_another_business_customer_is_404(office, other_business):
    stranger = f.CustomerFactory(business=other_business)
    assert office.get(reverse("admin:comms_conversation", args=[stranger.pk])).status_code == 404
