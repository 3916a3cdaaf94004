from django.db import models

from apps.core.models import BusinessOwned, Customer, Timestamped
from apps.integrations.models import IntegrationConnection


class StripeCustomer(BusinessOwned, Timestamped):
    """Our customer's twin in one Stripe account (saved cards, subscriptions and receipts hang off it)."""

    connection = models.ForeignKey(
        IntegrationConnection, on_delete=models.PROTECT, related_name="+"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    stripe_id = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=255, unique=True)

    class Meta:
        verbose_name = "Stripe customer"
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "customer"], name="stripe_customer_once_per_account"
            )
        ]

    def __str__(self) -> str:
        return self.stripe_id or f"(pending) {self.customer}"


class SavedPaymentMethod(BusinessOwned, Timestamped):
    """A card or bank account the customer let us keep, for returning visits and agreements."""

    class Type(models.TextChoices):
        CARD = "card", "Card"
        US_BANK_ACCOUNT = "us_bank_account", "US bank account (ACH)"
        OTHER = "other", "Other"

    stripe_customer = models.ForeignKey(
        StripeCustomer, on_delete=models.CASCADE, related_name="payment_methods"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    stripe_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=20, choices=Type.choices)
    brand = models.CharField(max_length=30, blank=True)
    bank_name = models.CharField(max_length=100, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    detached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        label = self.brand or self.bank_name or self.get_type_display()
        return f"{label} ••••{self.last4}" if self.last4 else label
