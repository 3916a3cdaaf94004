"""Twilio webhooks: signatures, the inbox, duplicates, out-of-order callbacks, voice TwiML."""

import pytest

from apps.comms.models import AppointmentConfirmation, CommunicationLog, ConsentRecord
from apps.integrations.models import InboundEvent
from tests import factories as f
from tests.comms.conftest import post_twilio

pytestmark = pytest.mark.django_db
STATUS = "/webhooks/twilio/status"
SMS = "/webhooks/twilio/sms"
VOICE = "/webhooks/twilio/voice"


@pytest.fixture
def sent_log(business, customer, main_sender):
    return CommunicationLog.objects.create(
        business=business,
        channel="sms",
        direction="outbound",
        sender="+13035550100",
        recipient="+13035550123",
        body="hi",
        status="queued",
        provider_id="SM123",
        customer=customer,
    )


def _status(sid="SM123", status="delivered", **extra):
    return {
        "AccountSid": "AC" + "1" * 32,
        "MessageSid": sid,
        "MessageStatus": status,
        "From": "+13035550100",
        "To": "+13035550123",
        **extra,
    }


def test_bad_signature_is_403_and_stores_nothing(
    client, sent_log, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_twilio(client, STATUS, _status(), token="wrong-token")
    assert response.status_code == 403
    assert InboundEvent.objects.count() == 0
    sent_log.refresh_from_db()
    assert sent_log.status == "queued"


def test_signature_over_a_different_url_is_refused(client, sent_log):
    params = _status()
    from tests.comms.conftest import sign

    signature = sign("https://evil.example" + STATUS, params)
    assert client.post(STATUS, params, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 403
    assert InboundEvent.objects.count() == 0


def test_status_callbacks_apply_monotonically_and_duplicates_are_ignored(
    client, sent_log, django_capture_on_commit_callbacks
):
    for status in ("sent", "delivered", "sent", "delivered"):
        with django_capture_on_commit_callbacks(execute=True):
            assert post_twilio(client, STATUS, _status(status=status)).status_code == 204
    sent_log.refresh_from_db()
    assert sent_log.status == "delivered"  # the late "sent" did not move it back
    assert [h["status"] for h in sent_log.status_history] == ["sent", "delivered"]
    assert InboundEvent.objects.filter(provider="twilio").count() == 2
    assert set(InboundEvent.objects.values_list("status", flat=True)) == {"processed"}


def test_failure_code_21610_marks_the_number_opted_out(
    client, sent_log, business, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_twilio(client, STATUS, _status(status="failed", ErrorCode="21610"))
    record = ConsentRecord.objects.get(business=business, phone="+13035550123")
    assert record.status == "opted_out"
    assert record.events.get().detail == "21610"
    sent_log.refresh_from_db()
    assert (sent_log.status, sent_log.error_code) == ("failed", "21610")


@pytest.mark.parametrize("code", ["30005", "30006", "21211"])
def test_undeliverable_codes_stop_future_texts(
    client, sent_log, business, code, django_capture_on_commit_callbacks
):
    from apps.comms.services.consent import sms_refusal

    with django_capture_on_commit_callbacks(execute=True):
        post_twilio(client, STATUS, _status(status="undelivered", ErrorCode=code))
    assert code in sms_refusal(business=business, phone="+13035550123")


def test_transient_30003_does_not_block_the_number(
    client, sent_log, business, django_capture_on_commit_callbacks
):
    from apps.comms.services.consent import sms_refusal

    with django_capture_on_commit_callbacks(execute=True):
        post_twilio(client, STATUS, _status(status="undelivered", ErrorCode="30003"))
    assert sms_refusal(business=business, phone="+13035550123", customer=None) == ""


def test_inbound_text_threads_onto_customer_and_open_work_order(
    client, customer, location, main_sender, business, django_capture_on_commit_callbacks
):
    wo = f.WorkOrderFactory(location=location, business=business, customer=customer)
    params = {
        "AccountSid": "AC" + "1" * 32,
        "MessageSid": "SMin1",
        "From": "+13035550123",
        "To": "+13035550100",
        "Body": "Can you come after 3pm instead?",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = post_twilio(client, SMS, params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    log = CommunicationLog.objects.get(direction="inbound")
    assert (log.customer, log.work_order, log.read_at) == (customer, wo, None)
    with django_capture_on_commit_callbacks(execute=True):
        post_twilio(client, SMS, params)  # Twilio retried
    assert CommunicationLog.objects.filter(direction="inbound").count() == 1


def test_inbound_to_unknown_number_is_refused(client, main_sender):
    params = {"MessageSid": "SMx", "From": "+13035550123", "To": "+19995550100", "Body": "hi"}
    assert post_twilio(client, SMS, params).status_code == 403


def test_confirm_reply_confirms_the_appointment(
    client, customer, location, main_sender, business, django_capture_on_commit_callbacks
):
    from apps.core.services import work_orders as wos

    wo = f.WorkOrderFactory(location=location, business=business, customer=customer)
    wos.work_order_transition(work_order=wo, to_status="scheduled", by=None)
    CommunicationLog.objects.create(
        business=business,
        channel="sms",
        direction="outbound",
        recipient="+13035550123",
        template_kind="appointment_confirmation",
        work_order=wo,
        customer=customer,
        status="delivered",
    )
    for sid, body in (("SMc1", "C"), ("SMc2", "confirm")):
        with django_capture_on_commit_callbacks(execute=True):
            post_twilio(
                client,
                SMS,
                {"MessageSid": sid, "From": "+13035550123", "To": "+13035550100", "Body": body},
            )
    confirmation = AppointmentConfirmation.objects.get()
    assert confirmation.work_order == wo
    assert confirmation.window_start == wo.arrival_window_start


def test_inbound_call_on_main_line_offers_the_menu(
    client, main_sender, emergency_sender, django_capture_on_commit_callbacks
):
    params = {
        "CallSid": "CA1",
        "From": "+13035550123",
        "To": "+13035550100",
        "CallStatus": "ringing",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = post_twilio(client, VOICE, params)
    body = response.content.decode()
    assert "<Gather" in body and "press 1" in body
    assert CommunicationLog.objects.get(channel="voice").status == "ringing"
    # Pressing 1 routes to the emergency line's on-call phone.
    response = post_twilio(client, VOICE, {**params, "Digits": "1"})
    assert "+13035550777</Dial>" in response.content.decode()


def test_inbound_call_on_emergency_line_dials_on_call_at_once(
    client, main_sender, emergency_sender
):
    params = {
        "CallSid": "CA2",
        "From": "+13035550123",
        "To": "+13035550199",
        "CallStatus": "ringing",
    }
    body = post_twilio(client, VOICE, params).content.decode()
    assert "<Gather" not in body
    assert "+13035550777</Dial>" in body and 'record="record-from-answer-dual"' in body


def test_call_status_and_recording_land_on_the_call_log(
    client, business, main_sender, django_capture_on_commit_callbacks
):
    log = CommunicationLog.objects.create(
        business=business,
        channel="voice",
        direction="outbound",
        recipient="+13035550123",
        provider_id="CA9",
        status="queued",
    )
    base = {"AccountSid": "AC" + "1" * 32, "CallSid": "CA9"}
    with django_capture_on_commit_callbacks(execute=True):
        post_twilio(
            client,
            "/webhooks/twilio/voice/status",
            {
                **base,
                "CallStatus": "completed",
                "CallDuration": "42",
                "From": "+13035550100",
                "To": "+13035550142",
            },
        )
        post_twilio(
            client,
            "/webhooks/twilio/voice/status",
            {**base, "CallStatus": "ringing", "From": "+13035550100", "To": "+13035550142"},
        )
        post_twilio(
            client,
            "/webhooks/twilio/voice/recording",
            {
                **base,
                "RecordingSid": "RE1",
                "RecordingStatus": "completed",
                "RecordingUrl": "https://api.twilio.com/rec/RE1",
                "RecordingDuration": "40",
            },
        )
    log.refresh_from_db()
    assert log.status == "completed"
    assert log.metadata["duration_s"] == 42
    assert log.metadata["recordings"][0]["sid"] == "RE1"


def test_missing_fields_are_a_400(client, main_sender):
    params = {"AccountSid": "AC" + "1" * 32, "From": "+13035550100"}
    assert post_twilio(client, STATUS, params).status_code == 400


def test_another_business_token_cannot_post_for_our_number(
    client, main_sender, other_business, twilio
):
    from tests.comms.conftest import twilio_connection_for

    rival = twilio_connection_for(other_business, twilio.url, name="Rival Twilio")
    rival.credentials = {"account_sid": "AC" + "2" * 32, "auth_token": "rival-token-456"}
    rival.external_account_id = "AC" + "2" * 32
    rival.save()
    params = {
        "AccountSid": "AC" + "2" * 32,
        "MessageSid": "SMr",
        "From": "+13035550123",
        "To": "+13035550100",
        "Body": "STOP",
    }
    response = post_twilio(client, SMS, params, token="rival-token-456")
    assert response.status_code == 403
    assert not InboundEvent.objects.exists()
    assert not ConsentRecord.objects.exists()
