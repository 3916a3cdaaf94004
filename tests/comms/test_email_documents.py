"""email_document_send: a document (PDF) to a customer through the one comms email path.

Suppressions, consent, the business's From address, tracking and exactly-once per key, first with
anymail's test backend, then with anymail's real Postmark backend over HTTP to a loopback server.
"""

import base64
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail

from apps.comms.models import CommsSettings, CommunicationLog, EmailSuppression, ScheduledMessage
from apps.comms.services.email import (
    EmailRefused,
    email_document_find,
    email_document_send,
)
from apps.comms.services.outbox import due_messages_dispatch
from tests import factories as f

pytestmark = pytest.mark.django_db
TRACKING = "/webhooks/anymail/postmark/tracking/"
HOOK_SECRET = "hook-user:hook-pass-123"


@pytest.fixture(autouse=True)
def anymail_test_backend(settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.ANYMAIL = {"WEBHOOK_SECRET": HOOK_SECRET}


@pytest.fixture
def work_order(location):
    return f.WorkOrderFactory(
        business=location.business, customer=location.customer, location=location
    )


@pytest.fixture(scope="module")
def pdf_bytes():
    """A real PDF rendered by weasyprint (once per module: it takes about a second)."""
    import weasyprint

    return weasyprint.HTML(string="<h1>Diagnostic report</h1><p>Superheat 12 F</p>").write_pdf()


def send(work_order, pdf, *, key="report-1", **extra):
    kwargs = {
        "business": work_order.business,
        "dedupe_key": key,
        "subject": f"Your report {work_order.number}",
        "text": "Your report is attached.",
        "html": "<p>Your report is attached.</p>",
        "attachments": [("report.pdf", pdf, "application/pdf")],
        "work_order": work_order,
        "kind": "diagnostic_report",
        **extra,
    }
    return email_document_send(**kwargs)


def test_document_is_sent_from_the_business_address_with_the_pdf_and_logged(
    business, work_order, dispatcher, pdf_bytes
):
    CommsSettings.objects.create(business=business, email_from="office@acme.example")
    assert pdf_bytes[:5] == b"%PDF-"

    log = send(work_order, pdf_bytes, by=dispatcher, metadata={"report_id": 7})

    [email] = mail.outbox
    assert email.from_email == "office@acme.example"
    assert email.to == [work_order.customer.email]
    assert email.subject == f"Your report {work_order.number}"
    assert email.alternatives[0][1] == "text/html"
    [(name, content, mimetype)] = email.attachments
    assert (name, mimetype) == ("report.pdf", "application/pdf")
    assert content == pdf_bytes and content[:5] == b"%PDF-"
    assert email.tags == ["diagnostic_report"]
    assert email.metadata == {"log_id": str(log.pk), "business_id": str(business.pk)}
    log.refresh_from_db()
    assert (log.channel, log.direction, log.status) == ("email", "outbound", "sent")
    assert log.provider_id == "0"  # the test backend's message id
    assert log.sender == "office@acme.example"
    assert log.work_order == work_order and log.customer == work_order.customer
    assert log.user == dispatcher and log.template_kind == "diagnostic_report"
    assert log.metadata["report_id"] == 7
    assert log.metadata["attachments"] == [
        {"filename": "report.pdf", "bytes": len(pdf_bytes), "type": "application/pdf"}
    ]
    row = ScheduledMessage.objects.get(dedupe_key=f"doc:{business.pk}:report-1")
    assert (row.status, row.log_id, row.channel) == ("sent", log.pk, "email")
    # The outbox dispatcher never picks the row up again.
    assert due_messages_dispatch() == 0
    assert len(mail.outbox) == 1


def test_the_same_key_sends_once_and_answers_with_the_first_log(work_order, pdf_bytes):
    first = send(work_order, pdf_bytes)
    again = send(work_order, pdf_bytes, to="someone.else@example.com")
    assert again.pk == first.pk
    assert len(mail.outbox) == 1
    assert email_document_find(business=work_order.business, dedupe_key="report-1") == first
    other = send(work_order, pdf_bytes, key="report-2")
    assert other.pk != first.pk and len(mail.outbox) == 2


def test_a_suppressed_address_is_refused_and_nothing_is_recorded(business, work_order, pdf_bytes):
    EmailSuppression.objects.create(
        business=business, email=work_order.customer.email.upper(), reason="bounced"
    )
    with pytest.raises(EmailRefused, match=r"suppressed \(bounced\)"):
        send(work_order, pdf_bytes)
    assert mail.outbox == []
    assert not CommunicationLog.objects.exists() and not ScheduledMessage.objects.exists()
    # The key was not used up: another address (same customer, who agreed to email) works.
    log = send(work_order, pdf_bytes, to="spouse@example.com")
    assert log.recipient == "spouse@example.com" and mail.outbox[0].to == ["spouse@example.com"]


def test_consent_missing_address_and_bad_address_are_refused(work_order, pdf_bytes):
    customer = work_order.customer
    customer.email_opt_in = False
    customer.save()
    with pytest.raises(EmailRefused, match="has not agreed to email"):
        send(work_order, pdf_bytes)
    customer.email_opt_in, customer.email = True, ""
    customer.save()
    with pytest.raises(EmailRefused, match="no email address on file"):
        send(work_order, pdf_bytes)
    with pytest.raises(EmailRefused, match="not a valid email address") as refused:
        send(work_order, pdf_bytes, to="not-an-address")
    assert refused.value.field == "to"
    assert mail.outbox == [] and not CommunicationLog.objects.exists()


def test_keys_are_per_business_and_another_business_work_order_is_refused(
    business, other_business, work_order, pdf_bytes
):
    customer = f.CustomerFactory(business=other_business)
    location = f.ServiceLocationFactory(customer=customer, business=other_business)
    theirs = f.WorkOrderFactory(business=other_business, customer=customer, location=location)
    with pytest.raises(ValueError, match="another business"):
        send(theirs, pdf_bytes, business=business)
    assert mail.outbox == []
    mine = send(work_order, pdf_bytes, key="same")
    other = send(theirs, pdf_bytes, key="same")
    assert other.pk != mine.pk and other.business == other_business
    assert email_document_find(business=other_business, dedupe_key="same") == other
    assert [m.to for m in mail.outbox] == [[work_order.customer.email], [theirs.customer.email]]


def _auth():
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(HOOK_SECRET.encode()).decode()}


