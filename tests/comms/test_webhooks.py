"""Twilio webhooks: signatures, the inbox, SIDs scoped to the receiving business, voice TwiML; the
shared contract (tests/webhooks.py) runs for every Twilio endpoint."""

from typing import ClassVar
from urllib.parse import urlencode

import pytest
from django.http import QueryDict

from apps.comms.models import AppointmentConfirmation, CommunicationLog, ConsentRecord, SenderNumber
from apps.integrations.models import InboundEvent, IntegrationActivity, Outcome
from tests import factories as f
from tests.comms.conftest import AUTH_TOKEN, PUBLIC, post_twilio, sign
from tests.webhooks import WebhookContract

pytestmark = pytest.mark.django_db
STATUS = "/webhooks/twilio/status"
SMS = "/webhooks/twilio/sms"
VOICE = "/webhooks/twilio/voice"
VOICE_STATUS = "/webhooks/twilio/voice/status"
VOICE_RECORDING = "/webhooks/twilio/voice/recording"


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


# --- tenancy: SIDs are looked up within the receiving business (issue 12, item 3) ---------------
RIVAL_SID = "AC" + "2" * 32
RIVAL_TOKEN = "rival-token-456"
RIVAL_NUMBER = "+13035550200"


@pytest.fixture
def rival_sender(other_business, twilio):
    from tests.comms.conftest import twilio_connection_for

    rival = twilio_connection_for(other_business, twilio.url, name="Rival Twilio")
    rival.credentials = {"account_sid": RIVAL_SID, "auth_token": RIVAL_TOKEN}
    rival.external_account_id = RIVAL_SID
    rival.save()
    return SenderNumber.objects.create(
        business=other_business, role="main", phone=RIVAL_NUMBER, connection=rival
    )


def _refused_on(connection) -> InboundEvent:
    return InboundEvent.objects.get(connection=connection, status=InboundEvent.Status.REFUSED)


def test_a_status_callback_for_another_business_message_is_refused(
    client, sent_log, rival_sender, django_capture_on_commit_callbacks
):
    params = _status(sid=sent_log.provider_id, From=RIVAL_NUMBER, AccountSid=RIVAL_SID)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_twilio(client, STATUS, params, token=RIVAL_TOKEN)

    assert response.status_code == 204
    assert sent_log.provider_id in _refused_on(rival_sender.connection).error
    sent_log.refresh_from_db()
    assert sent_log.status == "queued" and sent_log.status_history == []


