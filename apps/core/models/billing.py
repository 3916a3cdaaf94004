from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models.functions import Round

from .base import BusinessOwned, Timestamped
from .business import currency_code_validator
from .customers import Customer
from .work_orders import WorkOrder

ZERO = Decimal("0.00")


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    PAID = "paid", "Paid"
    OVERDUE = "overdue", "Overdue"
    VOID = "void", "Void"


class Invoice(BusinessOwned, Timestamped):
    """Amounts are derived from the lines by services.billing.invoice_recalculate."""

    number = models.CharField(max_length=30, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    work_order = models.ForeignKey(
        WorkOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices"
    )
    status = models.CharField(
        max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT
    )
    currency = models.CharField(max_length=3, default="USD", validators=[currency_code_validator])
    issued_on = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    tax_rate = models.DecimalField(
        max_digits=6, decimal_places=4, default=ZERO, help_text="Percent, e.g. 8.2500"
    )
    subtotal = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO, editable=False)
    tax = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO, editable=False)
    total = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO, editable=False)
    amount_paid = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO, editable=False)
    memo = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["business", "number"], name="invoice_number_unique"),
            # Rounded to cents: SQLite keeps decimals as binary floats, where 173.45 + 12.35 is
            # 185.79999999999998, and an exact comparison would refuse a correct invoice.
            models.CheckConstraint(
                condition=models.Q(total=Round(models.F("subtotal") + models.F("tax"), 2)),
                name="invoice_total_is_subtotal_plus_tax",
            ),
            models.CheckConstraint(
                condition=models.Q(subtotal__gte=0, tax__gte=0, amount_paid__gte=0),
                name="invoice_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(due_date__isnull=True)
                | models.Q(issued_on__isnull=True)
                | models.Q(due_date__gte=models.F("issued_on")),
                name="invoice_due_after_issue",
            ),
        ]
        indexes = [models.Index(fields=["business", "status", "due_date"])]

    def __str__(self) -> str:
        return self.number

    @property
    def balance_due(self) -> Decimal:
        return max(self.total - self.amount_paid, ZERO)


class PaymentMethod(models.TextChoices):
    CARD = "card", "Card"
    ACH = "ach", "ACH bank debit"
    CHECK = "check", "Check"
    CASH = "cash", "Cash"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"


class Payment(BusinessOwned, Timestamped):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payments")
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD", validators=[currency_code_validator])
    method = models.CharField(max_length=20, choices=PaymentMethod.choices)
    received_at = models.DateTimeField()
    reference = models.CharField(
        max_length=100, blank=True, help_text="Check number, card last 4..."
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} ({self.get_method_display()})"


class Refund(BusinessOwned, Timestamped):
    """Money returned on a payment, from any source (Stripe, cash, check).

    An invoice's amount_paid is its payments minus these, so a refund reopens a paid invoice.
    """

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    # Always the payment's invoice, copied so invoice totals need no join through payments.
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds"
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD", validators=[currency_code_validator])
    refunded_at = models.DateTimeField()
    reason = models.TextField(blank=True)
    reference = models.CharField(
        max_length=100, blank=True, help_text="Stripe refund id (re_...), check number..."
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-refunded_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="core_refund_amount_positive"
            ),
            # A webhook delivered twice must not refund twice.
            models.UniqueConstraint(
                fields=["business", "reference"],
                condition=~models.Q(reference=""),
                name="core_refund_reference_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} {self.currency}"
