"""Edits and voids after the first push: sparse updates with the SyncToken, voids, exactly once."""

from decimal import Decimal

import pytest
from django.utils import timezone

from apps.accounting.models import AccountingWrite
from apps.accounting.services.invoice_changes import invoice_change_request
from apps.accounting.services.invoices import invoice_push_request
from apps.accounting.services.refs import ref_get
from apps.accounting.services.sync import resource_sync
from apps.core import events
from apps.core import models as m
from apps.core.services.billing import (
    invoice_line_add,
    invoice_line_update,
    invoice_recalculate,
    invoice_void,
)
from apps.integrations.errors import TemporaryError
from tests.accounting.conftest import make_invoice

pytestmark = pytest.mark.django_db
W = AccountingWrite


def _sync(provider):
    return resource_sync(provider=provider, resource="invoices", sync_log=None)


def _pushed(provider, customer, category, **kwargs):
    invoice = make_invoice(customer.business, customer, category, **kwargs)
    invoice_push_request(invoice=invoice)
    _sync(provider)
    assert ref_get(provider.connection, invoice) is not None
    return invoice


def _edit(invoice, price):
    line = invoice.lines.first()
    line.unit_price = Decimal(price)
    line.save()
    return invoice_recalculate(invoice=invoice)


def _request_ids(qbo, fragment):
    return [p.split("requestid=")[1].split("&")[0] for _, p in qbo.requests if fragment in p]


def test_an_edit_is_a_sparse_update_with_the_synctoken_under_its_own_key(
    provider, books, qbo, customer, category
):
    invoice = _pushed(provider, customer, category)
    ref = ref_get(provider.connection, invoice)
    books.rows["Invoice"][ref.remote_id]["PrivateNote"] = "Sent by email"  # theirs: kept
    create_key = W.objects.get(
        entity="invoice", object_id=str(invoice.pk), action=W.Action.CREATE
    ).idempotency_key

    _edit(invoice, "120.00")
    invoice_change_request(invoice_id=invoice.pk, change="updated")
    outcome = _sync(provider)

    remote = books.rows["Invoice"][ref.remote_id]
    assert (outcome.failures, remote["TotalAmt"]) == ((), Decimal("120.00"))
    assert remote["PrivateNote"] == "Sent by email"  # sparse: the vendor's own fields stay
    assert (
        remote["SyncToken"] == "1" and ref_get(provider.connection, invoice).remote_version == "1"
    )
    update = W.objects.get(entity="invoice", object_id=str(invoice.pk), action=W.Action.UPDATE)
    assert update.status == W.Status.DONE and update.idempotency_key != create_key
    assert _request_ids(qbo, "/invoice?")[-1] == update.idempotency_key

    # A second edit is a new revision with a new key: not answered with the first edit's reply.
    _edit(invoice, "95.00")
    invoice_change_request(invoice_id=invoice.pk, change="updated")
    _sync(provider)

    assert books.rows["Invoice"][ref.remote_id]["TotalAmt"] == Decimal("95.00")
    keys = list(
        W.objects.filter(
            entity="invoice", object_id=str(invoice.pk), action=W.Action.UPDATE
        ).values_list("revision", "idempotency_key")
    )
    assert [r for r, _ in keys] == [1, 2] and len({k for _, k in keys}) == 2


def test_edits_before_a_send_coalesce_into_one_request(provider, books, qbo, customer, category):
    invoice = _pushed(provider, customer, category)
    for price in ("100.00", "110.00", "130.00"):
        _edit(invoice, price)
        invoice_change_request(invoice_id=invoice.pk, change="updated")
    qbo.requests.clear()

    _sync(provider)

    assert W.objects.filter(action=W.Action.UPDATE).count() == 1
    assert len([p for _, p in qbo.requests if "/invoice?" in p]) == 1
    remote = books.rows["Invoice"][ref_get(provider.connection, invoice).remote_id]
    assert remote["TotalAmt"] == Decimal("130.00")


def test_a_stale_object_is_re_read_and_the_edit_re_applied(
    provider, books, qbo, customer, category
):
    invoice = _pushed(provider, customer, category)
    _edit(invoice, "150.00")
    invoice_change_request(invoice_id=invoice.pk, change="updated")
    qbo.faults.inject("stale", path_contains="/invoice")  # someone edits it in QuickBooks first

    outcome = _sync(provider)

    remote = books.rows["Invoice"][ref_get(provider.connection, invoice).remote_id]
    assert outcome.failures == ()
    assert (remote["TotalAmt"], remote["PrivateNote"]) == (
        Decimal("150.00"),
        "Edited in QuickBooks",
    )
    assert remote["SyncToken"] == "2"  # their edit, then ours on top
    first, second = _request_ids(qbo, "/invoice?")[-2:]
    assert first != second  # the re-apply has its own key (the first would replay 5010)


