"""Sending owed invoices within the vendor's limits, exactly once.

Each request takes the connection's rate-limiter slot first; only then is it decided whether it
goes as a batch (QuickBooks allows 40 batches of 30 a minute inside its 500 requests) or as one
create, and the chosen rows are claimed under that request's id and committed before anything is
sent. Whatever happens next (timeout, 429, a killed worker), the rows say exactly what was sent
under which id, and a re-send repeats it. Per-record refusals fail only their record.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import structlog
from django.db import connections as db_connections
from django.db.models import F
from django.db.models.functions import Mod

from apps.accounting import conf
from apps.accounting.models import AccountingWrite
from apps.accounting.providers.base import BatchEntry, DuplicateDocument, RemoteInvoice
from apps.accounting.services import outbox
from apps.accounting.services.invoices import InvoiceDrafts
from apps.accounting.services.refs import ref_get, ref_set
from apps.accounting.services.run import Run
from apps.accounting.services.subcustomers import billed_ref
from apps.core.models import Invoice
from apps.integrations.errors import (
    AuthenticationError,
    ProviderError,
    RateLimited,
    RejectedError,
    TemporaryError,
)

logger = structlog.get_logger(__name__)
W = AccountingWrite
MAX_TEMPORARY_RETRIES = 4
MAX_IN_RUN_WAIT_S = 65.0
LOOKAHEAD = 300


def invoices_flush(run: Run) -> int:
    """Send every owed invoice of the connection; returns how many are still owed.

    With ACCOUNTING_FLUSH_WORKERS > 1 and enough owed, several threads send in parallel, each
    owning a disjoint share of the rows (by primary key), so a slow answer never idles the
    connection's budget; the shared rate limiter keeps them together within the vendor's limits.
    """
    connection = run.connection
    outbox.writes_reopen_retried(connection=connection, entity=W.Entity.INVOICE)
    owed = W.objects.filter(
        connection=connection,
        entity=W.Entity.INVOICE,
        action=W.Action.CREATE,  # edits and voids go one by one (invoice_changes.py)
        status__in=(W.Status.PENDING, W.Status.SENDING),
    )
    workers = max(1, int(conf.setting("ACCOUNTING_FLUSH_WORKERS")))
    if workers == 1 or owed.count() < 2 * run.provider.max_batch_size:
        _flush_share(run, 0, 1)
    else:
        _flush_parallel(run, workers)
    return owed.count()


def _flush_parallel(run: Run, workers: int) -> None:
    runs: list[Run | None] = [None] * workers
    errors: list[BaseException] = []

    def share(index: int) -> None:
        try:
            connection = type(run.connection).objects.get(pk=run.connection.pk)
            runs[index] = Run(
                provider=type(run.provider)(connection),
                sync_log=run.sync_log,
                deadline=run.deadline,
            )
            _flush_share(runs[index], index, workers)
        except BaseException as exc:  # re-raised in the calling thread below
            errors.append(exc)
        finally:
            db_connections.close_all()  # this thread's own connections

    threads = [threading.Thread(target=share, args=(i,), name=f"flush-{i}") for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for sub in runs:
        if sub is not None:
            run.processed += sub.processed
            run.succeeded += sub.succeeded
            run.failures.extend(sub.failures)
            for note in sub.notes:
                run.note(note)
    if errors:
        raise errors[0]


def _flush_share(run: Run, index: int, workers: int) -> None:
    connection = run.connection
    drafts = InvoiceDrafts(run)
    skipped: set[int] = set()
    owned = W.objects.filter(connection=connection, entity=W.Entity.INVOICE, action=W.Action.CREATE)
    if workers > 1:
        owned = owned.alias(share=Mod(F("id"), workers)).filter(share=index)
    while run.time_left() > 0:
        doubtful = [
            g
            for g in outbox.writes_in_doubt(
                connection=connection, entity=W.Entity.INVOICE, action=W.Action.CREATE
            )
            if g[0].pk % workers == index and not skipped.intersection(w.pk for w in g)
        ]
        if doubtful:
            _resend(run, drafts, doubtful[0], skipped)
            continue
        pending = owned.filter(status=W.Status.PENDING).exclude(pk__in=skipped).order_by("pk")
        chunk = list(pending[: run.provider.max_batch_size])
        if not chunk:
            break
        if not all(drafts.has_invoice(w) for w in chunk):
            drafts.load(pending[:LOOKAHEAD])  # read ahead: one query for many invoices
        ready = [w for w in chunk if _prepared(run, drafts, w, skipped)]
        if ready:
            _send_new(run, drafts, ready)


def _prepared(run: Run, drafts: InvoiceDrafts, write: AccountingWrite, skipped: set[int]) -> bool:
    if drafts.ready(write):
        return True  # checked and built earlier in this run
    invoice = drafts.invoice(write)
    existing = ref_get(run.connection, invoice) if invoice is not None else None
    if existing is not None:  # linked meanwhile (another connection run, or by hand)
        outbox.write_done(write, remote_id=existing.remote_id, sync_log=run.sync_log)
        return False
    try:
        drafts.draft(write)
        return True
    except RejectedError as exc:
        message = f"Invoice {write.label} was not sent: {exc}"
        outbox.write_failed(
            write, message=message, vendor_code=exc.vendor_code, sync_log=run.sync_log
        )
        run.fail(
            "invoice", write.object_id, message, label=write.label, vendor_code=exc.vendor_code
        )
        skipped.add(write.pk)
        return False


def _entries(drafts: InvoiceDrafts, writes: Sequence[AccountingWrite]) -> list[BatchEntry]:
    return [BatchEntry(item_id=outbox.batch_item_id(w), draft=drafts.draft(w)) for w in writes]


def _send_new(run: Run, drafts: InvoiceDrafts, ready: list[AccountingWrite]) -> None:
    provider = run.provider
    error: ProviderError | None = None
    with provider.request_slot():
        batch = len(ready) > 1 and provider.batch_available()
        chosen = ready if batch else ready[:1]
        request_id = (
            outbox.batch_request_id([w.idempotency_key for w in chosen])
            if len(chosen) > 1
            else chosen[0].idempotency_key
        )
        if not outbox.writes_claim(chosen, request_id=request_id):
            return  # another worker took some of them: plan again
        try:
            results = provider.invoices_create(
                entries=_entries(drafts, chosen), request_id=request_id
            )
        except ProviderError as exc:
            error = exc
    if error is None:
        _record(run, chosen, results, drafts)
    else:
        _after_error(run, drafts, chosen, request_id, error)


def _resend(
    run: Run, drafts: InvoiceDrafts, group: list[AccountingWrite], skipped: set[int]
) -> None:
    """Repeat an unanswered request exactly: same id, same members (the vendor replays it)."""
    try:
        entries = _entries(drafts, group)
    except RejectedError as exc:
        skipped.update(w.pk for w in group)
        for write in group:
            run.fail(
                "invoice",
                write.object_id,
                f"Invoice {write.label} may have been sent and "
                f"cannot be sent again to check: {exc}",
                label=write.label,
            )
        return
    if len(group) > 1:
        while not run.provider.batch_available():  # a batch is re-sent as a batch
            if run.time_left() < 1:
                return
            time.sleep(0.5)
    _send_again(run, drafts, group, group[0].request_id, entries)


def _send_again(run, drafts, writes, request_id, entries=None) -> None:
    entries = entries or _entries(drafts, writes)
    try:
        results = run.provider.invoices_create(entries=entries, request_id=request_id)
    except ProviderError as exc:
        _after_error(run, drafts, writes, request_id, exc)
        return
    _record(run, writes, results, drafts)


def _after_error(
    run, drafts, writes, request_id: str, error: ProviderError, attempt: int = 1
) -> None:
    """A whole request failed: wait and repeat it under the same id, or leave it in doubt."""
    if isinstance(error, RejectedError):  # refused as a whole: nothing was created
        _record(run, writes, {outbox.batch_item_id(w): error for w in writes}, drafts)
        return
    retryable = isinstance(error, TemporaryError) and not isinstance(error, AuthenticationError)
    if isinstance(error, RateLimited):
        wait = float(error.retry_after or 1.0)
    else:
        wait = min(8.0, 0.5 * 2**attempt)
    if (
        not retryable
        or attempt > MAX_TEMPORARY_RETRIES
        or wait > min(MAX_IN_RUN_WAIT_S, run.time_left())
    ):
        outbox.writes_retry_now(writes)  # due again at once for the next run, same id
        raise error
    logger.info("accounting_resend_wait", request_id=request_id, wait=wait, error=str(error))
    time.sleep(wait)
    if len(writes) > 1:
        while not run.provider.batch_available():
            time.sleep(0.5)
    try:
        results = run.provider.invoices_create(
            entries=_entries(drafts, writes), request_id=request_id
        )
    except ProviderError as exc:
        next_attempt = (
            attempt
            if isinstance(exc, RateLimited) and isinstance(error, RateLimited)
            else attempt + 1
        )
        _after_error(run, drafts, writes, request_id, exc, next_attempt)
        return
    _record(run, writes, results, drafts)


def _failed(run: Run, write: AccountingWrite, error: ProviderError) -> None:
    message = f"Invoice {write.label}: {error}"
    outbox.write_failed(
        write, message=message, vendor_code=error.vendor_code, sync_log=run.sync_log
    )
    run.fail("invoice", write.object_id, message, label=write.label, vendor_code=error.vendor_code)


def _record(
    run: Run, writes: Sequence[AccountingWrite], results: dict, drafts: InvoiceDrafts | None = None
) -> None:
    for write in writes:
        result = results.get(outbox.batch_item_id(write))
        if result is None and len(writes) == 1 and len(results) == 1:
            result = next(iter(results.values()))
        invoice = (
            drafts.invoice(write) if drafts else Invoice.objects.filter(pk=write.object_id).first()
        )
        if isinstance(result, RemoteInvoice):
            _linked(run, write, invoice, result)
        elif isinstance(result, DuplicateDocument):
            _link_existing(run, write, invoice, result)
        elif isinstance(result, TemporaryError):  # this item was not processed: send it anew
            W.objects.filter(pk=write.pk).update(
                status=W.Status.PENDING, request_id="", lease_until=None
            )
        elif isinstance(result, ProviderError):
            _failed(run, write, result)
        else:  # no answer for it: stays in doubt and is re-sent under the same id
            logger.warning("accounting_batch_item_missing", write_id=write.pk)


def _linked(
    run: Run, write: AccountingWrite, invoice: Invoice | None, remote: RemoteInvoice
) -> None:
    outbox.write_done(write, remote_id=remote.remote_id, sync_log=run.sync_log)
    if invoice is None:
        run.skip()
        return
    ref_set(
        run.connection,
        invoice,
        remote_id=remote.remote_id,
        version=remote.version,
        remote_updated_at=remote.updated_at,
    )
    if remote.total != invoice.total:
        run.fail(
            "invoice",
            invoice.pk,
            f"Invoice {invoice.number} was created in {run.vendor} with a "
            f"total of {remote.total}, but it is {invoice.total} here. Check the tax code "
            "mapping and the invoice in both places.",
            label=invoice.number,
        )
    else:
        run.ok()


def _link_existing(run: Run, write: AccountingWrite, invoice: Invoice | None, error) -> None:
    """The number is taken: link it if it is this invoice (same customer and total), else fail."""
    existing = run.provider.invoice_find(number=write.label) if invoice else None
    customer_ref = billed_ref(run.connection, invoice) if invoice else None
    if (
        existing is not None
        and customer_ref is not None
        and existing.customer_remote_id == customer_ref.remote_id
        and existing.total == invoice.total
    ):
        run.note(f"Linked invoices that already existed in {run.vendor}.")
        _linked(run, write, invoice, existing)
        return
    _failed(
        run,
        write,
        RejectedError(
            f"{run.vendor} already has an invoice numbered {write.label} for another customer or "
            "amount. Renumber or remove one of them, then retry.",
            vendor_code=error.vendor_code,
        ),
    )
