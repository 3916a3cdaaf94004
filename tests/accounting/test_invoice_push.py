"""Invoices ours to theirs, exactly once: batches, singles, faults, crashes, per-record failures."""

from decimal import Decimal

import pytest

from apps.accounting.models import AccountingWrite
from apps.accounting.providers.quickbooks import QuickBooksProvider
from apps.accounting.qbo_fake import QboLimits
from apps.accounting.services import flush
from apps.accounting.services.invoices import invoice_push_request
from apps.accounting.services.refs import ref_get
from apps.accounting.services.sync import resource_sync
from apps.core import models as m
from apps.integrations.errors import TemporaryError
from apps.integrations.models import AccountMapping, SyncLog, SyncRecordError
from apps.integrations.providers import RateLimitPolicy
from apps.integrations.services import connection_sync, sync_record_error_retry
from tests import factories as f
from tests.accounting.conftest import make_invoice

pytestmark = pytest.mark.django_db
W = AccountingWrite


def _owe(*invoices):
    for invoice in invoices:
        invoice_push_request(invoice=invoice)


def _remote_numbers(books):
    return sorted(r["DocNumber"] for r in books.rows["Invoice"].values())


def test_owed_invoices_go_in_one_batch_and_are_linked(provider, books, qbo, customer, category):
    invoices = [make_invoice(customer.business, customer, category) for _ in range(3)]
    _owe(*invoices)

    outcome = resource_sync(provider=provider, resource="invoices", sync_log=None)

    assert (outcome.succeeded, outcome.failures) == (3, ())
    assert _remote_numbers(books) == sorted(i.number for i in invoices)
    assert sum(1 for method, path in qbo.requests if "/batch" in path) == 1
    ref = ref_get(provider.connection, invoices[0])
    assert ref.remote_version == "0"  # the SyncToken, kept for later updates
    remote = books.rows["Invoice"][ref.remote_id]
    assert remote["CustomerRef"]["value"] == ref_get(provider.connection, customer).remote_id
    item = books.rows["Item"][remote["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"]]
    assert item["Name"] == "HVAC service"
    assert (
        books.rows["Account"][item["IncomeAccountRef"]["value"]]["Name"] == "HVAC service revenue"
    )
    assert AccountMapping.objects.get(
        connection=provider.connection, kind="revenue"
    ).remote_name == ("HVAC service revenue")  # auto-mapped by name, visible and editable
    assert set(W.objects.values_list("status", flat=True)) == {W.Status.DONE}


def test_an_existing_customer_with_the_same_name_is_linked_not_duplicated(
    provider, books, customer, category
):
    existing = books.insert("Customer", {"DisplayName": "Dana Whitfield", "Active": True})
    _owe(make_invoice(customer.business, customer, category))

    resource_sync(provider=provider, resource="invoices", sync_log=None)

    assert len(books.rows["Customer"]) == 1
    assert ref_get(provider.connection, customer).remote_id == existing["Id"]


@pytest.mark.parametrize("fault", ["timeout", "disconnect", "server_error", "rate_limit"])
def test_a_failed_batch_is_repeated_under_its_id_and_nothing_is_created_twice(
    fault, provider, books, qbo, customer, category
):
    invoices = [make_invoice(customer.business, customer, category) for _ in range(4)]
    _owe(*invoices)
    resource_sync(provider=provider, resource="items", sync_log=None)  # link the item first
    qbo.faults.inject(fault, path_contains="/batch")

    outcome = resource_sync(provider=provider, resource="invoices", sync_log=None)

    assert outcome.succeeded == 4
    assert _remote_numbers(books) == sorted(i.number for i in invoices)
    batch_ids = [p.split("requestid=")[1].split("&")[0] for _, p in qbo.requests if "/batch" in p]
    assert len(batch_ids) == 2 and batch_ids[0] == batch_ids[1]  # the same request, repeated
    if fault in ("timeout", "disconnect"):
        assert qbo.stats["replayed"] == 1  # the first one had been processed: answered again


