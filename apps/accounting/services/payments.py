"""Payments both ways, each applied to its invoice, deposited to the account mapped per method.

Ours to theirs: a payment recorded here is sent once its invoice is at the vendor, into the
deposit account mapped for its method (else "default", else Undeposited Funds, where bookkeepers
expect card and check payments to wait for the bank deposit). Theirs to ours: a payment entered
at the vendor against one of our invoices is recorded here through core's payment_record, so the
invoice and its work order become paid exactly as if the office had taken it.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounting.models import AccountingWrite
from apps.accounting.providers.base import PaymentDraft, RemotePayment
from apps.accounting.services import outbox
from apps.accounting.services.invoices import accounting_connections, invoice_push_request
from apps.accounting.services.items import mapping
from apps.accounting.services.refs import ref_by_remote, ref_get, ref_set
from apps.accounting.services.run import Run
from apps.accounting.services.subcustomers import billing_customer_ref
from apps.core.errors import DomainError
from apps.core.models import Invoice, Payment, PaymentMethod
from apps.core.services.billing import payment_record
from apps.integrations.errors import ProviderError, RejectedError
from apps.integrations.models import AccountMapping, ExternalRef, SyncLog

W = AccountingWrite
DELETED = "deleted"  # ExternalRef.remote_version of a payment deleted at the vendor
KEPT_HERE = (
    "It stays recorded here: money collected in the field is never removed automatically. "
    "If it was given back, record a refund here; if it was entered twice or by mistake, correct "
    "it here; otherwise restore it in the books. Then dismiss this error."
)
METHOD_WORDS = (
    ("cash", PaymentMethod.CASH),
    ("cheque", PaymentMethod.CHECK),
    ("check", PaymentMethod.CHECK),
    ("ach", PaymentMethod.ACH),
    ("eft", PaymentMethod.ACH),
    ("transfer", PaymentMethod.BANK_TRANSFER),
    ("wire", PaymentMethod.BANK_TRANSFER),
    ("visa", PaymentMethod.CARD),
    ("master", PaymentMethod.CARD),
    ("amex", PaymentMethod.CARD),
    ("american express", PaymentMethod.CARD),
    ("discover", PaymentMethod.CARD),
    ("card", PaymentMethod.CARD),
)


def payment_push_request(
    *, payment_id: int, trigger: str = SyncLog.Trigger.EVENT
) -> list[AccountingWrite]:
    from apps.accounting.services.sync import sync_request_coalesced

    payment = Payment.objects.filter(pk=payment_id).select_related("invoice").first()
    if payment is None or payment.invoice is None:
        return []
    writes = []
    for connection in accounting_connections(payment.business_id):
        if ref_get(connection, payment) is not None:
            continue  # it came from this vendor, or was sent already
        writes.append(
            outbox.write_open(
                connection=connection,
                entity=W.Entity.PAYMENT,
                object_id=payment.pk,
                label=f"{payment.amount} on {payment.invoice.number}",
            )
        )
        sync_request_coalesced(connection=connection, resources=["payments"], trigger=trigger)
    return writes


def deposit_account_for(run: Run, method: str) -> str:
    found = mapping(run, AccountMapping.Kind.DEPOSIT, method, "default")
    if found is not None:
        return found.remote_id
    return run.provider.default_deposit_account(run.accounts())


def payments_flush(run: Run) -> None:
    connection = run.connection
    outbox.writes_reopen_retried(connection=connection, entity=W.Entity.PAYMENT)
    owed = W.objects.filter(
        Q(status=W.Status.PENDING) | Q(status=W.Status.SENDING, lease_until__lte=timezone.now()),
        connection=connection,
        entity=W.Entity.PAYMENT,
    ).order_by("pk")
    for write in owed:
        if run.time_left() <= 0:
            return
        payment = (
            Payment.objects.filter(pk=write.object_id, business_id=connection.business_id)
            .select_related("invoice", "customer", "business")
            .first()
        )
        if payment is None:
            outbox.write_cancelled(write, message="The payment no longer exists here.")
            continue
        existing = ref_get(connection, payment)
        if existing is not None:
            outbox.write_done(write, remote_id=existing.remote_id, sync_log=run.sync_log)
            continue
        invoice_ref = ref_get(connection, payment.invoice)
        if invoice_ref is None:
            invoice_push_request(invoice=payment.invoice)  # the invoice goes first
            run.note(f"Some payments wait for their invoice to reach {run.vendor}.")
            continue
        try:
            draft = PaymentDraft(
                customer_remote_id=billing_customer_ref(run, payment.invoice).remote_id,
                amount=payment.amount,
                received_on=timezone.localtime(
                    payment.received_at, payment.business.timezone
                ).date(),
                method=payment.method,
                applied_to=((invoice_ref.remote_id, payment.amount),),
                reference=payment.reference,
                deposit_account_id=deposit_account_for(run, payment.method),
                currency=payment.currency,
            )
            if write.status == W.Status.PENDING and not outbox.writes_claim(
                [write], request_id=write.idempotency_key
            ):
                continue
            remote = run.provider.payment_create(draft=draft, key=write.idempotency_key)
        except RejectedError as exc:
            message = f"Payment of {payment.amount} on {payment.invoice.number}: {exc}"
            outbox.write_failed(
                write, message=message, vendor_code=exc.vendor_code, sync_log=run.sync_log
            )
            run.fail("payment", payment.pk, message, label=write.label, vendor_code=exc.vendor_code)
            continue
        except ProviderError:
            outbox.writes_retry_now([write])
            raise
        outbox.write_done(write, remote_id=remote.remote_id, sync_log=run.sync_log)
        ref_set(
            connection,
            payment,
            remote_id=remote.remote_id,
            version=remote.version,
            remote_updated_at=remote.updated_at,
        )
        run.ok()


def method_from_name(name: str, default: str) -> str:
    lowered = name.lower()
    for word, method in METHOD_WORDS:
        if word in lowered:
            return method
    return default


def _links(run: Run, remote: RemotePayment) -> list[ExternalRef]:
    return list(
        ExternalRef.objects.filter(
            connection=run.connection,
            content_type__model="payment",
            content_type__app_label="core",
            remote_id__in=[
                remote.remote_id,
                *(f"{remote.remote_id}#{i}" for i, _ in remote.applied_to),
            ],
        )
    )


def payment_apply_remote(run: Run, remote: RemotePayment) -> None:
    links = _links(run, remote)
    label = f"{run.vendor} payment {remote.reference or remote.remote_id}"
    if links:
        if remote.version != links[0].remote_version:
            ours = sum(
                p.amount for p in Payment.objects.filter(pk__in=[r.object_id for r in links])
            )
            # Reported once per change at the vendor (the version is kept below), never applied:
            # money collected in the field is not removed here by an edit in the books.
            if not remote.amount:
                run.fail(
                    "payment",
                    remote.remote_id,
                    f"{label} ({ours}) was voided in {run.vendor} after it was recorded here. "
                    f"{KEPT_HERE}",
                    label=label,
                )
            elif ours != remote.amount:
                run.fail(
                    "payment",
                    remote.remote_id,
                    f"{label} was changed to {remote.amount} in {run.vendor} after it was "
                    f"recorded here as {ours}. {KEPT_HERE}",
                    label=label,
                )
            for ref in links:
                ref.remote_version = remote.version
                ref.save(update_fields=["remote_version", "updated_at"])
        run.skip()
        return
    if not remote.applied_to:
        run.note(f"Payments not applied to an invoice in {run.vendor} are not recorded here.")
        run.skip()
        return
    default = run.connection.setting("default_payment_method")
    tz = run.connection.business.timezone
    received = remote.received_on or timezone.localdate(timezone=tz)
    when = timezone.make_aware(dt.datetime.combine(received, dt.time(12)), tz)
    for invoice_remote_id, amount in remote.applied_to:
        invoice_ref = ref_by_remote(run.connection, Invoice, invoice_remote_id)
        if invoice_ref is None:
            continue  # applied to an invoice that did not come from us
        invoice = Invoice.objects.get(
            pk=invoice_ref.object_id, business_id=run.connection.business_id
        )
        remote_key = (
            remote.remote_id
            if len(remote.applied_to) == 1
            else f"{remote.remote_id}#{invoice_remote_id}"
        )
        try:
            # One transaction: PaymentRecorded fires on commit, when the link already exists, so
            # the payment is never sent back to the vendor it came from.
            with transaction.atomic():
                payment = payment_record(
                    invoice=invoice,
                    amount=amount,
                    method=method_from_name(remote.method_name, default),
                    received_at=when,
                    reference=(remote.reference or f"{run.vendor} #{remote.remote_id}")[:100],
                )
                ref_set(
                    run.connection,
                    payment,
                    remote_id=remote_key,
                    version=remote.version,
                    remote_updated_at=remote.updated_at,
                )
        except DomainError as exc:
            run.fail(
                "payment",
                remote.remote_id,
                f"{label} of {amount} for invoice {invoice.number} "
                f"could not be recorded here: {exc.message}",
                label=label,
            )
            continue
        run.ok()


def payments_pull(run: Run) -> None:
    from apps.accounting.services.sync import cursor_after, cursor_get, cursor_set, pull_since

    cursor = cursor_get(run.connection, "payments") or (timezone.now() - dt.timedelta(days=1))
    changes = run.provider.changes_since(entities=["payments"], since=pull_since(run, cursor))
    for remote in sorted(changes.payments, key=lambda p: (p.updated_at is None, p.updated_at)):
        payment_apply_remote(run, remote)
    for deletion in changes.deletions:
        refs = ExternalRef.objects.filter(
            connection=run.connection,
            content_type__model="payment",
            remote_id__startswith=deletion.remote_id,
        )
        for ref in refs:
            if ref.remote_id.split("#")[0] != deletion.remote_id or ref.remote_version == DELETED:
                continue  # not this one, or reported already (the overlap re-reads deletions)
            payment = Payment.objects.filter(pk=ref.object_id).select_related("invoice").first()
            what = (
                f"The payment of {payment.amount} on {payment.invoice.number}"
                if payment and payment.invoice
                else ""
            )
            run.fail(
                "payment",
                ref.object_id,
                f"{what or 'A payment'} was deleted in {run.vendor} after it was recorded here. "
                f"{KEPT_HERE}",
            )
            ref.remote_version = DELETED
            ref.save(update_fields=["remote_version", "updated_at"])
    cursor_set(run.connection, "payments", cursor_after(run, changes))
