from decimal import Decimal

from django.conf import settings
from django.db import models

from apps.core.labels import readable
from apps.core.models import BusinessOwned, Customer, Invoice, Payment, Timestamped
from apps.core.models.business import currency_code_validator
from apps.integrations.fields import EncryptedJSONDocumentField
from apps.integrations.models import IntegrationConnection

ZERO = Decimal("0.00")


class IntentStatus(models.TextChoices):
    """Stripe's PaymentIntent statuses, verbatim."""

    REQUIRES_PAYMENT_METHOD = "requires_payment_method", "Waiting for a payment method"
    REQUIRES_CONFIRMATION = "requires_confirmation", "Waiting for confirmation"
    REQUIRES_ACTION = "requires_action", "Customer action needed (3-D Secure, micro-deposits)"
    PROCESSING = "processing", "Processing (bank debit settling)"
    REQUIRES_CAPTURE = "requires_capture", "Authorized, not captured"
    CANCELED = "canceled", "Canceled"
    SUCCEEDED = "succeeded", "Succeeded"


TERMINAL_INTENT_STATUSES = frozenset({IntentStatus.SUCCEEDED, IntentStatus.CANCELED})
OPEN_INTENT_STATUSES = frozenset(
    {
        IntentStatus.REQUIRES_PAYMENT_METHOD,
        IntentStatus.REQUIRES_CONFIRMATION,
        IntentStatus.REQUIRES_ACTION,
    }
)


class CaptureMethod(models.TextChoices):
    AUTOMATIC = "automatic", "Automatic"
    MANUAL = "manual", "Manual (authorize now, capture later: deposits)"


def money_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=12, decimal_places=2, **kwargs)


class StripePaymentIntent(BusinessOwned, Timestamped):
    """One attempt to collect money for an invoice through Stripe, mirrored from its webhooks.

    The row is written before Stripe is called, so its idempotency key exists first: a retried
    request (a Celery redelivery, a double tap in the app) reuses the key and can never charge twice.
    """

    class Source(models.TextChoices):
        FIELD_APP = "field_app", "Technician app"
        PAYMENT_LINK = "payment_link", "Payment link"
        STRIPE = "stripe", "Created in Stripe"

    connection = models.ForeignKey(
        IntegrationConnection, on_delete=models.PROTECT, related_name="+"
    )
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="stripe_intents")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.FIELD_APP)
    attempt = models.PositiveIntegerField(default=1)
    idempotency_key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    amount = money_field()
    amount_received = money_field(default=ZERO)
    currency = models.CharField(max_length=3, validators=[currency_code_validator])
    capture_method = models.CharField(
        max_length=10, choices=CaptureMethod.choices, default=CaptureMethod.AUTOMATIC
    )
    payment_method_types = models.JSONField(default=list, blank=True)
    method = models.CharField(max_length=20, blank=True, help_text="Core payment method once known")
    status = models.CharField(
        max_length=30, choices=IntentStatus.choices, default=IntentStatus.REQUIRES_PAYMENT_METHOD
    )
    # Stripe's time of the newest snapshot applied: an older webhook never moves the status back.
    status_at = models.DateTimeField(null=True, blank=True)
    charge_id = models.CharField(max_length=255, blank=True, db_index=True)
    secrets = EncryptedJSONDocumentField(default=dict, blank=True)
    failure_message = models.TextField(blank=True)
    payment = models.OneToOneField(
        Payment, on_delete=models.SET_NULL, null=True, blank=True, related_name="stripe_intent"
    )
    unapplied_amount = money_field(default=ZERO)
    receipt_sent_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "Stripe payment"
        indexes = [models.Index(fields=["business", "invoice", "status"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="intent_amount_positive")
        ]

    def __str__(self) -> str:
        status = self.get_status_display().lower()
        return f"{self.stripe_id or 'pending'} {self.amount} {self.currency} ({status})"

    @property
    def client_secret(self) -> str:
        return (self.secrets or {}).get("client_secret", "")

    @property
    def refunded_amount(self) -> Decimal:
        total = sum(
            (r.amount for r in self.refunds.all() if r.status not in Refund.FAILED_STATUSES), ZERO
        )
        return total

    @property
    def refundable_amount(self) -> Decimal:
        if self.status != IntentStatus.SUCCEEDED:
            return ZERO
        return max(self.amount_received - self.refunded_amount, ZERO)


class Refund(BusinessOwned, Timestamped):
    class Reason(models.TextChoices):
        REQUESTED_BY_CUSTOMER = "requested_by_customer", "Requested by the customer"
        DUPLICATE = "duplicate", "Duplicate payment"
        FRAUDULENT = "fraudulent", "Fraudulent"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        REQUIRES_ACTION = "requires_action", "Requires action"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"

    FAILED_STATUSES = frozenset({Status.FAILED, Status.CANCELED})

    payment_intent = models.ForeignKey(
        StripePaymentIntent, on_delete=models.PROTECT, related_name="refunds"
    )
    stripe_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    # Refunds made in Stripe's dashboard arrive by webhook and have no key of ours.
    idempotency_key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    amount = money_field()
    currency = models.CharField(max_length=3, validators=[currency_code_validator])
    reason = models.CharField(
        max_length=30, choices=Reason.choices, default=Reason.REQUESTED_BY_CUSTOMER
    )
    note = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    failure_reason = models.CharField(max_length=200, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive")
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} {self.currency} ({self.get_status_display().lower()})"


class Dispute(BusinessOwned, Timestamped):
    """A chargeback. Stripe opens it; we record it, alert the dispatcher and show the deadline."""

    payment_intent = models.ForeignKey(
        StripePaymentIntent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="disputes",
    )
    invoice = models.ForeignKey(
        Invoice, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    stripe_id = models.CharField(max_length=255, unique=True)
    charge_id = models.CharField(max_length=255, blank=True)
    amount = money_field()
    currency = models.CharField(max_length=3, validators=[currency_code_validator])
    reason = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=30, blank=True)
    evidence_due_by = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    status_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]

    def __str__(self) -> str:
        return f"Dispute {self.stripe_id} ({readable(self.status).lower()})"


class PaymentLink(BusinessOwned, Timestamped):
    """Text-to-pay / email-to-pay: a Stripe Payment Link for one invoice's balance.

    Payment Links do not expire (unlike Checkout Sessions' 24 h), so a reminder sent days later
    still opens. A new link replaces the old one when the balance changes.
    """

    connection = models.ForeignKey(
        IntegrationConnection, on_delete=models.PROTECT, related_name="+"
    )
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="stripe_links")
    idempotency_key = models.CharField(max_length=255, unique=True)
    stripe_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_price_id = models.CharField(max_length=255, blank=True)
    url = models.URLField(max_length=500, blank=True)
    amount = money_field()
    currency = models.CharField(max_length=3, validators=[currency_code_validator])
    active = models.BooleanField(default=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["invoice", "active"])]

    def __str__(self) -> str:
        return self.url or f"(pending) link for {self.invoice}"
