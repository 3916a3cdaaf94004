"""Maintenance agreements as Stripe Subscriptions; their status mirrors the subscription's."""

from __future__ import annotations

import datetime as dt
import uuid

import structlog
from django.db import transaction
from django.utils import timezone

from apps.core import events
from apps.core.errors import DomainError
from apps.core.models import Customer, ServiceLocation, User
from apps.core.services.work_orders import work_order_create
from apps.core.timezones import format_local, zone_of
from apps.integrations.errors import RejectedError
from apps.integrations.models import IntegrationConnection
from apps.payments.conf import idempotency_key
from apps.payments.events import AgreementPaymentReceived
from apps.payments.models import (
    AgreementPeriod,
    AgreementStatus,
    MaintenanceAgreement,
    MaintenancePlan,
    PaymentAlert,
    PlanInterval,
    SavedPaymentMethod,
)
from apps.payments.models.agreements import TERMINAL_AGREEMENT_STATUSES
from apps.payments.money import to_minor
from apps.payments.services.alerts import payment_alert_raise
from apps.payments.services.common import (
    stripe_connection_for,
    stripe_provider,
    webhook_metadata_check,
    webhook_refusal,
    webhook_row,
)
from apps.payments.services.customers import stripe_customer_ensure
from apps.payments.stripe_objects import RemoteInvoice, RemoteSubscription

logger = structlog.get_logger(__name__)


def plan_price_ensure(*, plan: MaintenancePlan, connection: IntegrationConnection) -> str:
    """The Stripe Price for the plan's current amount (prices are immutable: new amount, new Price)."""
    plan = MaintenancePlan.objects.select_for_update().get(pk=plan.pk)
    provider = stripe_provider(connection)
    if plan.stripe_connection_id != connection.pk or not plan.stripe_product_id:
        plan.stripe_product_id = provider.product_create(
            idempotency_key=idempotency_key("plan", plan.pk, "product", connection.pk),
            name=plan.name,
            metadata={
                "thorbis_plan_id": str(plan.pk),
                "thorbis_business_id": str(plan.business_id),
            },
        )
        plan.stripe_connection, plan.stripe_price_id = connection, ""
    if not plan.stripe_price_id or plan.stripe_price_amount != plan.price:
        plan.stripe_price_id = provider.price_create(
            idempotency_key=idempotency_key(
                "plan",
                plan.pk,
                "price",
                plan.stripe_product_id,
                plan.interval,
                to_minor(plan.price, plan.currency),
            ),
            product=plan.stripe_product_id,
            amount=plan.price,
            currency=plan.currency,
            recurring=PlanInterval(plan.interval).stripe_recurring,
            metadata={"thorbis_plan_id": str(plan.pk)},
        )
        plan.stripe_price_amount = plan.price
    plan.save()
    return plan.stripe_price_id


def _apply(
    agreement: MaintenanceAgreement, remote: RemoteSubscription, at: dt.datetime | None
) -> None:
    if remote.status in AgreementStatus.values:
        agreement.status = remote.status
    agreement.status_at = at
    agreement.stripe_subscription_id = remote.id
    agreement.stripe_item_id = remote.item_id or agreement.stripe_item_id
    agreement.current_period_start = remote.current_period_start or agreement.current_period_start
    agreement.current_period_end = remote.current_period_end or agreement.current_period_end
    agreement.cancel_at_period_end = remote.cancel_at_period_end
    agreement.canceled_at = remote.canceled_at or agreement.canceled_at


@transaction.atomic
def agreement_enroll(
    *,
    customer: Customer,
    plan: MaintenancePlan,
    location: ServiceLocation | None = None,
    payment_method: SavedPaymentMethod | None = None,
    by: User | None = None,
) -> MaintenanceAgreement:
    """Subscribe the customer (default_incomplete): active once the first invoice is paid."""
    if plan.business_id != customer.business_id:
        raise DomainError("The plan belongs to another business.", field="plan")
    if not plan.active:
        raise DomainError("That plan is no longer offered.", field="plan")
    if location is not None and location.customer_id != customer.pk:
        raise DomainError("The service location belongs to another customer.", field="location")
    if payment_method is not None and (
        payment_method.customer_id != customer.pk or payment_method.detached_at
    ):
        raise DomainError(
            "That payment method is not one of this customer's.", field="payment_method"
        )
    if (
        MaintenanceAgreement.objects.filter(customer=customer, plan=plan)
        .exclude(status__in=TERMINAL_AGREEMENT_STATUSES)
        .exists()
    ):
        raise DomainError(f"{customer} already has the {plan.name} plan.", field="plan")
    connection = stripe_connection_for(customer.business)
    link = stripe_customer_ensure(connection=connection, customer=customer)
    price = plan_price_ensure(plan=plan, connection=connection)
    agreement = MaintenanceAgreement.objects.create(
        business_id=customer.business_id,
        customer=customer,
        location=location or customer.locations.order_by("pk").first(),
        plan=plan,
        connection=connection,
        idempotency_key=f"pending:{uuid.uuid4().hex}",  # replaced once the row has its id
        created_by=by,
    )
    agreement.idempotency_key = idempotency_key("sub", agreement.pk)
    provider = stripe_provider(connection)
    try:
        remote = provider.subscription_create(
            idempotency_key=agreement.idempotency_key,
            customer=link.stripe_id,
            price=price,
            metadata={
                "thorbis_agreement_id": str(agreement.pk),
                "thorbis_business_id": str(agreement.business_id),
            },
            default_payment_method=payment_method.stripe_id if payment_method else "",
        )
        if payment_method is not None and remote.status == "incomplete" and remote.latest_invoice:
            # Enrolled at the office with a card on file: pay the first period now.
            provider.invoice_pay(
                remote.latest_invoice,
                payment_method=payment_method.stripe_id,
                idempotency_key=f"{agreement.idempotency_key}:first-invoice",
            )
    except RejectedError as exc:
        raise DomainError(str(exc)) from exc
    _apply(agreement, remote, remote.created)
    agreement.first_invoice_url = remote.hosted_invoice_url
    agreement.secrets = {"client_secret": remote.client_secret} if remote.client_secret else {}
    agreement.save()
    return agreement


