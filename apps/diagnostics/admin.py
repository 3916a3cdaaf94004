"""Diagnostics screens: manual readings, instruments, charging data, findings with their
override log, and generated reports. Rows are tenant-scoped by TenantScopedAdmin."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import admin
from django.utils import timezone

from apps.core.admin.base import (
    ReadOnlyAdminMixin,
    ReadOnlyInlineMixin,
    TenantModelForm,
    TenantScopedAdmin,
)
from apps.diagnostics import units
from apps.diagnostics.models import (
    CaptureMethod,
    DiagnosticReport,
    EquipmentProfile,
    Finding,
    FindingOverride,
    Instrument,
    Reading,
)


class ReadingForm(TenantModelForm):
    class Meta:
        model = Reading
        fields = [
            "work_order",
            "equipment",
            "phase",
            "quantity",
            "value",
            "unit",
            "instrument_serial",
            "taken_at",
        ]

    def clean(self):
        data = super().clean()
        quantity, unit = data.get("quantity"), data.get("unit")
        if quantity and unit:
            try:
                units.check(quantity, unit)
            except units.UnitError as exc:
                self.add_error("unit", str(exc))
        wo, equipment = data.get("work_order"), data.get("equipment")
        if wo and equipment and equipment.location_id != wo.location_id:
            self.add_error("equipment", "That equipment is not at the work order's location.")
        taken = data.get("taken_at")
        if taken and taken > timezone.now() + timezone.timedelta(minutes=10):
            self.add_error("taken_at", "A reading cannot be taken in the future.")
        return data


@admin.register(Reading)
class ReadingAdmin(TenantScopedAdmin):
    """Typed-in readings are added here; captured and imported ones are shown read-only."""

    form = ReadingForm
    list_display = [
        "work_order",
        "phase",
        "quantity",
        "value",
        "unit",
        "capture_method",
        "instrument",
        "taken_at",
    ]
    list_filter = ["capture_method", "phase", "quantity"]
    search_fields = ["work_order__number", "instrument_serial"]
    raw_id_fields = ["work_order", "equipment"]
    date_hierarchy = "taken_at"

    def has_change_permission(self, request, obj=None):
        # A measurement is evidence: correct it by adding a new one, never by editing.
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.client_id = uuid.uuid4()
            obj.capture_method = CaptureMethod.MANUAL
            obj.entered_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Instrument)
class InstrumentAdmin(TenantScopedAdmin):
    list_display = ["family", "model", "serial", "firmware", "calibrated_on"]
    list_filter = ["family"]
    search_fields = ["serial", "model"]


@admin.register(EquipmentProfile)
class EquipmentProfileAdmin(TenantScopedAdmin):
    list_display = ["equipment", "metering", "target_subcool_f", "nominal_tons"]
    raw_id_fields = ["equipment"]


class OverrideInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = FindingOverride
    fk_name = "finding"
    fields = ["created_at", "by", "from_severity", "to_severity", "reason"]
    readonly_fields = fields


class OverrideForm(forms.ModelForm):
    class Meta:
        model = Finding
        fields = []


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = [
        "work_order",
        "phase",
        "rule_id",
        "rule_version",
        "severity",
        "override_severity",
        "equipment",
    ]
    list_filter = ["severity", "phase", "rule_id"]
    search_fields = ["work_order__number", "rule_id"]
    inlines = [OverrideInline]


@admin.register(DiagnosticReport)
class DiagnosticReportAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = ["work_order", "created_at", "generated_by", "rules_version"]
    search_fields = ["work_order__number"]
    exclude = ["html", "pdf"]
