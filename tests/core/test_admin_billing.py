"""Admin flows over the billing services: issue, void with a reason, record a refund, edit the
terms, and the work order's window edit going through work_order_window_set."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from apps.core import events
from apps.core.admin.permissions import grant_office_permissions
from apps.core.models import Invoice, InvoiceStatus, Refund, Role, WorkOrder
from apps.core.services.billing import (
    invoice_create_for_work_order,
    payment_record,
    payment_refund_record,
)
from tests import factories as f
from tests.core.conftest import S

INVOICES = reverse("admin:core_invoice_changelist")


def _messages(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def _refund_url(payment) -> str:
    return reverse("admin:core_payment_refund", args=[payment.pk])


@pytest.fixture
def office(business):
    user = f.UserFactory(business=business, role=Role.DISPATCHER)
    grant_office_permissions(user)
    return user


@pytest.fixture
def signed_in(client, office):
    client.force_login(office)
    return client


@pytest.fixture
def draft(make_order):
    work_order = make_order(S.COMPLETED)
    f.LineItemFactory(work_order=work_order, unit_price=Decimal("80.00"))
    return invoice_create_for_work_order(work_order=work_order, issue=False)


@pytest.fixture
def paid(billed_invoice):
    return payment_record(invoice=billed_invoice, amount=Decimal("183.63"), method="card")


def _fresh(invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


# --- permissions -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.DISPATCHER, Role.MANAGER, Role.ADMIN])
def test_office_roles_that_record_payments_may_record_refunds(business, role):
    user = f.UserFactory(business=business, role=role)
    granted = grant_office_permissions(user)
    assert {"core.add_payment", "core.add_refund", "core.view_refund"} <= granted
    assert user.has_perm("core.add_refund")
    assert not user.has_perm("core.change_refund")


def test_technician_cannot_open_the_refund_page(client, business, paid):
    technician = f.UserFactory(business=business, role=Role.TECHNICIAN, is_staff=True)
    client.force_login(technician)
    assert client.get(_refund_url(paid)).status_code == 403


# --- issue and void ----------------------------------------------------------------------------


def test_issue_action_issues_drafts_and_reports_refusals(
    signed_in, draft, billed_invoice, core_events, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(
            INVOICES,
            {"action": "issue_invoices", "_selected_action": [draft.pk, billed_invoice.pk]},
            follow=True,
        )
    assert _fresh(draft).status == InvoiceStatus.OPEN
    assert sorted(_messages(response)) == sorted(
        [
            (
                "error",
                f"{billed_invoice.number}: Only a draft invoice can be issued; this one is open.",
            ),
            ("success", f"Issued {draft.number}."),
        ]
    )
    assert [(e.invoice_id, e.change) for e in core_events] == [(draft.pk, "issued")]


def test_void_action_asks_for_a_reason_then_voids(signed_in, draft):
    first = signed_in.post(INVOICES, {"action": "void_invoices", "_selected_action": [draft.pk]})
    assert first.status_code == 200
    body = first.content.decode()
    assert 'name="reason"' in body and draft.number in body
    assert _fresh(draft).status == InvoiceStatus.DRAFT  # nothing happens before the reason

    response = signed_in.post(
        INVOICES,
        {
            "action": "void_invoices",
            "_selected_action": [draft.pk],
            "apply": "1",
            "reason": "Customer cancelled",
        },
        follow=True,
    )
    stored = _fresh(draft)
    assert (stored.status, stored.memo) == (InvoiceStatus.VOID, "Voided: Customer cancelled")
    assert _messages(response) == [("success", f"Voided {draft.number}.")]


def test_void_action_shows_the_refusal_for_an_invoice_with_money(signed_in, paid):
    invoice = paid.invoice
    response = signed_in.post(
        INVOICES,
        {"action": "void_invoices", "_selected_action": [invoice.pk], "apply": "1", "reason": ""},
        follow=True,
    )
    assert _messages(response) == [
        (
            "error",
            f"{invoice.number}: The invoice has 183.63 paid on it; refund the payments first, "
            "then void it.",
        )
    ]
    assert _fresh(invoice).status == InvoiceStatus.PAID


# --- record refund -----------------------------------------------------------------------------


def test_refund_page_records_through_the_service(signed_in, office, paid):
    page = signed_in.get(_refund_url(paid))
    assert page.status_code == 200
    assert 'name="amount"' in page.content.decode()

    response = signed_in.post(
        _refund_url(paid), {"amount": "30.00", "reason": "Goodwill", "reference": "re_9"}
    )

    assert response.status_code == 302
    assert response.url == reverse("admin:core_invoice_change", args=[paid.invoice_id])
    refund = Refund.objects.get()
    assert (refund.amount, refund.reason, refund.reference, refund.recorded_by) == (
        Decimal("30.00"),
        "Goodwill",
        "re_9",
        office,
    )
    invoice = _fresh(paid.invoice)
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.OPEN, Decimal("153.63"))


def test_refund_page_shows_service_refusal_as_form_error(signed_in, paid):
    response = signed_in.post(_refund_url(paid), {"amount": "183.64", "reason": ""})
    assert response.status_code == 200
    assert (
        "The refund of 183.64 is more than the 183.63 left to refund on this payment."
        in response.content.decode()
    )
    assert not Refund.objects.exists()


def test_refunds_shown_read_only_on_invoice_and_payment(signed_in, paid):
    payment_refund_record(payment=paid, amount=Decimal("12.00"), reference="re_shown")
    invoice_page = signed_in.get(reverse("admin:core_invoice_change", args=[paid.invoice_id]))
    payment_page = signed_in.get(reverse("admin:core_payment_change", args=[paid.pk]))
    for page in (invoice_page, payment_page):
        body = page.content.decode()
        assert page.status_code == 200
        assert "re_shown" in body
        assert 'name="refunds-0-amount"' not in body
        assert _refund_url(paid) in body  # the "Record refund" link


def test_refund_of_another_business_payment_is_not_found(client, other_business, paid):
    rival = f.UserFactory(business=other_business, role=Role.MANAGER)
    grant_office_permissions(rival)
    client.force_login(rival)

    assert client.get(_refund_url(paid)).status_code == 404
    assert client.post(_refund_url(paid), {"amount": "10.00"}).status_code == 404
    assert not Refund.objects.exists()
    # Nor does the payment's page, where the refunds are listed.
    payment_refund_record(payment=paid, amount=Decimal("1.00"), reference="re_acme_only")
    assert client.get(reverse("admin:core_payment_change", args=[paid.pk])).status_code == 302


def test_void_action_of_another_business_invoice_does_nothing(client, other_business, draft):
    rival = f.UserFactory(business=other_business, role=Role.MANAGER)
    grant_office_permissions(rival)
    client.force_login(rival)
    client.post(
        INVOICES,
        {"action": "void_invoices", "_selected_action": [draft.pk], "apply": "1", "reason": "x"},
    )
    client.post(INVOICES, {"action": "issue_invoices", "_selected_action": [draft.pk]})
    assert _fresh(draft).status == InvoiceStatus.DRAFT


# --- invoice terms -----------------------------------------------------------------------------


def _terms(invoice, **overrides) -> dict:
    data = {
        "issued_on": invoice.issued_on.isoformat() if invoice.issued_on else "",
        "due_date": invoice.due_date.isoformat() if invoice.due_date else "",
        "tax_rate": str(invoice.tax_rate),
        "memo": invoice.memo,
    }
    for prefix in ("lines", "payments"):
        data[f"{prefix}-TOTAL_FORMS"] = data[f"{prefix}-INITIAL_FORMS"] = 0
    data.update(overrides)
    return data


def test_tax_rate_change_publishes_updated(
    signed_in, billed_invoice, core_events, django_capture_on_commit_callbacks
):
    url = reverse("admin:core_invoice_change", args=[billed_invoice.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(url, _terms(billed_invoice, tax_rate="10.0000"))
    assert response.status_code == 302
    assert _fresh(billed_invoice).total == Decimal("185.80")  # 173.45 + 12.35 on 123.45
    assert [e.change for e in core_events] == ["updated"]


def test_terms_change_refused_below_amount_paid(signed_in, billed_invoice):
    payment_record(invoice=billed_invoice, amount=Decimal("180.00"), method="cash")
    url = reverse("admin:core_invoice_change", args=[billed_invoice.pk])
    response = signed_in.post(url, _terms(billed_invoice, tax_rate="0"))
    assert response.status_code == 200
    assert "would be less than the 180.00 already paid" in response.content.decode()
    assert _fresh(billed_invoice).tax_rate == Decimal("8.25")


def test_terms_read_only_on_paid_invoice(signed_in, paid):
    body = signed_in.get(reverse("admin:core_invoice_change", args=[paid.invoice_id])).content
    assert b'name="tax_rate"' not in body


# --- work order window through the admin -----------------------------------------------------


def _work_order_form(work_order, **overrides) -> dict:
    data = {
        "customer": work_order.customer_id,
        "location": work_order.location_id,
        "category": work_order.category_id,
        "summary": work_order.summary,
        "description": work_order.description,
        "priority": work_order.priority,
        "estimated_duration_minutes": work_order.estimated_duration_minutes,
        "assigned_technician": work_order.assigned_technician_id or "",
        "move_to": "",
        "transition_note": "",
    }
    for prefix in ("lines", "part_requirements", "status_changes"):
        data[f"{prefix}-TOTAL_FORMS"] = data[f"{prefix}-INITIAL_FORMS"] = 0
    zone = work_order.business.timezone  # the admin reads what is typed as the business's time
    for name in ("arrival_window_start", "arrival_window_end"):
        value = getattr(work_order, name)
        local = timezone.localtime(value, zone) if value else None
        data[f"{name}_0"] = local.strftime("%Y-%m-%d") if local else ""
        data[f"{name}_1"] = local.strftime("%H:%M:%S") if local else ""
    data.update(overrides)
    return data


def test_admin_window_edit_publishes_window_changed(
    signed_in, office, make_order, core_events, django_capture_on_commit_callbacks
):
    work_order = make_order(S.SCHEDULED)
    before = (work_order.arrival_window_start, work_order.arrival_window_end)
    zone = work_order.business.timezone
    new_end = timezone.localtime(before[1] + dt.timedelta(hours=1), zone)
    url = reverse("admin:core_workorder_change", args=[work_order.pk])
    form = _work_order_form(
        work_order, summary="Now upstairs too", arrival_window_end_1=new_end.strftime("%H:%M:%S")
    )
    if new_end.date() != timezone.localtime(before[1], zone).date():
        form["arrival_window_end_0"] = new_end.strftime("%Y-%m-%d")

    with django_capture_on_commit_callbacks(execute=True):
        assert signed_in.post(url, form).status_code == 302

    stored = WorkOrder.objects.get(pk=work_order.pk)
    assert stored.summary == "Now upstairs too"
    assert stored.arrival_window_end == before[1] + dt.timedelta(hours=1)
    [event] = core_events
    assert isinstance(event, events.WorkOrderWindowChanged)
    assert (event.previous_window_start, event.previous_window_end) == before
    assert event.window_end == stored.arrival_window_end
    assert event.changed_by_id == office.pk


def test_admin_edit_without_window_change_publishes_nothing(
    signed_in, make_order, core_events, django_capture_on_commit_callbacks
):
    work_order = make_order(S.SCHEDULED)
    url = reverse("admin:core_workorder_change", args=[work_order.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(url, _work_order_form(work_order, summary="Typo fixed"))
    assert response.status_code == 302
    assert core_events == []


def test_admin_window_edit_on_closed_order_is_a_form_error(signed_in, make_order):
    work_order = make_order(S.COMPLETED)
    before = work_order.arrival_window_start
    url = reverse("admin:core_workorder_change", args=[work_order.pk])
    earlier = timezone.localtime(before - dt.timedelta(hours=1), work_order.business.timezone)
    form = _work_order_form(
        work_order,
        arrival_window_start_0=earlier.strftime("%Y-%m-%d"),
        arrival_window_start_1=earlier.strftime("%H:%M:%S"),
    )
    response = signed_in.post(url, form)
    assert response.status_code == 200
    import re

    print(re.findall(r"errorlist[^>]*>(.*?)</ul>", response.content.decode(), re.S))
    assert "A work order that is completed cannot get a new window." in response.content.decode()
    assert WorkOrder.objects.get(pk=work_order.pk).arrival_window_start == before


def test_admin_clearing_the_window_goes_through_the_service(
    signed_in, make_order, core_events, django_capture_on_commit_callbacks
):
    work_order = make_order(S.NEW)
    url = reverse("admin:core_workorder_change", args=[work_order.pk])
    form = _work_order_form(
        work_order,
        arrival_window_start_0="",
        arrival_window_start_1="",
        arrival_window_end_0="",
        arrival_window_end_1="",
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert signed_in.post(url, form).status_code == 302
    assert WorkOrder.objects.get(pk=work_order.pk).arrival_window_start is None
    [event] = core_events
    assert (event.window_start, event.window_end) == (None, None)