@transaction.atomic
def agreement_change_plan(
    *, agreement: MaintenanceAgreement, plan: MaintenancePlan, by: User | None = None
) -> MaintenanceAgreement:
    """Move to another plan; Stripe prorates the rest of the period (create_prorations)."""
    locked = MaintenanceAgreement.objects.select_for_update().get(pk=agreement.pk)
    if plan.business_id != locked.business_id or not plan.active:
        raise DomainError("Choose an active plan of this business.", field="plan")
    if locked.status in TERMINAL_AGREEMENT_STATUSES or not locked.stripe_subscription_id:
        raise DomainError("Only a running agreement can change plan.")
    if plan.pk == locked.plan_id:
        return locked
    price = plan_price_ensure(plan=plan, connection=locked.connection)
    locked.plan_changes += 1
    try:
        remote = stripe_provider(locked.connection).subscription_change_price(
            locked.stripe_subscription_id,
            item_id=locked.stripe_item_id,
            price=price,
            idempotency_key=idempotency_key("sub", locked.pk, "plan", locked.plan_changes, plan.pk),
        )
    except RejectedError as exc:
        raise DomainError(str(exc), field="plan") from exc
    locked.plan = plan
    _apply(locked, remote, locked.status_at)
    locked.save()
    return locked


@transaction.atomic
def agreement_cancel(
    *, agreement: MaintenanceAgreement, at_period_end: bool = True, by: User | None = None
) -> MaintenanceAgreement:
    locked = MaintenanceAgreement.objects.select_for_update().get(pk=agreement.pk)
    if locked.status in TERMINAL_AGREEMENT_STATUSES or not locked.stripe_subscription_id:
        raise DomainError("The agreement is not running.")
    remote = stripe_provider(locked.connection).subscription_cancel(
        locked.stripe_subscription_id,
        at_period_end=at_period_end,
        idempotency_key=idempotency_key("sub", locked.pk, "cancel", int(at_period_end)),
    )
    _apply(locked, remote, locked.status_at)
    locked.save()
    return locked


def _agreement_for(connection: IntegrationConnection, subscription_id: str, metadata: dict):
    """The connection's agreement for a subscription; another connection's id is refused."""
    locked = MaintenanceAgreement.objects.select_for_update()
    agreement = webhook_row(
        locked,
        connection=connection,
        scope={"connection": connection},
        what="Subscription",
        stripe_subscription_id=subscription_id,
    )
    if agreement is None and metadata.get("thorbis_agreement_id", "").isdigit():
        webhook_metadata_check(
            connection=connection, metadata=metadata, what=f"Subscription {subscription_id}"
        )
        # Another connection's agreement id answers like a missing one.
        agreement = locked.filter(
            connection=connection, pk=int(metadata["thorbis_agreement_id"])
        ).first()
    return agreement


def agreement_apply_subscription(
    *, connection: IntegrationConnection, remote: RemoteSubscription, at: dt.datetime
) -> MaintenanceAgreement | None:
    """Mirror a subscription webhook; older snapshots are ignored and ended agreements stay ended."""
    agreement = _agreement_for(connection, remote.id, remote.metadata)
    if agreement is None:
        logger.info("stripe_subscription_unknown", subscription=remote.id)
        return None
    previous = agreement.status
    if previous in TERMINAL_AGREEMENT_STATUSES and remote.status != previous:
        return agreement
    if agreement.status_at is not None and at < agreement.status_at:
        return agreement
    if agreement.status_at is not None and at == agreement.status_at and remote.status != previous:
        remote = stripe_provider(connection).subscription_retrieve(remote.id)
    _apply(agreement, remote, at)
    agreement.save()
    if (
        agreement.status in TERMINAL_AGREEMENT_STATUSES | {AgreementStatus.UNPAID}
        and previous != agreement.status
    ):
        payment_alert_raise(
            business_id=agreement.business_id,
            kind=PaymentAlert.Kind.AGREEMENT_ENDED,
            customer=agreement.customer,
            message=(
                f"{agreement.customer}'s {agreement.plan.name} agreement is now "
                f"{agreement.get_status_display().lower()}."
            ),
            dedupe_key=f"agreement-ended:{agreement.pk}:{agreement.status}",
        )
    return agreement


