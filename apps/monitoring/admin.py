"""Monitoring back office: per-business settings, alert history with every message sent, weekly
report deliveries; worker heartbeats for platform operators."""

from __future__ import annotations

from django.contrib import admin

from apps.core.admin.base import (
    ReadOnlyAdminMixin,
    ReadOnlyInlineMixin,
    TenantScopedAdmin,
    TenantTabularInline,
)
from apps.core.admin.display import GRAY, GREEN, ORANGE, RED, badge
from apps.monitoring.models import (
    Alert,
    AlertNotification,
    Heartbeat,
    MonitoringSettings,
    WeeklyReportDelivery,
)

SEVERITY_COLORS = {Alert.Severity.CRITICAL: RED, Alert.Severity.WARNING: ORANGE}
DELIVERY_COLORS = {"pending": GRAY, "sent": GREEN, "failed": RED}


@admin.register(MonitoringSettings)
class MonitoringSettingsAdmin(TenantScopedAdmin):
    list_display = (
        "__str__",
        "stale_after_minutes",
        "degraded_error_threshold",
        "slack_connection",
    )
    fieldsets = (
        (
            "Health rules",
            {
                "fields": (
                    "stale_after_minutes",
                    "degraded_error_threshold",
                    "healthy_success_rate",
                    "sync_silence_hours",
                )
            },
        ),
        (
            "Alerts",
            {
                "fields": (
                    "alert_reminder_minutes",
                    "slack_connection",
                    "email_alerts",
                    "alert_emails",
                )
            },
        ),
        ("Weekly report", {"fields": ("weekly_report", "weekly_report_hour")}),
    )


class AlertNotificationInline(ReadOnlyInlineMixin, TenantTabularInline):
    model = AlertNotification
    fields = ("created_at", "event", "channel", "status", "recipients", "attempts", "error")
    readonly_fields = fields
    show_change_link = False


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = (
        "title",
        "kind",
        "severity_badge",
        "state",
        "opened_at",
        "resolved_at",
        "reminders_sent",
    )
    list_filter = ("kind", "severity", ("resolved_at", admin.EmptyFieldListFilter), "connection")
    search_fields = ("title", "message", "key")
    date_hierarchy = "opened_at"
    list_select_related = ("connection",)
    inlines = (AlertNotificationInline,)
    fields = (
        "title",
        "message",
        ("kind", "severity_badge", "state"),
        "connection",
        ("opened_at", "last_seen_at", "resolved_at"),
        ("last_notified_at", "reminders_sent"),
        "key",
    )
    readonly_fields = (*fields[:2], "kind", "severity_badge", "state", "connection", "key")

    @admin.display(description="severity", ordering="severity")
    def severity_badge(self, obj: Alert):
        return badge(obj.get_severity_display(), SEVERITY_COLORS.get(obj.severity, GRAY))

    @admin.display(description="state", ordering="resolved_at")
    def state(self, obj: Alert):
        return badge("Open", RED) if obj.is_open else badge("Resolved", GREEN)


@admin.register(WeeklyReportDelivery)
class WeeklyReportDeliveryAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = ("week_start", "status_badge", "recipients", "attempts", "sent_at")
    fields = ("week_start", "status_badge", "recipients", "attempts", "error", "sent_at")
    readonly_fields = fields

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: WeeklyReportDelivery):
        return badge(obj.get_status_display(), DELIVERY_COLORS.get(obj.status, GRAY))


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("component", "beat_at", "detail")