def test_an_edit_lost_in_a_timeout_is_re_sent_under_the_same_key_and_applied_once(
    provider, books, qbo, customer, category, settings
):
    invoice = _pushed(provider, customer, category)
    _edit(invoice, "140.00")
    invoice_change_request(invoice_id=invoice.pk, change="updated")
    qbo.faults.inject("timeout", path_contains="/invoice")

    with pytest.raises(TemporaryError):  # the run ends on the timeout; the task retries
        _sync(provider)
    write = W.objects.get(action=W.Action.UPDATE)
    assert write.status == W.Status.SENDING
    _sync(provider)

    write.refresh_from_db()
    remote = books.rows["Invoice"][ref_get(provider.connection, invoice).remote_id]
    assert write.status == W.Status.DONE and remote["TotalAmt"] == Decimal("140.00")
    assert remote["SyncToken"] == "1"  # applied once: the re-send was answered from the replay
    assert qbo.stats["replayed"] == 1


def test_a_void_uses_intuits_void_operation_and_is_not_reported_back(
    provider, books, qbo, customer, category
):
    invoice = _pushed(provider, customer, category)

    invoice_void(invoice=invoice, reason="Customer cancelled")
    invoice_change_request(invoice_id=invoice.pk, change="voided")
    outcome = _sync(provider)

    remote = books.rows["Invoice"][ref_get(provider.connection, invoice).remote_id]
    assert outcome.failures == ()
    assert (remote["TotalAmt"], remote["PrivateNote"]) == (Decimal("0"), "Voided")
    assert any("operation=void" in p for _, p in qbo.requests)
    assert W.objects.get(action=W.Action.VOID).status == W.Status.DONE
    assert len(books.rows["Invoice"]) == 1  # voided, not deleted


def test_an_invoice_voided_before_it_was_sent_never_reaches_the_vendor(
    provider, books, customer, category
):
    invoice = make_invoice(customer.business, customer, category)
    invoice_push_request(invoice=invoice)

    invoice_void(invoice=invoice)
    invoice_change_request(invoice_id=invoice.pk, change="voided")
    _sync(provider)

    assert books.rows["Invoice"] == {}
    assert W.objects.get(action=W.Action.CREATE).status == W.Status.CANCELLED
    assert not W.objects.filter(action=W.Action.VOID).exists()


def test_a_void_the_vendor_refuses_is_a_per_record_error(provider, books, customer, category):
    invoice = _pushed(provider, customer, category)
    books.rows["Invoice"].clear()  # deleted in QuickBooks meanwhile

    invoice_change_request(invoice_id=invoice.pk, change="voided")
    outcome = _sync(provider)

    write = W.objects.get(action=W.Action.VOID)
    assert write.status == W.Status.FAILED
    assert any(invoice.number in failure.message for failure in outcome.failures)


def test_the_invoice_changed_event_drives_the_push(
    qbo_connection, books, customer, category, run_on_commit
):
    invoice = make_invoice(customer.business, customer, category, status=m.InvoiceStatus.DRAFT)
    invoice.status = m.InvoiceStatus.OPEN
    invoice.save()

    def publish(change):
        events.publish_on_commit(
            events.InvoiceChanged(
                business_id=invoice.business_id,
                invoice_id=invoice.pk,
                change=change,
                occurred_at=timezone.now(),
            )
        )

    run_on_commit(publish, "issued")
    ref = ref_get(qbo_connection, invoice)
    assert ref is not None and books.rows["Invoice"][ref.remote_id]["TotalAmt"] == Decimal("89.00")

    _edit(invoice, "99.00")
    run_on_commit(publish, "updated")
    assert books.rows["Invoice"][ref.remote_id]["TotalAmt"] == Decimal("99.00")

    run_on_commit(invoice_void, invoice=invoice)  # core publishes "voided" itself
    assert books.rows["Invoice"][ref.remote_id]["PrivateNote"] == "Voided"


def test_line_edits_through_core_reach_the_vendor_as_sparse_updates(
    qbo_connection, books, customer, category, run_on_commit
):
    invoice = make_invoice(customer.business, customer, category)
    run_on_commit(invoice_push_request, invoice=invoice)
    ref = ref_get(qbo_connection, invoice)

    run_on_commit(invoice_line_update, line=invoice.lines.get(), unit_price=Decimal("99.00"))
    run_on_commit(
        invoice_line_add,
        invoice=invoice,
        description="Filter",
        quantity=Decimal("2"),
        unit_price=Decimal("12.50"),
        category=category,
    )

    remote = books.rows["Invoice"][ref.remote_id]
    assert [Decimal(str(x["Amount"])) for x in remote["Line"]] == [Decimal("99.00"), Decimal("25")]
    assert remote["TotalAmt"] == Decimal("124.00") and remote["SyncToken"] == "2"
    updates = W.objects.filter(entity="invoice", action=W.Action.UPDATE).order_by("revision")
    assert [(w.revision, w.status) for w in updates] == [(1, "done"), (2, "done")]
