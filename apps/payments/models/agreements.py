from decimal import Decimal

from django.conf import settings
from django.db import models

from apps.core.models import (
    BusinessOwned,
    Customer,
    ServiceCategory,
    ServiceLocation,
    Timestamped,
    WorkOrder,
)
from apps.core.models.business import currency_code_validator
from apps.integrations.fields import EncryptedJSONDocumentField
from apps.integrations.models import IntegrationConnection

from .intents import money_field


class PlanInterval(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"
    YEARLY = "yearly", "Yearly"

    @property
    def stripe_recurring(self) -> dict:
        return {
            "monthly": {"interval": "month", "interval_count": 1},
            "quarterly": {"interval": "month", "interval_count": 3},
            "yearly": {"interval": "year", "interval_count": 1},
        }[self.value]


class MaintenancePlan(BusinessOwned, Timestamped):
    """What a business sells as a maintenance agreement: a price per period and the visits it buys."""

    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    interval = models.CharField(max_length=10, choices=PlanInterval.choices)
    price = money_field()
    currency = models.CharField(max_length=3, default="USD", validators=[currency_code_validator])
    visits_per_period = models.PositiveSmallIntegerField(
        default=1, help_text="Maintenance visits (work orders) created when a period is paid."
    )
    category = models.ForeignKey(
        ServiceCategory,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text="Service category of the visits; without one no visits are created.",
    )
    active = models.BooleanField(default=True)
    # Stripe prices are immutable: a price change makes a new Price, remembered with its amount.
    stripe_connection = models.ForeignKey(
        IntegrationConnection, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    stripe_product_id = models.CharField(max_length=255, blank=True, editable=False)
    stripe_price_id = models.CharField(max_length=255, blank=True, editable=False)
    stripe_price_amount = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, editable=False
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["business", "name"], name="plan_name_unique"),
            models.CheckConstraint(condition=models.Q(price__gt=0), name="plan_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.price} {self.currency} {self.get_interval_display().lower()})"


class AgreementStatus(models.TextChoices):
    """Stripe's subscription statuses, plus `pending` before Stripe has answered."""

    PENDING = "pending", "Pending"
    INCOMPLETE = "incomplete", "Incomplete (first payment due)"
    INCOMPLETE_EXPIRED = "incomplete_expired", "Expired (first payment never made)"
    TRIALING = "trialing", "Trialing"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due (retrying payment)"
    UNPAID = "unpaid", "Unpaid"
    CANCELED = "canceled", "Canceled"
    PAUSED = "paused", "Paused"


TERMINAL_AGREEMENT_STATUSES = frozenset(
    {AgreementStatus.CANCELED, AgreementStatus.INCOMPLETE_EXPIRED}
)


class MaintenanceAgreement(BusinessOwned, Timestamped):
    """A customer's maintenance plan, billed as a Stripe Subscription whose status it mirrors."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(
        ServiceLocation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text="Where the maintenance visits happen.",
    )
    plan = models.ForeignKey(MaintenancePlan, on_delete=models.PROTECT, related_name="agreements")
    connection = models.ForeignKey(
        IntegrationConnection, on_delete=models.PROTECT, related_name="+"
    )
    idempotency_key = models.CharField(max_length=255, unique=True)
    stripe_subscription_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_item_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=20, choices=AgreementStatus.choices, default=AgreementStatus.PENDING
    )
    status_at = models.DateTimeField(null=True, blank=True)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    canceled_at = models.DateTimeField(null=True, blank=True)
    plan_changes = models.PositiveIntegerField(default=0, editable=False)
    first_invoice_url = models.URLField(max_length=500, blank=True)
    secrets = EncryptedJSONDocumentField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["business", "status"])]

    def __str__(self) -> str:
        return f"{self.customer} - {self.plan.name} ({self.get_status_display().lower()})"


class AgreementPeriod(BusinessOwned, Timestamped):
    """One billed period (a Stripe invoice of the subscription): paid or in dunning, and its visits."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PAID = "paid", "Paid"
        FAILED = "failed", "Payment failed (Stripe retries)"

    agreement = models.ForeignKey(
        MaintenanceAgreement, on_delete=models.CASCADE, related_name="periods"
    )
    stripe_invoice_id = models.CharField(max_length=255, unique=True)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    amount_due = money_field(default=Decimal("0.00"))
    amount_paid = money_field(default=Decimal("0.00"))
    currency = models.CharField(max_length=3, validators=[currency_code_validator])
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    attempt_count = models.PositiveIntegerField(default=0)
    next_payment_attempt = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    visits_created_at = models.DateTimeField(null=True, blank=True)
    work_orders = models.ManyToManyField(WorkOrder, blank=True, related_name="+")

    class Meta:
        ordering = ["-period_start"]

    def __str__(self) -> str:
        return (
            f"{self.agreement} {self.period_start:%Y-%m-%d} ({self.get_status_display().lower()})"
        )