def test_an_inbound_text_reusing_another_business_sid_is_refused(
    client, business, customer, rival_sender, django_capture_on_commit_callbacks
):
    ours = CommunicationLog.objects.create(
        business=business,
        channel="sms",
        direction="inbound",
        recipient="+13035550100",
        provider_id="SM_ours",
        body="hello",
    )
    params = {
        "MessageSid": ours.provider_id,
        "From": "+13035550123",
        "To": RIVAL_NUMBER,
        "Body": "STOP",
        "AccountSid": RIVAL_SID,
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert post_twilio(client, SMS, params, token=RIVAL_TOKEN).status_code == 200

    _refused_on(rival_sender.connection)
    assert list(CommunicationLog.objects.values_list("provider_id", flat=True)) == ["SM_ours"]
    assert not ConsentRecord.objects.exists()


def test_the_inbox_key_of_a_callback_is_per_connection(
    client, sent_log, rival_sender, django_capture_on_commit_callbacks
):
    """B posting A's SID first must not make A's real callback look like a duplicate."""
    forged = _status(sid=sent_log.provider_id, From=RIVAL_NUMBER, AccountSid=RIVAL_SID)
    with django_capture_on_commit_callbacks(execute=True):
        post_twilio(client, STATUS, forged, token=RIVAL_TOKEN)
        post_twilio(client, STATUS, _status(sid=sent_log.provider_id))

    sent_log.refresh_from_db()
    assert sent_log.status == "delivered"


def test_a_forged_signature_for_our_number_is_counted_on_our_connection(
    client, main_sender, rival_sender
):
    params = {"MessageSid": "SMf", "From": "+13035550123", "To": "+13035550100", "Body": "hi"}
    assert post_twilio(client, SMS, params, token=RIVAL_TOKEN).status_code == 403
    refusal = IntegrationActivity.objects.get(connection=main_sender.connection)
    assert (refusal.outcome, refusal.status_code) == (Outcome.REJECTED, 403)


# --- the shared webhook contract (tests/webhooks.py) ---------------------------------------------
class _TwilioContract(WebhookContract):
    key, other_key = AUTH_TOKEN, RIVAL_TOKEN

    @pytest.fixture(autouse=True)
    def _arrange(self, business, customer, main_sender, rival_sender):
        self.business, self.customer = business, customer
        self.connection, self.rival = main_sender.connection, rival_sender.connection

    def encode(self, payload):
        return urlencode(payload).encode(), "application/x-www-form-urlencoded"

    def sign(self, body, *, key, path, content_type, timestamp):
        params = {}
        if content_type == "application/x-www-form-urlencoded":
            params = dict(QueryDict(body.decode("utf-8", "replace")).items())
        return {"X-Twilio-Signature": sign(PUBLIC + path, params, key)}

    def refusal_recorded(self):
        return InboundEvent.objects.filter(
            connection=self.rival, status=InboundEvent.Status.REFUSED
        ).exists()


class TestTwilioMessageStatusCallback(_TwilioContract):
    path = STATUS

    @pytest.fixture(autouse=True)
    def _log(self, _arrange, sent_log):
        self.log = sent_log

    def event(self, name):
        return _status(sid=self.log.provider_id, status="sent" if name == "older" else "delivered")

    def state(self):
        self.log.refresh_from_db()
        return self.log.status, [h["status"] for h in self.log.status_history]

    def applied(self):
        return self.state()[1].count("delivered")

    def after_out_of_order(self):
        return "delivered", ["delivered", "sent"]  # the late "sent" is history, not status

    def wrong_tenant(self):
        forged = _status(sid=self.log.provider_id, From=RIVAL_NUMBER, AccountSid=RIVAL_SID)
        return self.deliver(forged, key=RIVAL_TOKEN)


class TestTwilioInboundSms(_TwilioContract):
    path = SMS
    BODIES: ClassVar[dict[str, str]] = {
        "older": "first",
        "first": "Can you come after 3?",
        "newer": "second",
    }

    @pytest.fixture(autouse=True)
    def _existing(self, _arrange):
        CommunicationLog.objects.create(
            business=self.business,
            channel="sms",
            direction="inbound",
            recipient="+13035550100",
            provider_id="SM_in_earlier",
            body="earlier",
        )

    def event(self, name):
        return {
            "AccountSid": "AC" + "1" * 32,
            "MessageSid": f"SM_in_{name}",
            "From": "+13035550123",
            "To": "+13035550100",
            "Body": self.BODIES[name],
        }

    def state(self):
        return sorted(
            CommunicationLog.objects.filter(
                business=self.business, direction="inbound"
            ).values_list("provider_id", "body")
        )

    def applied(self):
        return CommunicationLog.objects.filter(provider_id="SM_in_first").count()

    def after_out_of_order(self):
        # Inbound texts carry no time to order by: each is kept once, whatever the order.
        return [("SM_in_earlier", "earlier"), ("SM_in_newer", "second"), ("SM_in_older", "first")]

    def wrong_tenant(self):
        forged = {
            **self.event("first"),
            "MessageSid": "SM_in_earlier",
            "To": RIVAL_NUMBER,
            "Body": "STOP",
            "AccountSid": RIVAL_SID,
        }
        return self.deliver(forged, key=RIVAL_TOKEN)


class TestTwilioInboundVoice(_TwilioContract):
    path = VOICE

    def event(self, name):
        return {
            "CallSid": "CA_in_1",
            "From": "+13035550123",
            "To": "+13035550100",
            "CallStatus": "ringing",
            "AccountSid": "AC" + "1" * 32,
        }

    def state(self):
        return sorted(
            CommunicationLog.objects.filter(business=self.business, channel="voice").values_list(
                "provider_id", "status"
            )
        )

    def applied(self):
        return CommunicationLog.objects.filter(provider_id="CA_in_1").count()

    def out_of_order(self):
        assert self.deliver(self.event("first")).status_code == 200
        call = {"CallSid": "CA_in_1", "From": "+13035550123", "To": "+13035550100"}
        for status in ("completed", "in-progress"):  # the late "in-progress" after the end
            response = self.deliver({**call, "CallStatus": status}, path=VOICE_STATUS)
            assert response.status_code == 204

    def after_out_of_order(self):
        return [("CA_in_1", "completed")]

    def wrong_tenant(self):
        # B's token cannot speak for A's number: 403 before anything is stored.
        return self.deliver(self.event("first"), key=RIVAL_TOKEN)

    def refusal_recorded(self):
        return (
            IntegrationActivity.objects.filter(
                connection=self.connection, outcome=Outcome.REJECTED
            ).exists()
            and not InboundEvent.objects.exists()
        )


class _OutboundCallContract(_TwilioContract):
    @pytest.fixture(autouse=True)
    def _call(self, _arrange):
        self.call = CommunicationLog.objects.create(
            business=self.business,
            channel="voice",
            direction="outbound",
            recipient="+13035550123",
            provider_id="CA9",
            status="queued",
        )

    def _forged(self, payload):
        return self.deliver(
            {**payload, "From": RIVAL_NUMBER, "AccountSid": RIVAL_SID}, key=RIVAL_TOKEN
        )


class TestTwilioCallStatusCallback(_OutboundCallContract):
    path = VOICE_STATUS

    def event(self, name):
        status = "ringing" if name == "older" else "completed"
        return {
            "AccountSid": "AC" + "1" * 32,
            "CallSid": "CA9",
            "CallStatus": status,
            "CallDuration": "42",
            "From": "+13035550100",
            "To": "+13035550123",
        }

    def state(self):
        self.call.refresh_from_db()
        return self.call.status, self.call.metadata.get("duration_s")

    def applied(self):
        self.call.refresh_from_db()
        return [h["status"] for h in self.call.status_history].count("completed")

    def after_out_of_order(self):
        return "completed", 42

    def wrong_tenant(self):
        return self._forged(self.event("newer"))


class TestTwilioRecordingCallback(_OutboundCallContract):
    path = VOICE_RECORDING

    def event(self, name):
        status = "in-progress" if name == "older" else "completed"
        return {
            "AccountSid": "AC" + "1" * 32,
            "CallSid": "CA9",
            "RecordingSid": "RE1",
            "RecordingStatus": status,
            "RecordingUrl": "https://api.twilio.com/rec/RE1",
            "From": "+13035550100",
            "To": "+13035550123",
        }

    def state(self):
        self.call.refresh_from_db()
        return [(r["sid"], r["status"]) for r in self.call.metadata.get("recordings", [])]

    def applied(self):
        return InboundEvent.objects.filter(status=InboundEvent.Status.PROCESSED).count()

    def after_out_of_order(self):
        return [("RE1", "completed")]

    def wrong_tenant(self):
        return self._forged(self.event("newer"))