def test_a_worker_dying_after_sending_leaves_it_in_doubt_and_the_next_run_completes_it(
    provider, books, qbo, customer, category, monkeypatch, settings
):
    settings.ACCOUNTING_WRITE_LEASE_SECONDS = 0
    invoices = [make_invoice(customer.business, customer, category) for _ in range(5)]
    _owe(*invoices)
    real_record = flush._record

    def die(*args, **kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr(flush, "_record", die)
    with pytest.raises(SystemExit):
        resource_sync(provider=provider, resource="invoices", sync_log=None)
    assert len(books.rows["Invoice"]) == 5  # created remotely, but nothing recorded here
    assert set(W.objects.filter(entity="invoice").values_list("status", flat=True)) == {
        W.Status.SENDING
    }

    monkeypatch.setattr(flush, "_record", real_record)
    resource_sync(
        provider=QuickBooksProvider(provider.connection), resource="invoices", sync_log=None
    )

    assert _remote_numbers(books) == sorted(i.number for i in invoices)  # each exactly once
    assert qbo.stats["replayed"] == 1
    assert all(ref_get(provider.connection, i) for i in invoices)


def test_one_refused_invoice_does_not_stop_the_others(
    provider, books, customer, category, business
):
    other = books.insert("Customer", {"DisplayName": "Someone Else", "Active": True})
    good = [make_invoice(business, customer, category) for _ in range(2)]
    taken = make_invoice(business, customer, category)
    books.insert(
        "Invoice",
        {
            "DocNumber": taken.number,
            "CustomerRef": {"value": other["Id"]},
            "TotalAmt": Decimal("5.00"),
            "Balance": Decimal("5.00"),
            "Line": [],
        },
    )
    _owe(*good, taken)

    outcome = resource_sync(provider=provider, resource="invoices", sync_log=None)

    assert outcome.succeeded == 2
    (failure,) = outcome.failures
    assert failure.record_label == taken.number
    assert "already has an invoice numbered" in failure.message
    assert W.objects.get(entity="invoice", object_id=str(taken.pk)).status == W.Status.FAILED


def test_an_invoice_that_already_exists_there_is_linked(
    provider, books, customer, category, business
):
    invoice = make_invoice(business, customer, category)
    _owe(invoice)
    remote_customer = books.insert(
        "Customer", {"DisplayName": customer.display_name, "Active": True}
    )
    books.insert(
        "Invoice",
        {
            "DocNumber": invoice.number,
            "CustomerRef": {"value": remote_customer["Id"]},
            "TotalAmt": invoice.total,
            "Balance": invoice.total,
            "Line": [],
        },
    )

    outcome = resource_sync(provider=provider, resource="invoices", sync_log=None)

    assert outcome.succeeded == 1 and len(books.rows["Invoice"]) == 1
    assert "already existed" in outcome.message


def test_a_total_that_differs_there_is_reported(provider, books, customer, category, business):
    invoice = make_invoice(business, customer, category, tax_rate="8.25")
    _owe(invoice)
    real = provider._invoice_body

    def drop_tax(draft):
        body = real(draft)
        body.pop("TxnTaxDetail", None)
        return body

    provider._invoice_body = drop_tax
    outcome = resource_sync(provider=provider, resource="invoices", sync_log=None)

    (failure,) = outcome.failures
    assert f"total of 89.00, but it is {invoice.total}" in failure.message
    assert ref_get(provider.connection, invoice) is not None  # it exists there: linked anyway


def test_a_retried_error_sends_the_invoice_again_under_a_new_key(
    provider, books, customer, category, business, django_capture_on_commit_callbacks
):
    invoice = make_invoice(business, customer, category)
    other = books.insert("Customer", {"DisplayName": "Holder", "Active": True})
    clash = books.insert(
        "Invoice",
        {
            "DocNumber": invoice.number,
            "CustomerRef": {"value": other["Id"]},
            "TotalAmt": Decimal(1),
            "Balance": Decimal(1),
            "Line": [],
        },
    )
    _owe(invoice)
    log = SyncLog.objects.create(
        business=business,
        connection=provider.connection,
        sync_type="invoices",
        direction="bidirectional",
    )
    connection_sync(sync_log_id=log.pk)
    error = SyncRecordError.objects.get(sync_log=log)
    first_key = W.objects.get(entity="invoice", object_id=str(invoice.pk)).idempotency_key

    del books.rows["Invoice"][clash["Id"]]  # the bookkeeper removed the clashing one
    with django_capture_on_commit_callbacks(execute=True):
        sync_record_error_retry(record_error=error)  # eager Celery runs the queued sync

    written = W.objects.filter(entity="invoice", object_id=str(invoice.pk)).order_by("revision")
    assert [w.status for w in written] == [W.Status.FAILED, W.Status.DONE]
    assert written[1].idempotency_key != first_key
    assert ref_get(provider.connection, invoice) is not None


def test_batches_and_single_creates_share_the_limits(
    qbo, provider, customer, category, business, monkeypatch
):
    qbo.limits = QboLimits(batches_per_minute=2)
    qbo.reset()
    provider.connection.credentials = {
        **provider.connection.credentials,
        "access_token": qbo.oauth.issue()["access_token"],
    }
    monkeypatch.setattr(QuickBooksProvider, "batch_limits", RateLimitPolicy(windows=((2, 60.5),)))
    invoices = [make_invoice(business, customer, category) for _ in range(70)]
    _owe(*invoices)
    resource_sync(provider=provider, resource="items", sync_log=None)

    outcome = resource_sync(provider=provider, resource="invoices", sync_log=None)

    assert outcome.succeeded == 70
    batches = [p for _, p in qbo.requests if "/batch" in p]
    singles = [p for method, p in qbo.requests if method == "POST" and "/invoice?" in p]
    assert (len(batches), len(singles)) == (2, 10)
    assert qbo.throttle.throttled == 0  # never over the vendor's limits
    qbo.limits = QboLimits()


def test_a_temporary_error_that_persists_leaves_the_rows_due_for_the_same_request(
    provider, qbo, customer, category, business, monkeypatch
):
    monkeypatch.setattr(flush, "MAX_TEMPORARY_RETRIES", 1)
    monkeypatch.setattr(flush.time, "sleep", lambda s: None)
    invoices = [make_invoice(business, customer, category) for _ in range(2)]
    _owe(*invoices)
    resource_sync(provider=provider, resource="items", sync_log=None)
    qbo.faults.inject("server_error", path_contains="/batch", count=5)

    with pytest.raises(TemporaryError):
        resource_sync(provider=provider, resource="invoices", sync_log=None)

    rows = W.objects.filter(entity="invoice")
    assert {w.status for w in rows} == {W.Status.SENDING}
    assert len({w.request_id for w in rows}) == 1
    assert m.Invoice.objects.count() == 2
    assert f.BusinessFactory  # the factories module stays importable for the other tests


def test_classes_and_tax_codes_come_from_the_mappings(
    provider, books, customer, category, business
):
    hvac_class = books.insert("Class", {"Name": "Residential HVAC", "Active": True})
    tax_code = books.find("TaxCode", Name="TAX")
    for kind, key, remote in (
        ("class", "hvac", hvac_class["Id"]),
        ("tax_code", "8.25", tax_code["Id"]),
    ):
        AccountMapping.objects.create(
            business=business,
            connection=provider.connection,
            kind=kind,
            local_key=key,
            remote_id=remote,
        )
    invoice = make_invoice(
        business,
        customer,
        category,
        tax_rate="8.25",
        lines=(("Tune-up", "1", "100.00"), ("Filter", "2", "12.50")),
    )
    _owe(invoice)

    resource_sync(provider=provider, resource="invoices", sync_log=None)

    remote = books.rows["Invoice"][ref_get(provider.connection, invoice).remote_id]
    assert {line["SalesItemLineDetail"]["ClassRef"]["value"] for line in remote["Line"]} == {
        hvac_class["Id"]
    }
    assert remote["TxnTaxDetail"]["TxnTaxCodeRef"]["value"] == tax_code["Id"]
    assert Decimal(str(remote["TotalAmt"])) == invoice.total == Decimal("135.31")


def test_xero_tracking_options_come_from_the_mappings(
    provider, customer, category, business, technician
):
    from apps.accounting.services.invoices import InvoiceDrafts
    from apps.accounting.services.run import Run

    work_order = f.WorkOrderFactory(
        location=f.ServiceLocationFactory(customer=customer, region="CO"),
        category=category,
        assigned_technician=technician,
    )
    invoice = make_invoice(business, customer, category)
    invoice.work_order = work_order
    invoice.save(update_fields=["work_order"])
    for key, name in (
        (f"category:{category.code}", "Service type:HVAC"),
        (f"technician:{technician.user.username}", "Technician:Pat"),
        ("region:CO", "Region:Front Range"),
    ):
        AccountMapping.objects.create(
            business=business,
            connection=provider.connection,
            kind="tracking",
            local_key=key,
            remote_id="x",
            remote_name=name,
        )
    write = W.objects.create(
        business=business,
        connection=provider.connection,
        entity="invoice",
        object_id=str(invoice.pk),
        idempotency_key="k-track",
    )

    draft = InvoiceDrafts(Run(provider=provider)).draft(write)

    assert draft.lines[0].tracking == (
        ("Service type", "HVAC"),
        ("Technician", "Pat"),
    )  # Xero's two
    assert draft.work_order_number == work_order.number
