"""Maintenance plans and agreements. Enrolling and changing plan go through the services, so the
Stripe subscription and the row never disagree; the status is Stripe's and not editable."""

from __future__ import annotations

from django.contrib import admin, messages

from apps.core.admin.base import (
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
    AgreementPeriod,
    AgreementStatus,
    MaintenanceAgreement,
    MaintenancePlan,
    SavedPaymentMethod,
)
from apps.payments.services.agreements import (
    agreement_cancel,
    agreement_change_plan,
    agreement_enroll,
)

AGREEMENT_COLORS = {
    AgreementStatus.ACTIVE: GREEN,
    AgreementStatus.TRIALING: GREEN,
    AgreementStatus.INCOMPLETE: BLUE,
    AgreementStatus.PAST_DUE: ORANGE,
    AgreementStatus.UNPAID: RED,
    AgreementStatus.CANCELED: GRAY,
    AgreementStatus.INCOMPLETE_EXPIRED: GRAY,
}


@admin.register(MaintenancePlan)
class MaintenancePlanAdmin(TenantScopedAdmin):
    list_display = (
        "name",
        "interval",
        "price",
        "currency",
        "visits_per_period",
        "category",
        "active",
    )
    list_filter = ("interval", "active")
    search_fields = ("name",)
    fields = (
        "name",
        "description",
        "interval",
        "price",
        "currency",
        "visits_per_period",
        "category",
        "active",
    )


class PeriodInline(ReadOnlyInlineMixin, TenantTabularInline):
    model = AgreementPeriod
    fields = (
        "period_start",
        "period_end",
        "status",
        "amount_due",
        "amount_paid",
        "attempt_count",
        "next_payment_attempt",
        "visits_created_at",
    )
    readonly_fields = fields


class AgreementForm(TenantModelForm):
    class Meta:
        model = MaintenanceAgreement
        fields = ("customer", "location", "plan")


@admin.register(MaintenanceAgreement)
class MaintenanceAgreementAdmin(TenantScopedAdmin):
    form = AgreementForm
    pick_business = False  # the customer's business
    list_display = (
        "customer",
        "plan",
        "status_badge",
        "current_period_end",
        "cancel_at_period_end",
    )
    list_filter = ("status", "plan")
    search_fields = ("customer__display_name", "stripe_subscription_id")
    list_select_related = ("customer", "plan")
    autocomplete_fields = ("customer",)
    inlines = (PeriodInline,)
    actions = ("cancel_at_period_end_action", "cancel_now_action")

    def get_inlines(self, request, obj=None):
        return self.inlines if obj is not None else ()

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["customer", "location", "plan", "saved_payment_method"]
        return [
            "customer",
            "location",
            "plan",
            "status_badge",
            "current_period_start",
            "current_period_end",
            "cancel_at_period_end",
            "canceled_at",
            "first_invoice_url",
            "stripe_subscription_id",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            "customer",
            "location",
            "status_badge",
            "current_period_start",
            "current_period_end",
            "cancel_at_period_end",
            "canceled_at",
            "first_invoice_url",
            "stripe_subscription_id",
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["fields"] = ["customer", "location", "plan"]
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            from django import forms

            business = getattr(request.user, "business", None)
            methods = SavedPaymentMethod.objects.filter(detached_at__isnull=True)
            if business is not None:
                methods = methods.filter(business=business)
            form.base_fields["saved_payment_method"] = forms.ModelChoiceField(
                queryset=methods,
                required=False,
                help_text="Charge the first period to a card or bank account on file. Blank: the "
                "customer pays the first invoice from its link.",
            )
        return form

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: MaintenanceAgreement):
        return badge(obj.get_status_display(), AGREEMENT_COLORS.get(obj.status, GRAY))

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if not change:
                agreement = agreement_enroll(
                    customer=data["customer"],
                    plan=data["plan"],
                    location=data.get("location"),
                    payment_method=data.get("saved_payment_method"),
                    by=request.user,
                )
            elif "plan" in form.changed_data:
                agreement = agreement_change_plan(
                    agreement=MaintenanceAgreement.objects.get(pk=obj.pk),
                    plan=data["plan"],
                    by=request.user,
                )
            else:
                return super().save_model(request, obj, form, change)
        except DomainError as exc:
            raise ServiceRefusal(exc) from exc
        except ProviderError as exc:
            raise ServiceRefusal(DomainError(f"Stripe could not do that now: {exc}")) from exc
        for field in MaintenanceAgreement._meta.concrete_fields:
            setattr(obj, field.attname, getattr(agreement, field.attname))
        obj._state.adding, obj._state.db = False, agreement._state.db

    def _cancel(self, request, queryset, *, at_period_end: bool) -> None:
        for agreement in queryset:
            try:
                agreement_cancel(agreement=agreement, at_period_end=at_period_end, by=request.user)
            except (DomainError, ProviderError) as exc:
                self.message_user(request, f"{agreement}: {exc}", messages.ERROR)
        self.message_user(request, "Cancellation sent to Stripe.", messages.SUCCESS)

    @admin.action(description="Cancel at the end of the paid period", permissions=["change"])
    def cancel_at_period_end_action(self, request, queryset):
        self._cancel(request, queryset, at_period_end=True)

    @admin.action(description="Cancel now", permissions=["change"])
    def cancel_now_action(self, request, queryset):
        self._cancel(request, queryset, at_period_end=False)
