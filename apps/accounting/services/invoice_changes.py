"""Edits and voids of invoices after their first push (core's InvoiceChanged event).

"issued" pushes the invoice like a completed work order's. "updated" owes the vendor a sparse
update of an invoice already there; "voided" owes a void (QuickBooks `operation=void`, Xero
VOIDED, or DELETED for a draft). Each goes through the outbox under its own revision's key, so an
edit is never answered with the create's reply, and a re-sent edit is never applied twice. An
edit is built from the invoice as it is when sent, so several edits before a send make one
request. Nothing is sent for an invoice that never reached the vendor: its pending create is
cancelled (void) or simply sends the current content (edit).
"""

from __future__ import annotations

import structlog
from django.db.models import Q
from django.utils import timezone

from apps.accounting.models import AccountingWrite
from apps.accounting.providers.base import RemoteInvoice, StaleObject
from apps.accounting.services import outbox
from apps.accounting.services.invoices import (
    InvoiceDrafts,
    accounting_connections,
    invoice_push_request,
)
from apps.accounting.services.refs import ref_get, ref_set
from apps.accounting.services.run import Run
from apps.core.models import Invoice, InvoiceStatus
from apps.integrations.errors import ProviderError, RejectedError
from apps.integrations.models import ExternalRef, SyncLog

logger = structlog.get_logger(__name__)
W = AccountingWrite
CHANGES = ("issued", "updated", "voided")
OPEN = (W.Status.PENDING, W.Status.SENDING)


def _latest(connection, invoice: Invoice, action: str) -> AccountingWrite | None:
    return (
        W.objects.filter(
            connection=connection,
            entity=W.Entity.INVOICE,
            object_id=str(invoice.pk),
            action=action,
        )
        .order_by("-revision")
        .first()
    )


def invoice_change_request(
    *, invoice_id: int, change: str, trigger: str = SyncLog.Trigger.EVENT
) -> list[AccountingWrite]:
    """Owe every accounting connection what this change means for the invoice there."""
    from apps.accounting.services.sync import sync_request_coalesced

    if change not in CHANGES:
        raise ValueError(f"unknown invoice change {change!r}")
    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if invoice is None:
        return []
    if change == "issued":
        return invoice_push_request(invoice=invoice, trigger=trigger)
    writes = []
    for connection in accounting_connections(invoice.business_id):
        pushed = ref_get(connection, invoice) is not None
        create = _latest(connection, invoice, W.Action.CREATE)
        if change == "voided":
            if not pushed and create is not None and create.status == W.Status.PENDING:
                outbox.write_cancelled(create, message="Voided here before it was sent.")
                continue
            if not pushed and (create is None or create.status not in OPEN):
                continue  # never reached the vendor: nothing to void there
            # A void makes waiting edits pointless.
            for update in W.objects.filter(
                connection=connection,
                entity=W.Entity.INVOICE,
                object_id=str(invoice.pk),
                action=W.Action.UPDATE,
                status=W.Status.PENDING,
            ):
                outbox.write_cancelled(update, message="The invoice was voided.")
            writes.append(
                outbox.write_open(
                    connection=connection,
                    entity=W.Entity.INVOICE,
                    object_id=invoice.pk,
                    label=invoice.number,
                    action=W.Action.VOID,
                )
            )
        else:
            if not pushed and (create is None or create.status == W.Status.PENDING):
                continue  # the create, when it goes, sends the invoice as it is then
            if not pushed and create.status != W.Status.SENDING:
                continue  # refused or cancelled: a retry of the create sends the new content
            writes.append(
                outbox.write_open_revision(
                    connection=connection,
                    entity=W.Entity.INVOICE,
                    object_id=invoice.pk,
                    label=invoice.number,
                    action=W.Action.UPDATE,
                )
            )
        sync_request_coalesced(connection=connection, resources=["invoices"], trigger=trigger)
    return writes