def _postmark_event(record_type, log, **extra):
    return json.dumps(
        {
            "RecordType": record_type,
            "MessageID": log.provider_id,
            "Recipient": log.recipient,
            "Email": log.recipient,
            "ID": 43,
            "DeliveredAt": "2026-11-18T17:05:00Z",
            "BouncedAt": "2026-11-18T17:06:00Z",
            "Metadata": {"log_id": str(log.pk)},
            **extra,
        }
    )


def test_tracking_applies_to_the_document_log_and_a_hard_bounce_stops_the_next(
    client, business, work_order, pdf_bytes
):
    log = send(work_order, pdf_bytes)
    response = client.post(
        TRACKING, _postmark_event("Delivery", log), content_type="application/json", **_auth()
    )
    assert response.status_code == 200
    log.refresh_from_db()
    assert log.status == "delivered"
    client.post(
        TRACKING,
        _postmark_event("Bounce", log, Type="HardBounce", Description="No such user"),
        content_type="application/json",
        **_auth(),
    )
    assert EmailSuppression.objects.get(business=business).email == log.recipient
    with pytest.raises(EmailRefused, match="suppressed"):
        send(work_order, pdf_bytes, key="report-2")
    assert len(mail.outbox) == 1


# --- anymail's real Postmark backend over HTTP ---------------------------------------------------
class PostmarkLoopback(BaseHTTPRequestHandler):
    """POST /email as Postmark answers it; an address with "inactive" gets Postmark's 406."""

    requests: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "headers": dict(self.headers), **body})
        if "inactive" in body["To"]:
            status, answer = (
                422,
                {
                    "ErrorCode": 406,
                    # Postmark's wording, which anymail parses for the refused addresses.
                    "Message": "You tried to send to a recipient that has been marked as inactive.\n"
                    f"Found inactive addresses: {body['To']}.\n"
                    "Inactive recipients are ones that have generated a hard bounce or a spam "
                    "complaint. ",
                },
            )
        else:
            status, answer = (
                200,
                {
                    "To": body["To"],
                    "SubmittedAt": "2026-11-18T17:00:00Z",
                    "MessageID": str(uuid.uuid4()),
                    "ErrorCode": 0,
                    "Message": "OK",
                },
            )
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def postmark(settings):
    PostmarkLoopback.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), PostmarkLoopback)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {
        "POSTMARK_SERVER_TOKEN": "server-token-123",
        "POSTMARK_API_URL": f"http://127.0.0.1:{server.server_port}/",
        "WEBHOOK_SECRET": HOOK_SECRET,
    }
    yield PostmarkLoopback.requests
    server.shutdown()
    server.server_close()


def test_postmark_receives_the_pdf_and_its_message_id_is_logged(
    business, work_order, pdf_bytes, postmark
):
    CommsSettings.objects.create(business=business, email_from="office@acme.example")
    log = send(work_order, pdf_bytes)
    [request] = postmark
    assert request["path"] == "/email"
    assert request["headers"]["X-Postmark-Server-Token"] == "server-token-123"
    assert request["From"] == "office@acme.example" and request["To"] == log.recipient
    [attachment] = request["Attachments"]
    assert attachment["Name"] == "report.pdf" and attachment["ContentType"] == "application/pdf"
    assert base64.b64decode(attachment["Content"]) == pdf_bytes
    assert request["Metadata"]["log_id"] == str(log.pk) and request["Tag"] == "diagnostic_report"
    log.refresh_from_db()
    assert log.status == "sent" and uuid.UUID(log.provider_id)


def test_postmark_refusal_marks_the_log_failed_and_is_not_retried(work_order, pdf_bytes, postmark):
    log = send(work_order, pdf_bytes, to="inactive@example.com")
    log.refresh_from_db()
    assert log.status == "failed" and log.error_message
    assert ScheduledMessage.objects.get(log=log).status == "failed"
    assert send(work_order, pdf_bytes, to="inactive@example.com").pk == log.pk
    assert len(postmark) == 1
    # Postmark's refusal is remembered: a new document to that address is refused before sending.
    suppression = EmailSuppression.objects.get(email="inactive@example.com")
    assert suppression.reason == "rejected"
    with pytest.raises(EmailRefused, match="suppressed"):
        send(work_order, pdf_bytes, key="report-2", to="inactive@example.com")
    assert len(postmark) == 1
