"""Invoices and payments. Amounts are derived by the billing services, never typed in."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from apps.core.errors import DomainError
from apps.core.models import Invoice, InvoiceStatus, LineItem, Payment, Refund
from apps.core.services.billing import invoice_recalculate, invoice_terms_update, payment_record
from apps.core.timezones import format_local

from .base import (
    ReadOnlyInlineMixin,
    ServiceRefusal,
    TenantModelForm,
    TenantScopedAdmin,
    TenantTabularInline,
)
from .billing_flows import InvoiceFlowsMixin, PaymentRefundMixin, invoice_is_settled
from .display import BLUE, GRAY, GREEN, ORANGE, RED, badge

INVOICE_COLORS = {
    InvoiceStatus.DRAFT: GRAY,
    InvoiceStatus.OPEN: BLUE,
    InvoiceStatus.PAID: GREEN,
    InvoiceStatus.OVERDUE: ORANGE,
    InvoiceStatus.VOID: RED,
}
TOTAL_FIELDS = ("subtotal", "tax", "total", "amount_paid", "balance_due")
TERM_FIELDS = ("issued_on", "due_date", "tax_rate", "memo")


class InvoiceLineInline(ReadOnlyInlineMixin, TenantTabularInline):
    model = LineItem
    fk_name = "invoice"
    fields = ("kind", "description", "quantity", "unit_price", "taxable", "amount")
    readonly_fields = fields
    verbose_name_plural = "lines"


class InvoicePaymentInline(ReadOnlyInlineMixin, TenantTabularInline):
    model = Payment
    fields = ("received_at", "amount", "method", "reference", "recorded_by", "refund_link")
    readonly_fields = fields

    refund_link = PaymentRefundMixin.refund_link


class RefundInline(ReadOnlyInlineMixin, TenantTabularInline):
    """Refunds are recorded through payment_refund_record ("Record refund" on a payment)."""

    model = Refund
    fields = ("refunded_at", "amount", "currency", "reason", "reference", "recorded_by")
    readonly_fields = fields


@admin.register(Invoice)
class InvoiceAdmin(InvoiceFlowsMixin, TenantScopedAdmin):
    """Invoices are created from completed work orders (the work order list has the action).

    Issue and void are list actions; refunds are recorded on a payment (link in the payments).
    """

    list_display = (
        "number",
        "customer",
        "status_badge",
        "total",
        "amount_paid",
        "balance_due",
        "issued_on",
        "due_date",
    )
    list_filter = ("status", "currency")
    search_fields = ("number", "customer__display_name", "work_order__number")
    date_hierarchy = "issued_on"
    list_select_related = ("customer",)
    readonly_fields = (
        "number",
        "customer",
        "work_order",
        "status_badge",
        "currency",
        *TOTAL_FIELDS,
        "refund_list",
    )
    fieldsets = (
        (None, {"fields": ("number", "customer", "work_order", "status_badge")}),
        ("Terms", {"fields": ("issued_on", "due_date", "tax_rate", "memo")}),
        ("Totals", {"fields": ("currency", *TOTAL_FIELDS, "refund_list")}),
    )
    inlines = (InvoiceLineInline, InvoicePaymentInline)
    actions = ("issue_invoices", "void_invoices", "recalculate_totals")

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: Invoice):
        return badge(obj.get_status_display(), INVOICE_COLORS.get(obj.status, GRAY))

    # A field, not an inline: an inline would add a formset every invoice form post must carry.
    @admin.display(description="refunds")
    def refund_list(self, obj: Invoice):
        refunds = list(obj.refunds.select_related("payment").order_by("refunded_at", "pk"))
        if not refunds:
            return "-"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    format_local(r.refunded_at),
                    r.amount,
                    r.currency,
                    r.payment,
                    r.reference,
                    r.reason,
                )
                for r in refunds
            ),
        )
        return format_html(
            '<table class="refunds"><tr><th>when</th><th>amount</th><th>payment</th>'
            "<th>reference</th><th>reason</th></tr>{}</table>",
            rows,
        )

    @admin.display(description="balance due")
    def balance_due(self, obj: Invoice) -> Decimal:
        return obj.balance_due

    def has_add_permission(self, request):
        return False

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        if invoice_is_settled(obj):
            # The money on a paid or void invoice was settled against these terms.
            return [*readonly, *TERM_FIELDS]
        return readonly

    def save_model(self, request, obj, form, change):
        changed = {
            name: form.cleaned_data[name] for name in TERM_FIELDS if name in form.changed_data
        }
        if not changed:
            return
        try:
            invoice_terms_update(invoice=obj, by=request.user, **changed)
        except DomainError as exc:
            raise ServiceRefusal(exc) from exc

    @admin.action(description="Recalculate totals", permissions=["change"])
    def recalculate_totals(self, request, queryset):
        count = 0
        for invoice in queryset:
            invoice_recalculate(invoice=invoice)
            count += 1
        self.message_user(request, f"Recalculated {count} invoice(s).", messages.SUCCESS)


class PaymentForm(TenantModelForm):
    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount is not None and amount <= 0:
            raise forms.ValidationError("A payment must be greater than zero.")
        return amount


@admin.register(Payment)
class PaymentAdmin(PaymentRefundMixin, TenantScopedAdmin):
    """Payments are recorded through payment_record and never edited afterwards; money going
    back is a Refund, recorded from the payment's "Record refund" page."""

    form = PaymentForm
    pick_business = False  # a payment belongs to its invoice's business
    list_display = (
        "received_at",
        "amount",
        "currency",
        "method",
        "invoice",
        "customer",
        "reference",
        "recorded_by",
    )
    list_filter = ("method", "currency")
    search_fields = ("invoice__number", "customer__display_name", "reference")
    date_hierarchy = "received_at"
    list_select_related = ("invoice", "customer", "recorded_by")
    autocomplete_fields = ("invoice",)
    fields = ("invoice", "amount", "method", "received_at", "reference")
    readonly_fields = ("customer", "currency", "recorded_by", "refund_link")
    inlines = (RefundInline,)

    def get_urls(self):
        return [*self.refund_urls(), *super().get_urls()]

    def get_inlines(self, request, obj=None):
        return self.inlines if obj is not None else ()

    def get_fields(self, request, obj=None):
        if obj is None:
            return list(self.fields)
        return [
            "invoice",
            "customer",
            "amount",
            "currency",
            "method",
            "received_at",
            "reference",
            "recorded_by",
            "refund_link",
        ]

    def get_changeform_initial_data(self, request):
        return {"received_at": timezone.now(), **super().get_changeform_initial_data(request)}

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            payment = payment_record(
                invoice=data["invoice"],
                amount=data["amount"],
                method=data["method"],
                received_at=data.get("received_at"),
                reference=data.get("reference", ""),
                by=request.user,
            )
        except DomainError as exc:
            raise ServiceRefusal(exc) from exc
        for field in Payment._meta.concrete_fields:
            setattr(obj, field.attname, getattr(payment, field.attname))
        obj._state.adding, obj._state.db = False, payment._state.db
