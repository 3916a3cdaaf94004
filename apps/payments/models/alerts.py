from django.conf import settings
from django.db import models

from apps.core.models import BusinessOwned, Customer, Invoice


class PaymentAlert(BusinessOwned):
    """Something about money a dispatcher must act on: a bounced debit, a dispute, a dunning step."""

    class Kind(models.TextChoices):
        PAYMENT_FAILED = "payment_failed", "Payment failed"
        ACH_RETURNED = "ach_returned", "Bank debit failed or returned"
        DISPUTE_OPENED = "dispute_opened", "Dispute opened"
        DISPUTE_CLOSED = "dispute_closed", "Dispute closed"
        OVERPAYMENT = "overpayment", "Paid more than the balance"
        UNAPPLIED = "unapplied", "Payment could not be applied"
        AGREEMENT_PAYMENT_FAILED = "agreement_payment_failed", "Agreement payment failed"
        AGREEMENT_ENDED = "agreement_ended", "Agreement ended"
        REFUND_FAILED = "refund_failed", "Refund failed"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    message = models.TextField()
    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # One alert per cause: a redelivered or replayed event must not alert twice.
    dedupe_key = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["business", "acknowledged_at", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message[:60]}"
