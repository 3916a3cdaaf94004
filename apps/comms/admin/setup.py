"""Senders, settings (quiet hours, help text, links), consent, suppressions and the outbox."""

from __future__ import annotations

from django.contrib import admin, messages

from apps.comms.models import (
    CommsSettings,
    ConsentEvent,
    ConsentRecord,
    EmailSuppression,
    ScheduledMessage,
    SenderNumber,
)
from apps.core.admin.base import TenantScopedAdmin


@admin.register(SenderNumber)
class SenderNumberAdmin(TenantScopedAdmin):
    list_display = ("phone", "role", "technician", "messages_per_second", "active")
    list_filter = ("role", "active")
    search_fields = ("phone",)


@admin.register(CommsSettings)
class CommsSettingsAdmin(TenantScopedAdmin):
    list_display = ("business", "send_window_start", "send_window_end", "max_payment_reminders")


class ConsentEventInline(admin.TabularInline):
    model = ConsentEvent
    extra = 0
    can_delete = False
    fields = ("occurred_at", "status", "source", "detail", "sender", "message_sid")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ConsentRecord)
class ConsentRecordAdmin(TenantScopedAdmin):
    list_display = ("phone", "status", "undeliverable_code", "updated_at")
    list_filter = ("status",)
    search_fields = ("phone",)
    readonly_fields = ("phone", "status", "undeliverable_code")
    inlines = [ConsentEventInline]

    def has_add_permission(self, request):
        return False  # consent comes from the customer (keywords, forms), not typed in


@admin.register(EmailSuppression)
class EmailSuppressionAdmin(TenantScopedAdmin):
    list_display = ("email", "reason", "created_at")
    search_fields = ("email",)


@admin.register(ScheduledMessage)
class ScheduledMessageAdmin(TenantScopedAdmin):
    list_display = ("due_at", "kind", "channel", "audience", "status", "reason", "work_order")
    list_filter = ("status", "kind", "channel")
    search_fields = ("dedupe_key", "work_order__number")
    readonly_fields = [f.name for f in ScheduledMessage._meta.fields if f.name != "business"]
    actions = ["cancel"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Cancel selected pending messages")
    def cancel(self, request, queryset):
        done = queryset.filter(status="pending").update(
            status="cancelled", reason="cancelled by staff"
        )
        messages.success(request, f"Cancelled {done} message(s).")
