"""Diagnostics screens: manual readings, instruments, charging data, findings with their
override log, and generated reports. Rows are tenant-scoped by TenantScopedAdmin."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import admin, messages
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from apps.core.admin.base import (
    ReadOnlyAdminMixin,
    ReadOnlyInlineMixin,
    TenantModelForm,
    TenantScopedAdmin,
)
from apps.core.errors import DomainError
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
from apps.diagnostics.services.report_email import report_email


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


class ReportEmailForm(forms.Form):
    to = forms.EmailField(label="Send to", help_text="The customer's address unless changed.")


@admin.register(DiagnosticReport)
class DiagnosticReportAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    """Stored reports (what the customer received). Emailed from here through comms."""

    list_display = ["work_order", "created_at", "generated_by", "rules_version"]
    search_fields = ["work_order__number"]
    exclude = ["html", "pdf"]
    actions = ["email_to_customer"]
    change_form_template = "admin/diagnostics/diagnosticreport/change_form.html"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/email/", wrap(self.email_view), name="diagnostics_report_email"),
            *super().get_urls(),
        ]

    def _send(self, request, report, to: str = "") -> bool:
        wo = report.work_order
        try:
            sent = report_email(work_order=wo, report=report, by=request.user, to=to)
        except DomainError as exc:
            self.message_user(request, f"{wo.number}: {exc.message}", messages.ERROR)
            return False
        log = sent.log
        if log.status == "failed":
            text = f"{wo.number}: not sent ({log.error_message})"
            self.message_user(request, text, messages.ERROR)
            return False
        verb = "was already sent" if sent.already_sent else "sent"
        self.message_user(request, f"{wo.number}: report {verb} to {log.recipient}.")
        return True

    @admin.action(description="Email the report to the customer", permissions=["view"])
    def email_to_customer(self, request, queryset):
        for report in queryset.select_related("work_order__customer", "work_order__business"):
            self._send(request, report)

    def email_view(self, request, pk: int):
        report = self.get_queryset(request).select_related("work_order__customer").filter(pk=pk)
        report = report.first()
        if report is None or not self.has_view_permission(request, report):
            raise Http404("No such report.")
        initial = {"to": report.work_order.customer.email}
        form = ReportEmailForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            self._send(request, report, form.cleaned_data["to"])
            return redirect("admin:diagnostics_diagnosticreport_change", report.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Email diagnostic report {report.work_order.number}",
            "form": form,
            "report": report,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/diagnostics/report_email.html", context)
