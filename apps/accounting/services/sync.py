"""The framework's sync entry point for accounting, cursors, and coalesced sync requests."""

from __future__ import annotations

import datetime as dt
import time

from django.utils import timezone

from apps.accounting import conf
from apps.accounting.models import AccountingWrite, SyncCursor
from apps.accounting.providers.base import AccountingProvider
from apps.accounting.services.agreements import agreement_payments_flush
from apps.accounting.services.customers import customers_sync
from apps.accounting.services.flush import invoices_flush
from apps.accounting.services.invoice_changes import invoice_changes_flush
from apps.accounting.services.invoices import invoices_pull
from apps.accounting.services.items import items_sync
from apps.accounting.services.payments import payments_flush, payments_pull
from apps.accounting.services.refunds import refunds_flush
from apps.accounting.services.run import Run
from apps.core.errors import DomainError
from apps.integrations.models import ConnectionStatus, IntegrationConnection, SyncLog
from apps.integrations.providers import SyncOutcome

COALESCE_WINDOW = dt.timedelta(minutes=15)
# Money writes the payments run sends (the invoice run asks for it when they wait).
MONEY = (
    AccountingWrite.Entity.PAYMENT,
    AccountingWrite.Entity.REFUND,
    AccountingWrite.Entity.AGREEMENT,
)


def _event_driven(run: Run) -> bool:
    # Runs triggered by our own events only send: reading back right after writing is what
    # Intuit's metering (reads are billed) asks apps not to do; the scheduled runs read.
    return run.sync_log is not None and run.sync_log.trigger == SyncLog.Trigger.EVENT


def invoices_sync(run: Run) -> None:
    left = invoices_flush(run)
    if left and run.time_left() <= 0:
        run.note(f"{left} invoices are still to be sent; a new run continues.")
        sync_request_coalesced(
            connection=run.connection,
            resources=["invoices"],
            trigger=SyncLog.Trigger.EVENT,
            force=True,
        )
    invoice_changes_flush(run)  # after the creates: an edit needs its invoice there
    if not _event_driven(run):
        invoices_pull(run)
    owed_payments = AccountingWrite.objects.filter(
        connection=run.connection,
        entity__in=MONEY,
        status=AccountingWrite.Status.PENDING,
    ).exists()
    if owed_payments:
        sync_request_coalesced(
            connection=run.connection, resources=["payments"], trigger=SyncLog.Trigger.EVENT
        )


def payments_run(run: Run) -> None:
    payments_flush(run)
    refunds_flush(run)
    agreement_payments_flush(run)
    if not _event_driven(run):
        payments_pull(run)


HANDLERS = {
    "customers": customers_sync,
    "items": items_sync,
    "invoices": invoices_sync,
    "payments": payments_run,
}


def resource_sync(
    *, provider: AccountingProvider, resource: str, sync_log: SyncLog | None
) -> SyncOutcome:
    run = Run(
        provider=provider,
        sync_log=sync_log,
        deadline=time.monotonic() + float(conf.setting("ACCOUNTING_FLUSH_BUDGET_SECONDS")),
    )
    HANDLERS[resource](run)
    return run.outcome()


def cursor_get(connection: IntegrationConnection, resource: str) -> dt.datetime | None:
    row = SyncCursor.objects.filter(connection=connection, resource=resource).first()
    return row.position if row else None


def cursor_set(connection: IntegrationConnection, resource: str, position: dt.datetime) -> None:
    SyncCursor.objects.update_or_create(
        connection=connection,
        resource=resource,
        defaults={"business_id": connection.business_id, "position": position},
    )


def cursor_after(run: Run, changes) -> dt.datetime:
    """Where the next pull starts. After a truncated read (the vendor's page cap), it starts at
    the last change seen, without the overlap, or it would read the same page again."""
    return changes.until + run.provider.pull_overlap if changes.truncated else changes.until


def pull_since(run: Run, cursor: dt.datetime) -> dt.datetime:
    """The cursor minus the overlap window, but never further back than the vendor keeps."""
    since = cursor - run.provider.pull_overlap
    lookback = run.provider.max_lookback
    if lookback is not None and since < timezone.now() - lookback:
        run.note(
            f"The last read was longer ago than {run.vendor} keeps changes; older changes "
            "may be missing. Run a full check of the books."
        )
        since = timezone.now() - lookback
    return since


def sync_request_coalesced(
    *, connection: IntegrationConnection, resources: list[str], trigger: str, force: bool = False
) -> list[SyncLog]:
    """Queue a sync unless one for the same resource is already waiting (webhook storms, events)."""
    from apps.integrations.services import sync_request

    if not connection.sync_enabled or connection.status in (
        ConnectionStatus.NEEDS_RECONNECT,
        ConnectionStatus.DISABLED,
    ):
        return []
    wanted = list(resources)
    if not force:
        waiting = set(
            SyncLog.objects.filter(
                connection=connection,
                status=SyncLog.Status.QUEUED,
                sync_type__in=resources,
                queued_at__gte=timezone.now() - COALESCE_WINDOW,
            ).values_list("sync_type", flat=True)
        )
        wanted = [r for r in resources if r not in waiting]
    if not wanted:
        return []
    try:
        return sync_request(connection=connection, resources=wanted, trigger=trigger)
    except DomainError:
        return []