def invoice_changes_flush(run: Run) -> None:
    """Send owed edits and voids one by one (they are few), oldest first."""
    connection = run.connection
    owed = W.objects.filter(
        Q(status=W.Status.PENDING) | Q(status=W.Status.SENDING, lease_until__lte=timezone.now()),
        connection=connection,
        entity=W.Entity.INVOICE,
        action__in=(W.Action.UPDATE, W.Action.VOID),
    ).order_by("pk")
    if not owed.exists():
        return
    drafts = InvoiceDrafts(run)
    for write in owed:
        if run.time_left() <= 0:
            return
        invoice = Invoice.objects.filter(
            pk=write.object_id, business_id=connection.business_id
        ).first()
        if invoice is None:
            outbox.write_cancelled(write, message="The invoice no longer exists here.")
            continue
        ref = ref_get(connection, invoice)
        if ref is None:
            create = _latest(connection, invoice, W.Action.CREATE)
            if create is not None and create.status in OPEN:
                run.note(f"Some invoice changes wait for the invoice to reach {run.vendor}.")
                continue
            outbox.write_cancelled(write, message=f"The invoice is not in {run.vendor}.")
            continue
        if write.action == W.Action.UPDATE and invoice.status == InvoiceStatus.VOID:
            outbox.write_cancelled(write, message="The invoice was voided.")
            continue
        _send(run, drafts, write, invoice, ref)


def _send(run: Run, drafts: InvoiceDrafts, write, invoice: Invoice, ref: ExternalRef) -> None:
    verb = "void" if write.action == W.Action.VOID else "change"
    if write.status == W.Status.PENDING and not outbox.writes_claim(
        [write], request_id=write.idempotency_key
    ):
        return
    try:
        remote = _apply(run, drafts, write, ref)
    except RejectedError as exc:
        message = f"The {verb} of invoice {invoice.number} was not sent: {exc}"
        outbox.write_failed(
            write, message=message, vendor_code=exc.vendor_code, sync_log=run.sync_log
        )
        run.fail("invoice", invoice.pk, message, label=invoice.number, vendor_code=exc.vendor_code)
        return
    except ProviderError:
        outbox.writes_retry_now([write])  # in doubt: re-sent under the same key
        raise
    outbox.write_done(write, remote_id=remote.remote_id, sync_log=run.sync_log)
    ref_set(
        run.connection,
        invoice,
        remote_id=remote.remote_id,
        version=remote.version,
        remote_updated_at=remote.updated_at,
    )
    if write.action == W.Action.UPDATE and remote.total != invoice.total:
        run.fail(
            "invoice",
            invoice.pk,
            f"Invoice {invoice.number} was changed in {run.vendor} to a total of "
            f"{remote.total}, but it is {invoice.total} here. Check the tax code mapping and "
            "the invoice in both places.",
            label=invoice.number,
        )
        return
    run.ok()


def _apply(run: Run, drafts: InvoiceDrafts, write, ref: ExternalRef) -> RemoteInvoice:
    """One request; on a stale object (edited at the vendor meanwhile) re-read the version and
    re-apply once, under a key derived from that version (the first key would replay 5010)."""
    provider = run.provider
    version, key = ref.remote_version, write.idempotency_key
    for attempt in (1, 2):
        try:
            if write.action == W.Action.VOID:
                return provider.invoice_void(remote_id=ref.remote_id, version=version, key=key)
            draft = drafts.draft(write)
            return provider.invoice_update(
                remote_id=ref.remote_id, version=version, draft=draft, key=key
            )
        except StaleObject:
            if attempt == 2:
                raise
            current = provider.invoice_get(remote_id=ref.remote_id)
            logger.info("accounting_invoice_stale", write_id=write.pk, version=current.version)
            if write.action == W.Action.VOID and current.status == "void":
                return current  # someone voided it there already
            version, key = current.version, outbox.derived_key(write, f"v{current.version}")
    raise AssertionError("unreachable")
