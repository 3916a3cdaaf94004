"""Email through anymail: the same templates, the PDF on confirmations, and tracking webhooks."""

import base64
import datetime as dt
import json

import pytest
import structlog
from django.core import mail

from apps.comms.models import CommunicationLog, EmailSuppression, MessageTemplate, ScheduledMessage
from apps.comms.services.outbox import due_messages_dispatch
from apps.core.services import work_orders as wos
from tests import factories as f
from tests.webhooks import WebhookContract

pytestmark = pytest.mark.django_db
TRACKING = "/webhooks/anymail/postmark/tracking/"


@pytest.fixture(autouse=True)
def anymail_test_backend(settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook-user:hook-pass-123"}


def _auth(secret="hook-user:hook-pass-123"):  # noqa: S107  (test webhook credentials)
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def _confirmation_email(location, main_sender, clock, run_on_commit):
    start = clock.now + dt.timedelta(hours=20)
    wo = run_on_commit(
        wos.work_order_create,
        business=location.business,
        customer=location.customer,
        location=location,
        category=f.ServiceCategoryFactory(business=location.business),
        summary="Tune-up",
        arrival_window_start=start,
        arrival_window_end=start + dt.timedelta(hours=2),
    )
    run_on_commit(wos.work_order_transition, work_order=wo, to_status="scheduled", by=None)
    return wo


def test_confirmation_email_uses_the_template_and_attaches_the_work_order_pdf(
    location, main_sender, twilio, clock, run_on_commit
):
    wo = _confirmation_email(location, main_sender, clock, run_on_commit)
    [email] = mail.outbox
    assert email.to == [location.customer.email]
    assert email.subject.startswith("Your appointment with Acme HVAC")
    [(name, content, mimetype)] = email.attachments
    assert (name, mimetype) == (f"{wo.number}.pdf", "application/pdf")
    assert content[:5] == b"%PDF-"
    log = CommunicationLog.objects.get(channel="email")
    assert log.provider_id and log.status == "sent" and log.work_order == wo
    # The text went too, as its own outbox row.
    assert ScheduledMessage.objects.get(channel="sms", work_order=wo).status == "sent"


def _postmark(record_type, log, **extra):
    return json.dumps(
        {
            "RecordType": record_type,
            "MessageID": log.provider_id,
            "Recipient": log.recipient,
            "Email": log.recipient,
            "ID": 42,
            "DeliveredAt": "2026-11-18T17:05:00Z",
            "BouncedAt": "2026-11-18T17:05:00Z",
            "Metadata": {"log_id": str(log.pk)},
            **extra,
        }
    )


def test_delivered_then_opened_then_late_delivered(
    client, location, main_sender, twilio, clock, run_on_commit
):
    _confirmation_email(location, main_sender, clock, run_on_commit)
    log = CommunicationLog.objects.get(channel="email")
    for kind in ("Delivery", "Open", "Delivery"):
        extra = {"ReceivedAt": "2026-11-18T17:06:00Z"} if kind == "Open" else {}
        assert (
            client.post(
                TRACKING, _postmark(kind, log, **extra), content_type="application/json", **_auth()
            ).status_code
            == 200
        )
    log.refresh_from_db()
    assert log.status == "opened"
    assert [h["status"] for h in log.status_history][-2:] == ["delivered", "opened"]


def test_hard_bounce_suppresses_further_email(
    client, business, location, main_sender, twilio, clock, run_on_commit
):
    _confirmation_email(location, main_sender, clock, run_on_commit)
    log = CommunicationLog.objects.get(channel="email")
    client.post(
        TRACKING,
        _postmark("Bounce", log, Type="HardBounce", Description="No such user"),
        content_type="application/json",
        **_auth(),
    )
    assert EmailSuppression.objects.get(business=business).email == log.recipient
    mail.outbox.clear()
    MessageTemplate.objects.create(
        business=business,
        kind="service_complete",
        sms_body="Done {customer_name}",
        email_subject="Done",
        email_text="Done",
        variables="customer_name",
    )
    wo = f.WorkOrderFactory(location=location, business=business, customer=location.customer)
    from apps.comms.services.outbox import message_schedule

    [_sms, email] = run_on_commit(
        message_schedule,
        business=business,
        kind="service_complete",
        audience="customer",
        dedupe_key="done",
        due_at=clock.now,
        work_order=wo,
    )
    email.refresh_from_db()
    assert email.status == "skipped" and "suppressed" in email.reason
    assert mail.outbox == []


def test_soft_bounce_does_not_suppress(
    client, business, location, main_sender, twilio, clock, run_on_commit
):
    _confirmation_email(location, main_sender, clock, run_on_commit)
    log = CommunicationLog.objects.get(channel="email")
    client.post(
        TRACKING,
        _postmark("Bounce", log, Type="SoftBounce"),
        content_type="application/json",
        **_auth(),
    )
    assert not EmailSuppression.objects.exists()


def test_complaint_suppresses(
    client, business, location, main_sender, twilio, clock, run_on_commit
):
    _confirmation_email(location, main_sender, clock, run_on_commit)
    log = CommunicationLog.objects.get(channel="email")
    client.post(
        TRACKING,
        _postmark("SpamComplaint", log, Type="SpamComplaint"),
        content_type="application/json",
        **_auth(),
    )
    assert EmailSuppression.objects.get().reason == "complained"
    assert due_messages_dispatch() == 0


# --- tenancy: tracking touches only the email rows of the business we sent for (issue 12) -------
def _postmark_event(record_type, *, message_id, metadata, **extra):
    return {
        "RecordType": record_type,
        "MessageID": message_id,
        "Recipient": "dana@example.com",
        "Email": "dana@example.com",
        "ID": 42,
        "DeliveredAt": "2026-11-18T17:05:00Z",
        "ReceivedAt": "2026-11-18T17:06:00Z",
        "Metadata": metadata,
        **extra,
    }


def _log(business, channel, provider_id, status="sent"):
    return CommunicationLog.objects.create(
        business=business,
        channel=channel,
        direction="outbound",
        recipient="dana@example.com" if channel == "email" else "+13035550123",
        provider_id=provider_id,
        status=status,
    )


@pytest.mark.parametrize("channel", ["sms", "email"])
def test_tracking_cannot_reach_another_business_row_by_log_id(
    client, business, other_business, channel
):
    theirs = _log(business, channel, "SM_a" if channel == "sms" else "")
    event = _postmark_event(
        "Delivery",
        message_id="pm-unknown",
        metadata={"log_id": str(theirs.pk), "business_id": str(other_business.pk)},
    )
    with structlog.testing.capture_logs() as logs:
        response = client.post(
            TRACKING, json.dumps(event), content_type="application/json", **_auth()
        )

    assert response.status_code == 200
    theirs.refresh_from_db()
    assert theirs.status == "sent" and theirs.status_history == []
    assert "email_tracking_refused" in [entry["event"] for entry in logs]


def test_tracking_log_id_does_not_reach_a_text_of_the_same_business(client, business):
    text = _log(business, "sms", "SM_a")
    event = _postmark_event(
        "Delivery",
        message_id="pm-unknown",
        metadata={"log_id": str(text.pk), "business_id": str(business.pk)},
    )
    client.post(TRACKING, json.dumps(event), content_type="application/json", **_auth())
    text.refresh_from_db()
    assert text.status == "sent"


def test_tracking_log_id_does_not_reach_a_row_of_another_message(client, business):
    other_message = _log(business, "email", "pm-other")
    event = _postmark_event(
        "Bounce",
        message_id="pm-unknown",
        metadata={"log_id": str(other_message.pk), "business_id": str(business.pk)},
        Type="HardBounce",
    )
    client.post(TRACKING, json.dumps(event), content_type="application/json", **_auth())
    other_message.refresh_from_db()
    assert other_message.status == "sent" and not EmailSuppression.objects.exists()


def test_tracking_by_log_id_still_finds_our_row_before_the_message_id_is_known(client, business):
    ours = _log(business, "email", "")
    event = _postmark_event(
        "Delivery",
        message_id="pm-new",
        metadata={"log_id": str(ours.pk), "business_id": str(business.pk)},
    )
    client.post(TRACKING, json.dumps(event), content_type="application/json", **_auth())
    ours.refresh_from_db()
    assert ours.status == "delivered"


def test_only_tracking_endpoints_are_mounted(client):
    # We process no inbound email: anymail's inbound URLs are not exposed at all.
    inbound = "/webhooks/anymail/postmark/inbound/"
    assert client.post(inbound, "{}", content_type="application/json", **_auth()).status_code == 404


# --- the shared webhook contract (tests/webhooks.py) ---------------------------------------------
class TestAnymailTrackingWebhook(WebhookContract):
    path = TRACKING
    key, other_key = "hook-user:hook-pass-123", "hook-user:wrong"

    @pytest.fixture(autouse=True)
    def _arrange(self, business, other_business):
        self.business, self.other_business = business, other_business
        self.email = _log(business, "email", "pm-msg-a")
        self.text = _log(business, "sms", "SM_a")
        self.logs: list[dict] = []

    def sign(self, body, *, key, path, content_type, timestamp):
        return {"Authorization": "Basic " + base64.b64encode(key.encode()).decode()}

    def event(self, name):
        kind = "Open" if name == "newer" else "Delivery"
        return _postmark_event(
            kind,
            message_id="pm-msg-a",
            metadata={"log_id": str(self.email.pk), "business_id": str(self.business.pk)},
        )

    def state(self):
        self.email.refresh_from_db()
        self.text.refresh_from_db()
        return self.email.status, self.text.status, self.text.status_history

    def applied(self):
        self.email.refresh_from_db()
        return [h["status"] for h in self.email.status_history].count("delivered")

    def after_out_of_order(self):
        return "opened", "sent", []  # the late delivery does not undo "opened"

    def wrong_tenant(self):
        # The reported case: another business's event naming our text by its log id.
        forged = _postmark_event(
            "Delivery",
            message_id="pm-msg-b",
            metadata={"log_id": str(self.text.pk), "business_id": str(self.other_business.pk)},
        )
        with structlog.testing.capture_logs() as self.logs:
            return self.deliver(forged)

    def refusal_recorded(self):
        return any(entry["event"] == "email_tracking_refused" for entry in self.logs)


def test_every_mounted_tracking_endpoint_answers_garbage_with_a_client_error(client):
    """Whichever ESP a deployment picks, a malformed tracking post is a 4xx (or a 200 for an
    authentic post that holds nothing to apply), never a 500."""
    from apps.comms.webhooks_urls import anymail_tracking
    from tests.webhooks import MALFORMED

    assert len(anymail_tracking) >= 10
    for pattern in anymail_tracking:
        path = f"/webhooks/anymail/{pattern.pattern}"
        for shape, (body, content_type) in MALFORMED.items():
            if body is None:
                continue  # over the upload limit: refused by Django before any view
            for auth in (_auth(), {}):
                response = client.post(path, body, content_type=content_type, **auth)
                status = response.status_code
                assert status < 300 or 400 <= status < 500, (path, shape, status)
                assert auth or status >= 400, (path, shape, "accepted without credentials")
