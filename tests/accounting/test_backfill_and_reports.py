"""The operator's surfaces against the QuickBooks fake: backfill from a date (CLI and admin), and
sync reports that tell a vendor-side void apart from an error, once."""

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from apps.accounting.models import AccountingWrite
from apps.accounting.services.invoices import invoice_push_request
from apps.accounting.services.refs import ref_get
from apps.core import models as m
from apps.core.admin.permissions import grant_office_permissions
from apps.core.services.billing import payment_record, payment_refund_record
from apps.integrations import models as im
from tests import factories as f
from tests.accounting.conftest import make_invoice

pytestmark = pytest.mark.django_db
W = AccountingWrite


def cli(*args) -> str:
    out = io.StringIO()
    call_command("integrations", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _numbers(books) -> list[str]:
    return sorted(r["DocNumber"] for r in books.rows["Invoice"].values())


@pytest.fixture
def history(business, customer, category):
    """Work done before the connection existed: two recent invoices (one paid, then partly
    refunded) and one from long ago."""
    since = timezone.localdate(timezone=business.timezone) - dt.timedelta(days=30)
    recent = [make_invoice(business, customer, category) for _ in range(2)]
    old = make_invoice(business, customer, category)
    m.Invoice.objects.filter(pk=old.pk).update(issued_on=since - dt.timedelta(days=10))
    payment = payment_record(invoice=recent[0], amount=Decimal("89.00"), method="check")
    refund = payment_refund_record(payment=payment, amount=Decimal("9.00"), reason="Goodwill")
    return {"since": since, "recent": recent, "old": old, "payment": payment, "refund": refund}


def test_sync_without_since_has_nothing_to_send(qbo_connection, history):
    out = cli("sync", str(qbo_connection.pk), "--resources", "invoices", "--wait")
    assert "invoices: succeeded processed=0" in out  # the issue as reported: nothing owed yet


def test_cli_backfill_sends_what_existed_before_the_connection_once(qbo_connection, books, history):
    pk, since = str(qbo_connection.pk), history["since"].isoformat()

    out = cli("sync", pk, "--resources", "invoices,payments", "--since", since, "--wait")

    assert "Backfill: invoices since the date: 2; already in the books: 0; newly owed: 2" in out
    assert "Backfill: payments since the date: 1;" in out
    assert "Backfill: refunds since the date: 1;" in out
    assert "invoices: succeeded processed=2 succeeded=2 failed=0" in out
    assert "payments: succeeded" in out and "succeeded=2 failed=0" in out  # payment + refund
    assert _numbers(books) == sorted(i.number for i in history["recent"])  # not the old one
    assert len(books.rows["Payment"]) == 1 and len(books.rows["RefundReceipt"]) == 1
    assert ref_get(qbo_connection, history["payment"]) is not None

    again = json.loads(
        cli("sync", pk, "--resources", "invoices,payments", "--since", since, "--wait", "--json")
    )
    assert again["ok"] is True
    assert again["backfill"][0].startswith(
        "invoices since the date: 2; already in the books: 2; newly owed: 0"
    )
    # Nothing sent again (the payments run still reads back the payment it sent: a skip).
    assert [(r["resource"], r["status"], r["succeeded"]) for r in again["runs"]] == [
        ("invoices", "succeeded", 0),
        ("payments", "succeeded", 0),
    ]
    assert _numbers(books) == sorted(i.number for i in history["recent"])
    assert len(books.rows["Payment"]) == 1 and len(books.rows["RefundReceipt"]) == 1


def test_backfill_finds_an_owed_write_instead_of_a_second_one(qbo_connection, books, history):
    invoice_push_request(invoice=history["recent"][0])  # already owed by an event
    out = cli("sync", str(qbo_connection.pk), "--since", history["since"].isoformat())
    assert (
        "invoices since the date: 2; already in the books: 0; newly owed: 1; already owed: 1" in out
    )
    assert "Queued sync" in out
    assert W.objects.filter(connection=qbo_connection, entity=W.Entity.INVOICE).count() == 2


def test_backfill_is_for_this_connection_only(qbo_connection, business, history):
    other = f.IntegrationConnectionFactory(
        business=business, provider="xero", name="Xero books", status="connected"
    )
    cli("sync", str(qbo_connection.pk), "--since", history["since"].isoformat())
    assert not W.objects.filter(connection=other).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2020-13-01"], None),  # argparse: exit code 2
        (["--since", "2999-01-01"], "The backfill date is in the future"),
        (["--since", "2024-01-01", "--resources", "customers"], "backfills invoices, payments"),
    ],
)
def test_bad_backfill_requests_are_refused(qbo_connection, args, message):
    if message is None:
        with pytest.raises(CommandError) as refused:
            cli("sync", str(qbo_connection.pk), *args)
        assert "expected a date YYYY-MM-DD" in str(refused.value)
        return
    with pytest.raises(CommandError, match=message) as refused:
        cli("sync", str(qbo_connection.pk), *args)
    assert refused.value.returncode == 1
    assert not W.objects.exists()


