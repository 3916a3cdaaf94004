"""Emailing the diagnostic report through comms: API and admin, the real PDF, refusals, tenancy."""

import uuid

import pytest
from django.core import mail

from apps.comms.models import CommsSettings, CommunicationLog, EmailSuppression
from apps.core.admin.permissions import grant_office_permissions
from apps.diagnostics.models import DiagnosticReport
from apps.diagnostics.services.reports import report_generate
from tests import factories as f
from tests.diagnostics.conftest import undercharged_set

READINGS = "/api/v1/diagnostics/readings/"
REPORTS = "/admin/diagnostics/diagnosticreport/"


@pytest.fixture(autouse=True)
def anymail_test_backend(settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.ANYMAIL = {}


def email_url(work_order):
    return f"/api/v1/diagnostics/work-orders/{work_order.pk}/report/email/"


@pytest.fixture
def analysed(tech_client, work_order):
    assert (
        tech_client.post(
            READINGS, {"readings": undercharged_set(work_order)}, format="json"
        ).status_code
        == 201
    )
    url = f"/api/v1/diagnostics/work-orders/{work_order.pk}/analyze/"
    assert tech_client.post(url, {"phase": "in"}, format="json").status_code == 200
    return work_order


def test_api_emails_a_fresh_report_pdf_to_the_customer_and_logs_it(
    office_client, dispatcher, analysed
):
    wo = analysed
    CommsSettings.objects.create(business=wo.business, email_from="office@acme.example")

    response = office_client.post(email_url(wo), {}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    [email] = mail.outbox
    assert email.to == [wo.customer.email] and email.from_email == "office@acme.example"
    assert wo.number in email.subject and wo.customer.display_name in email.body
    [(name, content, mimetype)] = email.attachments
    assert (name, mimetype) == (f"diagnostics-{wo.number}.pdf", "application/pdf")
    assert content[:5] == b"%PDF-"
    report = DiagnosticReport.objects.get(work_order=wo)
    assert bytes(report.pdf) == content and report.generated_by == dispatcher
    assert "fault.undercharge" in report.html or "low on refrigerant" in report.html
    log = CommunicationLog.objects.get(work_order=wo, customer=wo.customer)
    assert (log.channel, log.status, log.template_kind) == ("email", "sent", "diagnostic_report")
    assert log.user == dispatcher and log.metadata["report_id"] == report.pk
    assert body == {
        "log": log.pk,
        "status": "sent",
        "to": wo.customer.email,
        "report": report.pk,
        "already_sent": False,
    }


def test_a_retried_request_with_the_same_client_id_sends_once(office_client, analysed):
    payload = {"client_id": str(uuid.uuid4()), "to": "owner@example.com"}
    first = office_client.post(email_url(analysed), payload, format="json")
    again = office_client.post(email_url(analysed), payload, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["already_sent"] is True
    assert again.json()["log"] == first.json()["log"]
    assert again.json()["report"] == first.json()["report"]
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["owner@example.com"]
    assert DiagnosticReport.objects.count() == 1
    # Without a client id each request is a new email of a new report.
    assert office_client.post(email_url(analysed), {}, format="json").status_code == 201
    assert len(mail.outbox) == 2 and DiagnosticReport.objects.count() == 2


def test_a_stored_report_is_sent_as_stored(tech_client, analysed, other_business):
    stored = report_generate(work_order=analysed, with_pdf=False)
    response = tech_client.post(email_url(analysed), {"report": stored.pk}, format="json")
    assert response.status_code == 201, response.json()
    stored.refresh_from_db()
    # It had no PDF yet: the PDF sent is now kept with it.
    assert bytes(stored.pdf)[:5] == b"%PDF-"
    assert mail.outbox[0].attachments[0][1] == bytes(stored.pdf)
    assert DiagnosticReport.objects.count() == 1
    other_wo = f.WorkOrderFactory(business=analysed.business)
    elsewhere = report_generate(work_order=other_wo, with_pdf=False)
    assert (
        tech_client.post(email_url(analysed), {"report": elsewhere.pk}, format="json").status_code
        == 404
    )


def test_no_email_suppressed_or_no_consent_answers_400_and_sends_nothing(office_client, analysed):
    customer = analysed.customer
    customer.email = ""
    customer.save()
    response = office_client.post(email_url(analysed), {}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].endswith("no email address on file.")
    assert response.json()["code"] == "email_refused"

    EmailSuppression.objects.create(
        business=analysed.business, email="gone@example.com", reason="complained"
    )
    response = office_client.post(email_url(analysed), {"to": "gone@example.com"}, format="json")
    assert response.status_code == 400 and "suppressed (complained)" in response.json()["detail"]

    customer.email, customer.email_opt_in = "home@example.com", False
    customer.save()
    response = office_client.post(email_url(analysed), {}, format="json")
    assert response.status_code == 400 and "has not agreed to email" in response.json()["detail"]

    response = office_client.post(email_url(analysed), {"to": "nope"}, format="json")
    assert response.status_code == 400 and "to" in response.json()["errors"]
    assert mail.outbox == [] and not CommunicationLog.objects.exists()
    assert not DiagnosticReport.objects.exists()  # refused before rendering anything


def test_other_businesses_and_unassigned_technicians_get_404(
    rival_client, analysed, business, technician
):
    assert rival_client.post(email_url(analysed), {}, format="json").status_code == 404
    from tests.api.helpers import client_for

    stranger = f.TechnicianFactory(business=business)
    assert client_for(stranger.user).post(email_url(analysed), {}, format="json").status_code == (
        404
    )
    assert mail.outbox == []


# --- admin ---------------------------------------------------------------------------------------
def test_admin_action_emails_the_selected_reports(client, dispatcher, analysed):
    report = report_generate(work_order=analysed)
    grant_office_permissions(dispatcher)
    client.force_login(dispatcher)
    response = client.post(
        REPORTS,
        {"action": "email_to_customer", "_selected_action": [report.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert f"report sent to {analysed.customer.email}" in response.content.decode()
    [email] = mail.outbox
    assert email.attachments[0][1] == bytes(report.pdf)
    log = CommunicationLog.objects.get(work_order=analysed)
    assert log.user == dispatcher and log.metadata["report_id"] == report.pk
    # The same report to the same address again is not a second email.
    response = client.post(
        REPORTS, {"action": "email_to_customer", "_selected_action": [report.pk]}, follow=True
    )
    assert "was already sent" in response.content.decode() and len(mail.outbox) == 1


def test_admin_report_page_emails_to_a_typed_address_and_shows_refusals(
    client, dispatcher, analysed, other_business
):
    report = report_generate(work_order=analysed)
    grant_office_permissions(dispatcher)
    client.force_login(dispatcher)
    page = client.get(f"{REPORTS}{report.pk}/change/").content.decode()
    assert f"{REPORTS}{report.pk}/email/" in page
    form = client.get(f"{REPORTS}{report.pk}/email/")
    assert form.status_code == 200 and analysed.customer.email in form.content.decode()

    response = client.post(f"{REPORTS}{report.pk}/email/", {"to": "tenant@example.com"})
    assert response.status_code == 302 and response["Location"].endswith(f"{report.pk}/change/")
    assert mail.outbox[0].to == ["tenant@example.com"]

    EmailSuppression.objects.create(
        business=analysed.business, email="bounced@example.com", reason="bounced"
    )
    response = client.post(
        f"{REPORTS}{report.pk}/email/", {"to": "bounced@example.com"}, follow=True
    )
    assert "suppressed (bounced)" in response.content.decode() and len(mail.outbox) == 1

    rival = f.UserFactory(business=other_business, role="dispatcher", is_staff=True)
    grant_office_permissions(rival)
    client.force_login(rival)
    assert client.post(f"{REPORTS}{report.pk}/email/", {"to": "x@example.com"}).status_code == 404
    assert len(mail.outbox) == 1
