"""Refunds, ours to theirs, exactly once (core's RefundRecorded event).

QuickBooks: a RefundReceipt. Intuit's API has no call that pays out a credit memo, so the
credit-memo route takes a credit memo plus a cheque or expense written against it (two documents
and an A/R credit left to match by hand); the RefundReceipt is Intuit's one document for "money
given back to a customer for a product or service", posting the reversal to the item's income
account and the money out of the account named "Refund from" (DepositToAccountRef). We use the
account mapped for the refunded payment's method (deposit mapping), else Undeposited Funds.

Xero: a credit note (ACCRECCREDIT) refunded with a payment against the credit note from the same
bank account: Xero's documented way to record a cash refund. Two requests: the credit note's id is
kept (services.steps) as soon as Xero answers, so any retry sends only the payment.
"""

from __future__ import annotations

from apps.accounting.models import AccountingWrite
from apps.accounting.providers.base import MoneyLineDraft, RefundDraft
from apps.accounting.services import outbox
from apps.accounting.services.invoices import accounting_connections, invoice_push_request
from apps.accounting.services.items import item_code, item_link_or_create, mapping
from apps.accounting.services.payments import deposit_account_for
from apps.accounting.services.refs import ref_get
from apps.accounting.services.run import Run
from apps.accounting.services.single import write_send, writes_owed
from apps.accounting.services.steps import WriteSteps
from apps.accounting.services.subcustomers import billing_customer_ref
from apps.core.models import Invoice, Refund
from apps.integrations.errors import RejectedError
from apps.integrations.models import AccountMapping, SyncLog

W = AccountingWrite
K = AccountMapping.Kind


def refund_push_request(
    *, refund_id: int, trigger: str = SyncLog.Trigger.EVENT
) -> list[AccountingWrite]:
    from apps.accounting.services.sync import sync_request_coalesced

    refund = Refund.objects.filter(pk=refund_id).select_related("invoice", "payment").first()
    invoice = (refund.invoice or refund.payment.invoice) if refund else None
    if refund is None or invoice is None:
        return []  # a refund of a payment on no invoice: nothing of ours at the vendor
    writes = []
    for connection in accounting_connections(refund.business_id):
        if ref_get(connection, refund) is not None:
            continue
        writes.append(
            outbox.write_open(
                connection=connection,
                entity=W.Entity.REFUND,
                object_id=refund.pk,
                label=f"Refund {refund.amount} on {invoice.number}",
            )
        )
        sync_request_coalesced(connection=connection, resources=["payments"], trigger=trigger)
    return writes


def refund_line(run: Run, invoice: Invoice, amount) -> MoneyLineDraft:
    """The refund reverses income on the item (and revenue account) of the invoice's first line."""
    work_order = invoice.work_order
    for line in invoice.lines.select_related("category", "part__category").order_by("pk"):
        category = line.category or (work_order.category if work_order else None)
        obj = line.part or category
        if obj is None:
            continue
        account = mapping(run, K.REVENUE, category.revenue_category if category else "", "default")
        return MoneyLineDraft(
            description=f"Refund on invoice {invoice.number}",
            amount=amount,
            item_remote_id=item_link_or_create(run, obj).remote_id,
            item_code=item_code(obj),
            account_code=account.remote_id if account else "",
        )
    raise RejectedError(f"Invoice {invoice.number} has no line with a service category or part.")


def refunds_flush(run: Run) -> None:
    connection = run.connection
    for write in writes_owed(run, W.Entity.REFUND):
        if run.time_left() <= 0:
            return
        refund = (
            Refund.objects.filter(pk=write.object_id, business_id=connection.business_id)
            .select_related("payment__invoice", "invoice__work_order__category", "business")
            .first()
        )
        if refund is None:
            outbox.write_cancelled(write, message="The refund no longer exists here.")
            continue
        invoice = refund.invoice or refund.payment.invoice
        invoice_ref = ref_get(connection, invoice)
        if invoice_ref is None:
            invoice_push_request(invoice=invoice)  # the invoice (and its payment) go first
            run.note(f"Some refunds wait for their invoice to reach {run.vendor}.")
            continue

        def send(
            key: str, refund=refund, invoice=invoice, invoice_ref=invoice_ref, write=write
        ) -> str:
            tz = refund.business.timezone
            draft = RefundDraft(
                customer_remote_id=billing_customer_ref(run, invoice).remote_id,
                invoice_remote_id=invoice_ref.remote_id,
                invoice_number=invoice.number,
                amount=refund.amount,
                refunded_on=refund.refunded_at.astimezone(tz).date(),
                method=refund.payment.method,
                line=refund_line(run, invoice, refund.amount),
                from_account_id=deposit_account_for(run, refund.payment.method),
                reference=refund.reference,
                reason=refund.reason,
                currency=refund.currency,
            )
            return run.provider.refund_create(draft=draft, key=key, steps=WriteSteps(write))

        write_send(
            run,
            write,
            refund,
            send,
            what=f"The refund of {refund.amount} on invoice {invoice.number}",
        )
