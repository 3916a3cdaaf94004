"""Maintenance-agreement revenue, ours to theirs, once per paid period (AgreementPaymentReceived).

A paid period has no invoice of ours (Stripe bills the subscription), so it goes as money
received at once: a QuickBooks SalesReceipt, or in Xero an approved invoice paid in full. Its
line is the plan's item ("<plan> maintenance agreement"), whose income account is the revenue
mapping "Maintenance agreement revenue" (or an income account of that name, else "default"), and
the money goes to the card deposit account (Stripe pays by card), else Undeposited Funds. Keyed on
the period, so a replayed Stripe webhook or a re-sent request never records it twice. In Xero the
invoice's id is kept (services.steps) as soon as Xero answers, so any retry sends only the payment.
"""

from __future__ import annotations

from apps.accounting.models import AccountingWrite
from apps.accounting.providers.base import ItemDraft, MoneyLineDraft, SaleDraft
from apps.accounting.services import outbox
from apps.accounting.services.customers import customer_link_or_create
from apps.accounting.services.invoices import accounting_connections
from apps.accounting.services.items import income_account_for
from apps.accounting.services.payments import deposit_account_for
from apps.accounting.services.refs import ref_by_remote, ref_get, ref_set
from apps.accounting.services.run import Run
from apps.accounting.services.single import write_send, writes_owed
from apps.accounting.services.steps import WriteSteps
from apps.core.models import PaymentMethod
from apps.integrations.errors import RejectedError
from apps.integrations.models import SyncLog
from apps.payments.models import AgreementPeriod, MaintenancePlan

W = AccountingWrite
REVENUE_KEY = "Maintenance agreement revenue"


def agreement_payment_push_request(
    *, period_id: int, trigger: str = SyncLog.Trigger.EVENT
) -> list[AccountingWrite]:
    from apps.accounting.services.sync import sync_request_coalesced

    period = AgreementPeriod.objects.filter(pk=period_id).select_related("agreement__plan").first()
    if period is None or period.amount_paid <= 0:
        return []
    writes = []
    for connection in accounting_connections(period.business_id):
        if ref_get(connection, period) is not None:
            continue
        writes.append(
            outbox.write_open(
                connection=connection,
                entity=W.Entity.AGREEMENT,
                object_id=period.pk,
                label=_label(period),
            )
        )
        sync_request_coalesced(connection=connection, resources=["payments"], trigger=trigger)
    return writes


def _label(period: AgreementPeriod) -> str:
    start = f" from {period.period_start:%Y-%m-%d}" if period.period_start else ""
    return f"{period.agreement.plan.name}{start}"


def plan_item_code(plan: MaintenancePlan) -> str:
    return f"AGR-{plan.pk}"[:30]


def plan_item(run: Run, plan: MaintenancePlan) -> tuple[str, str]:
    """The plan's service item (linked by name before creating), and its income account."""
    account = income_account_for(run, REVENUE_KEY)
    ref = ref_get(run.connection, plan)
    if ref is not None:
        return ref.remote_id, account
    draft = ItemDraft(
        name=f"{plan.name} maintenance agreement"[:100],
        kind="service",
        description=f"{plan.name} maintenance agreement",
        income_account_id=account,
        sku=plan_item_code(plan),
        taxable=False,
    )
    write = outbox.write_open(
        connection=run.connection,
        entity=W.Entity.ITEM,
        object_id=f"plan:{plan.pk}",
        label=draft.name,
    )
    found = run.provider.item_find(name=draft.name, code=draft.sku)
    if found is not None and ref_by_remote(run.connection, MaintenancePlan, found.remote_id):
        raise RejectedError(f"{run.vendor} item “{draft.name}” is linked to another plan.")
    remote = found or run.provider.item_create(draft=draft, key=write.idempotency_key)
    outbox.write_done(write, remote_id=remote.remote_id, sync_log=run.sync_log)
    ref_set(run.connection, plan, remote_id=remote.remote_id, version=remote.version)
    return remote.remote_id, account


def agreement_payments_flush(run: Run) -> None:
    connection = run.connection
    for write in writes_owed(run, W.Entity.AGREEMENT):
        if run.time_left() <= 0:
            return
        period = (
            AgreementPeriod.objects.filter(pk=write.object_id, business_id=connection.business_id)
            .select_related("agreement__plan", "agreement__customer", "business")
            .first()
        )
        if period is None:
            outbox.write_cancelled(write, message="The agreement period no longer exists here.")
            continue

        def send(key: str, period=period, write=write) -> str:
            agreement, tz = period.agreement, period.business.timezone
            item_id, account = plan_item(run, agreement.plan)
            paid_at = period.paid_at or period.updated_at
            draft = SaleDraft(
                customer_remote_id=customer_link_or_create(run, agreement.customer).remote_id,
                amount=period.amount_paid,
                received_on=paid_at.astimezone(tz).date(),
                method=PaymentMethod.CARD,
                line=MoneyLineDraft(
                    description=_label(period),
                    amount=period.amount_paid,
                    item_remote_id=item_id,
                    item_code=plan_item_code(agreement.plan),
                    account_code=account,
                ),
                deposit_account_id=deposit_account_for(run, PaymentMethod.CARD),
                reference=period.stripe_invoice_id[-21:],
                memo=f"Maintenance agreement: {_label(period)} (Stripe {period.stripe_invoice_id})",
                currency=period.currency.upper(),
            )
            return run.provider.sale_create(draft=draft, key=key, steps=WriteSteps(write))

        write_send(
            run,
            write,
            period,
            send,
            what=f"The agreement payment {period.amount_paid} for {write.label}",
        )
