"""Customers, the places work happens, and the equipment installed there."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone

from apps.core.models import Customer, Equipment, ServiceLocation

from .base import TenantScopedAdmin, TenantStackedInline, TenantTabularInline

ADDRESS_FIELDS = ("address_line1", "address_line2", "city", "region", "postal_code", "country")


def e164(phone) -> str:
    return phone.as_e164 if phone else ""


class ServiceLocationInline(TenantStackedInline):
    model = ServiceLocation
    fields = (
        "label",
        *ADDRESS_FIELDS,
        ("latitude", "longitude"),
        "timezone",
        "access_notes",
    )
    show_change_link = True


@admin.register(Customer)
class CustomerAdmin(TenantScopedAdmin):
    list_display = (
        "display_name",
        "company_name",
        "phone_e164",
        "email",
        "city",
        "payment_terms",
        "sms_opt_in",
        "created_at",
    )
    list_filter = ("payment_terms", "sms_opt_in", "email_opt_in")
    search_fields = (
        "display_name",
        "company_name",
        "email",
        "phone",
        "address_line1",
        "city",
        "postal_code",
    )
    date_hierarchy = "created_at"
    readonly_fields = ("consent_updated_at",)
    inlines = (ServiceLocationInline,)
    fieldsets = (
        (None, {"fields": ("display_name", "company_name", "email", "phone", "payment_terms")}),
        ("Billing address", {"fields": ADDRESS_FIELDS}),
        ("Consent", {"fields": ("sms_opt_in", "email_opt_in", "consent_updated_at")}),
        ("Notes", {"fields": ("notes",)}),
    )

    @admin.display(description="phone", ordering="phone")
    def phone_e164(self, obj: Customer) -> str:
        return e164(obj.phone)

    def save_model(self, request, obj, form, change):
        # Texting law (TCPA) asks when consent was given or withdrawn; record it as it changes.
        if {"sms_opt_in", "email_opt_in"} & set(form.changed_data):
            obj.consent_updated_at = timezone.now()
        super().save_model(request, obj, form, change)


class EquipmentInline(TenantTabularInline):
    model = Equipment
    fields = ("kind", "manufacturer", "model_number", "serial_number", "refrigerant")
    show_change_link = True


@admin.register(ServiceLocation)
class ServiceLocationAdmin(TenantScopedAdmin):
    list_display = ("__str__", "label", "customer", "city", "postal_code", "timezone")
    search_fields = (
        "label",
        "address_line1",
        "city",
        "postal_code",
        "customer__display_name",
    )
    autocomplete_fields = ("customer",)
    list_select_related = ("customer",)
    inlines = (EquipmentInline,)
    fieldsets = (
        (None, {"fields": ("customer", "label")}),
        ("Address", {"fields": (*ADDRESS_FIELDS, ("latitude", "longitude"), "timezone")}),
        ("Access", {"fields": ("access_notes",)}),
    )


@admin.register(Equipment)
class EquipmentAdmin(TenantScopedAdmin):
    list_display = (
        "__str__",
        "kind",
        "serial_number",
        "refrigerant",
        "location",
        "install_date",
        "warranty_expires",
    )
    list_filter = ("kind", "refrigerant", "manufacturer")
    search_fields = (
        "manufacturer",
        "model_number",
        "serial_number",
        "location__address_line1",
        "location__customer__display_name",
    )
    autocomplete_fields = ("location",)
    list_select_related = ("location",)
    date_hierarchy = "install_date"
