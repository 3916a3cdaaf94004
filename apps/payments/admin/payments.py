"""Stripe payments, refunds, disputes, links and alerts for dispatchers.

Payments are mirrored from Stripe and never edited here. A refund is added like any row: pick the
payment, the amount (blank = everything refundable) and the reason; saving calls refund_create,
and a refusal by Stripe comes back as a form error with nothing stored.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from apps.core.admin.base import (
    ReadOnlyAdminMixin,
    ReadOnlyInlineMixin,
    ServiceRefusal,
    TenantModelForm,
    TenantScopedAdmin,
    TenantTabularInline,
)
from apps.core.admin.display import BLUE, GRAY, GREEN, ORANGE, RED, badge
from apps.core.errors import DomainError
from apps.integrations.errors import ProviderError
from apps.payments.models import (
    Dispute,
    IntentStatus,
    PaymentAlert,
    PaymentLink,
    Refund,
    SavedPaymentMethod,
    StripePaymentIntent,
)
from apps.payments.services.alerts import payment_alert_acknowledge
from apps.payments.services.links import payment_link_deactivate
from apps.payments.services.refunds import refund_create

INTENT_COLORS = {
    IntentStatus.SUCCEEDED: GREEN,
    IntentStatus.PROCESSING: ORANGE,
    IntentStatus.REQUIRES_CAPTURE: BLUE,
    IntentStatus.CANCELED: GRAY,
}


class RefundInline(ReadOnlyInlineMixin, TenantTabularInline):
    model = Refund
    fields = ("created_at", "amount", "reason", "status", "stripe_id", "requested_by")
    readonly_fields = fields


@admin.register(StripePaymentIntent)
class StripePaymentIntentAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = (
        "created_at",
        "invoice",
        "customer",
        "status_badge",
        "amount",
        "amount_received",
        "currency",
        "method",
        "capture_method",
        "source",
        "stripe_id",
    )
    list_filter = ("status", "method", "capture_method", "source")
    search_fields = ("stripe_id", "invoice__number", "customer__display_name")
    list_select_related = ("invoice", "customer")
    date_hierarchy = "created_at"
    readonly_fields = (
        "invoice",
        "customer",
        "status_badge",
        "amount",
        "amount_received",
        "unapplied_amount",
        "currency",
        "method",
        "capture_method",
        "payment_method_types",
        "source",
        "stripe_id",
        "charge_id",
        "idempotency_key",
        "failure_message",
        "payment",
        "status_at",
        "receipt_sent_at",
        "created_by",
    )
    fields = readonly_fields
    inlines = (RefundInline,)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: StripePaymentIntent):
        color = (
            RED
            if obj.failure_message and obj.status == IntentStatus.REQUIRES_PAYMENT_METHOD
            else GRAY
        )
        return badge(obj.get_status_display(), INTENT_COLORS.get(obj.status, color))


class RefundForm(TenantModelForm):
    class Meta:
        model = Refund
        fields = ("payment_intent", "amount", "reason", "note")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "amount" in self.fields:
            self.fields["amount"].required = False
            self.fields["amount"].help_text = "Blank refunds everything still refundable."
        if "payment_intent" in self.fields:
            self.fields["payment_intent"].queryset = self.fields["payment_intent"].queryset.filter(
                status=IntentStatus.SUCCEEDED
            )

    def clean_amount(self):
        amount = self.cleaned_data.get("amount")
        if amount is not None and amount <= 0:
            raise forms.ValidationError("A refund must be greater than zero.")
        return amount


@admin.register(Refund)
class RefundAdmin(TenantScopedAdmin):
    form = RefundForm
    pick_business = False  # a refund belongs to its payment's business
    list_display = (
        "created_at",
        "payment_intent",
        "amount",
        "currency",
        "reason",
        "status",
        "requested_by",
    )
    list_filter = ("status", "reason")
    search_fields = ("stripe_id", "payment_intent__stripe_id", "payment_intent__invoice__number")
    list_select_related = ("payment_intent", "requested_by")
    fields = ("payment_intent", "amount", "reason", "note")

    def get_fields(self, request, obj=None):
        if obj is None:
            return list(self.fields)
        return [
            "payment_intent",
            "amount",
            "currency",
            "reason",
            "note",
            "status",
            "stripe_id",
            "failure_reason",
            "requested_by",
        ]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj is not None else []

    def get_exclude(self, request, obj=None):
        return ["business"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            refund = refund_create(
                intent=data["payment_intent"],
                amount=data.get("amount"),
                reason=data["reason"],
                note=data.get("note", ""),
                by=request.user,
            )
        except DomainError as exc:
            raise ServiceRefusal(exc, field="amount" if exc.field == "amount" else None) from exc
        except ProviderError as exc:
            raise ServiceRefusal(DomainError(f"Stripe could not refund now: {exc}")) from exc
        for field in Refund._meta.concrete_fields:
            setattr(obj, field.attname, getattr(refund, field.attname))
        obj._state.adding, obj._state.db = False, refund._state.db


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = (
        "opened_at",
        "invoice",
        "amount",
        "currency",
        "reason",
        "status_badge",
        "evidence_due_by",
    )
    list_filter = ("status", "reason")
    search_fields = ("stripe_id", "charge_id", "invoice__number")
    list_select_related = ("invoice",)
    fields = (
        "invoice",
        "payment_intent",
        "stripe_id",
        "charge_id",
        "amount",
        "currency",
        "reason",
        "status",
        "evidence_due_by",
        "opened_at",
        "closed_at",
    )
    readonly_fields = fields

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: Dispute):
        color = {"won": GREEN, "lost": RED, "needs_response": ORANGE}.get(obj.status, BLUE)
        return badge(obj.status.replace("_", " ") or "?", color)


@admin.register(PaymentLink)
class PaymentLinkAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = ("created_at", "invoice", "amount", "currency", "active", "completed_at", "url")
    list_filter = ("active",)
    search_fields = ("invoice__number", "stripe_id")
    fields = (
        "invoice",
        "url",
        "amount",
        "currency",
        "active",
        "stripe_id",
        "completed_at",
        "deactivated_at",
    )
    readonly_fields = fields
    actions = ("deactivate",)

    @admin.action(description="Deactivate the selected links", permissions=["view"])
    def deactivate(self, request, queryset):
        done = 0
        for link in queryset.filter(active=True):
            try:
                payment_link_deactivate(link=link)
                done += 1
            except ProviderError as exc:
                self.message_user(request, f"{link}: {exc}", messages.ERROR)
        self.message_user(request, f"Deactivated {done} link(s).", messages.SUCCESS)


@admin.register(PaymentAlert)
class PaymentAlertAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = ("created_at", "kind", "message", "invoice", "customer", "acknowledged_at")
    list_filter = ("kind", ("acknowledged_at", admin.EmptyFieldListFilter))
    search_fields = ("message", "invoice__number", "customer__display_name")
    fields = (
        "kind",
        "message",
        "invoice",
        "customer",
        "created_at",
        "acknowledged_at",
        "acknowledged_by",
    )
    readonly_fields = fields
    actions = ("acknowledge",)

    @admin.action(description="Mark as handled", permissions=["view"])
    def acknowledge(self, request, queryset):
        for alert in queryset.filter(acknowledged_at__isnull=True):
            payment_alert_acknowledge(alert=alert, by=request.user)
        self.message_user(request, "Marked as handled.", messages.SUCCESS)


@admin.register(SavedPaymentMethod)
class SavedPaymentMethodAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = ("customer", "__str__", "type", "exp_month", "exp_year", "detached_at")
    list_filter = ("type",)
    search_fields = ("customer__display_name", "last4")
    fields = (
        "customer",
        "type",
        "brand",
        "bank_name",
        "last4",
        "exp_month",
        "exp_year",
        "stripe_id",
        "detached_at",
    )
    readonly_fields = fields
