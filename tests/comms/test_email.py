"""Email through anymail: the same templates, the PDF on confirmations, and tracking webhooks."""

import base64
import datetime as dt
import json

import pytest
from django.core import mail

from apps.comms.models import CommunicationLog, EmailSuppression, MessageTemplate, ScheduledMessage
from apps.comms.services.outbox import due_messages_dispatch
from apps.core.services import work_orders as wos
from tests import factories as f

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


def test_tracking_webhook_with_bad_credentials_is_refused(
    client, location, main_sender, twilio, clock, run_on_commit
):
    _confirmation_email(location, main_sender, clock, run_on_commit)
    log = CommunicationLog.objects.get(channel="email")
    response = client.post(
        TRACKING,
        _postmark("Delivery", log),
        content_type="application/json",
        **_auth("hook-user:wrong"),
    )
    assert response.status_code == 400
    log.refresh_from_db()
    assert log.status == "sent"


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