def _period(agreement: MaintenanceAgreement, remote: RemoteInvoice) -> AgreementPeriod:
    """The agreement's period for a Stripe invoice; an invoice id of another agreement is refused."""
    webhook_row(
        AgreementPeriod.objects.all(),
        connection=agreement.connection,
        scope={"agreement": agreement},
        what="Invoice",
        stripe_invoice_id=remote.id,
    )
    period, _ = AgreementPeriod.objects.get_or_create(
        stripe_invoice_id=remote.id,
        defaults={
            "business_id": agreement.business_id,
            "agreement": agreement,
            "period_start": remote.period_start,
            "period_end": remote.period_end,
            "amount_due": remote.amount_due,
            "currency": remote.currency,
        },
    )
    if period.agreement_id != agreement.pk:  # created meanwhile for another agreement
        raise webhook_refusal(connection=agreement.connection, what=f"Invoice {remote.id}")
    return AgreementPeriod.objects.select_for_update().get(pk=period.pk)


def agreement_invoice_paid(
    *, connection: IntegrationConnection, remote: RemoteInvoice, at: dt.datetime
) -> AgreementPeriod | None:
    """A period is paid: record it and schedule its maintenance visits, once."""
    agreement = _agreement_for(connection, remote.subscription, {}) if remote.subscription else None
    if agreement is None:
        return None
    period = _period(agreement, remote)
    if period.status == AgreementPeriod.Status.PAID:
        return period
    period.status, period.amount_paid = AgreementPeriod.Status.PAID, remote.amount_paid
    period.paid_at = remote.paid_at or at
    period.attempt_count = max(period.attempt_count, remote.attempt_count)
    period.next_payment_attempt = None
    period.save()
    if remote.amount_paid > 0:
        events.publish_on_commit(
            AgreementPaymentReceived(
                business_id=agreement.business_id,
                agreement_id=agreement.pk,
                period_id=period.pk,
                amount=remote.amount_paid,
                currency=remote.currency,
                occurred_at=period.paid_at,
            )
        )
    agreement_period_visits_create(period=period)
    return period


def agreement_period_visits_create(*, period: AgreementPeriod) -> list:
    """The plan's visits for a paid period, as new (unscheduled) work orders for dispatch."""
    agreement, plan = period.agreement, period.agreement.plan
    if period.visits_created_at or not plan.visits_per_period or plan.category_id is None:
        return []
    location = agreement.location or agreement.customer.locations.order_by("pk").first()
    if location is None:
        return []
    span = ""
    if period.period_start and period.period_end:
        span = f" for {period.period_start:%Y-%m-%d} to {period.period_end:%Y-%m-%d}"
    orders = []
    for number in range(1, plan.visits_per_period + 1):
        orders.append(
            work_order_create(
                business=agreement.business,
                customer=agreement.customer,
                location=location,
                category=plan.category,
                summary=f"{plan.name} maintenance visit {number} of {plan.visits_per_period}"[:200],
                description=f"Included in the {plan.name} maintenance agreement{span}.",
            )
        )
    period.work_orders.add(*orders)
    period.visits_created_at = timezone.now()
    period.save(update_fields=["visits_created_at", "updated_at"])
    return orders


def agreement_invoice_failed(
    *, connection: IntegrationConnection, remote: RemoteInvoice, at: dt.datetime
) -> AgreementPeriod | None:
    """Dunning: Stripe's Smart Retries try again; we show the attempt and tell the dispatcher."""
    agreement = _agreement_for(connection, remote.subscription, {}) if remote.subscription else None
    if agreement is None:
        return None
    period = _period(agreement, remote)
    if period.status == AgreementPeriod.Status.PAID:
        return period  # a late failure notice for a period that was paid on a retry
    period.status = AgreementPeriod.Status.FAILED
    period.attempt_count = max(period.attempt_count, remote.attempt_count)
    period.next_payment_attempt = remote.next_payment_attempt
    period.save()
    retry = (
        # The business's day and time: this alert is read in the back office, written by a worker.
        " Stripe retries on "
        f"{format_local(remote.next_payment_attempt, zone=zone_of(agreement.business))}."
        if remote.next_payment_attempt
        else " No retry is scheduled."
    )
    payment_alert_raise(
        business_id=agreement.business_id,
        kind=PaymentAlert.Kind.AGREEMENT_PAYMENT_FAILED,
        customer=agreement.customer,
        message=(
            f"Payment {remote.attempt_count} of {remote.amount_due} {remote.currency} for "
            f"{agreement.customer}'s {agreement.plan.name} agreement failed.{retry}"
        ),
        dedupe_key=f"agreement-invoice-failed:{remote.id}:{remote.attempt_count}",
    )
    return period