@pytest.fixture
def manager(business):
    user = f.UserFactory(business=business, role=m.Role.MANAGER, is_staff=True)
    grant_office_permissions(user)
    return user


def test_admin_backfill_page_owes_and_queues(
    client, manager, qbo_connection, history, django_capture_on_commit_callbacks, books
):
    client.force_login(manager)
    url = reverse("admin:integrations_integrationconnection_backfill", args=[qbo_connection.pk])
    page = client.get(
        reverse("admin:accounting_accountingconnection_change", args=[qbo_connection.pk])
    )
    assert url in page.content.decode()
    form = client.get(url)
    assert form.status_code == 200 and b"Backfill and sync" in form.content

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {"since": history["since"].isoformat(), "resources": ["invoices", "payments"]}
        )

    assert response.status_code == 302
    messages = [msg.message for msg in get_messages(response.wsgi_request)]
    assert any("invoices since the date: 2;" in text for text in messages)
    assert messages[-1].endswith("a sync of invoices, payments is queued.")
    assert _numbers(books) == sorted(i.number for i in history["recent"])  # Celery is eager


def test_admin_backfill_is_scoped_and_needs_the_change_permission(
    client, manager, dispatcher, qbo_connection, other_business, history
):
    theirs = f.IntegrationConnectionFactory(business=other_business, provider="quickbooks")
    client.force_login(manager)
    url = reverse("admin:integrations_integrationconnection_backfill", args=[theirs.pk])
    assert client.get(url).status_code == 404
    grant_office_permissions(dispatcher)
    client.force_login(dispatcher)  # may view connections, not change them
    mine = reverse("admin:integrations_integrationconnection_backfill", args=[qbo_connection.pk])
    assert client.post(mine, {"since": "2024-01-01", "resources": ["invoices"]}).status_code == 403
    assert not W.objects.exists()


def test_a_void_in_quickbooks_is_a_warning_reported_once(qbo_connection, books, customer, category):
    invoice = make_invoice(customer.business, customer, category)
    invoice_push_request(invoice=invoice)
    pk = str(qbo_connection.pk)
    cli("sync", pk, "--resources", "invoices", "--wait")
    remote = books.rows["Invoice"][ref_get(qbo_connection, invoice).remote_id]
    books.void("Invoice", {"Id": remote["Id"], "SyncToken": remote["SyncToken"]})

    outputs = [cli("sync", pk, "--resources", "invoices", "--wait") for _ in range(3)]

    # The overlap window reads the void on each of the three pulls; one report, no failed run.
    assert (
        f"(warning) {invoice.number}: Invoice {invoice.number} was voided in QuickBooks"
        in (outputs[0])
    )
    assert "warnings=1" in outputs[0] and "1 report(s) to look at" in outputs[0]
    assert all("invoices: succeeded" in out and "failed=0" in out for out in outputs)
    assert all("warnings=0" in out for out in outputs[1:])
    reports = im.SyncRecordError.objects.filter(record_id=str(invoice.pk))
    assert [r.severity for r in reports] == [im.ReportSeverity.WARNING]
    logs = im.SyncLog.objects.filter(connection=qbo_connection, trigger=im.SyncLog.Trigger.MANUAL)
    assert [log.status for log in logs] == [im.SyncLog.Status.SUCCEEDED] * 4


def test_sync_json_reports_runs_and_exit_code(qbo_connection, books, customer, category):
    invoice = make_invoice(customer.business, customer, category)
    invoice_push_request(invoice=invoice)
    data = json.loads(
        cli("sync", str(qbo_connection.pk), "--resources", "invoices", "--wait", "--json")
    )
    assert data["ok"] is True and data["backfill"] == []
    [run] = data["runs"]
    assert (run["resource"], run["status"], run["processed"], run["succeeded"]) == (
        "invoices",
        "succeeded",
        1,
        1,
    )

    qbo_connection.refresh_from_db()
    qbo_connection.api_base_url = "http://127.0.0.1:9/v3"  # nothing listens: a temporary error
    qbo_connection.save()
    with pytest.raises(CommandError, match="Sync failed"):
        cli("sync", str(qbo_connection.pk), "--resources", "customers", "--wait")
    log = im.SyncLog.objects.filter(sync_type="customers").get()
    assert log.status == im.SyncLog.Status.FAILED and "Will retry" not in log.message
    assert "run the sync again later" in log.message


def test_invoice_on_completion_false_from_the_cli_is_honoured(
    qbo_connection, books, business, technician, category, django_capture_on_commit_callbacks
):
    from apps.core.services.work_orders import work_order_transition
    from tests.accounting.test_events import _on_site

    cli(
        "setup", "--business", business.slug, "--provider", "quickbooks",
        "--name", qbo_connection.name, "--setting", "invoice_on_completion=false",
    )  # fmt: skip
    qbo_connection.refresh_from_db()
    assert qbo_connection.settings["invoice_on_completion"] is False  # was the truthy 'false'
    work_order = _on_site(business, technician, category)
    with django_capture_on_commit_callbacks(execute=True):
        work_order_transition(work_order=work_order, to_status="completed", by=technician.user)
    assert not m.Invoice.objects.exists() and books.rows["Invoice"] == {}
