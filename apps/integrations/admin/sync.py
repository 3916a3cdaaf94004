"""Sync runs, the records that failed in them, and the ids our rows have at the vendors."""

from __future__ import annotations

from django.contrib import admin, messages

from apps.core.admin.base import (
    ReadOnlyAdminMixin,
    ReadOnlyInlineMixin,
    TenantScopedAdmin,
    TenantTabularInline,
)
from apps.core.admin.display import BLUE, GRAY, GREEN, ORANGE, RED, badge
from apps.core.errors import DomainError
from apps.integrations.models import ExternalRef, SyncLog, SyncRecordError

SYNC_COLORS = {
    SyncLog.Status.QUEUED: GRAY,
    SyncLog.Status.RUNNING: BLUE,
    SyncLog.Status.SUCCEEDED: GREEN,
    SyncLog.Status.PARTIAL: ORANGE,
    SyncLog.Status.FAILED: RED,
}
ERROR_COLORS = {
    SyncRecordError.Status.OPEN: RED,
    SyncRecordError.Status.RETRIED: BLUE,
    SyncRecordError.Status.DISMISSED: GRAY,
}


class SyncRecordErrorInline(ReadOnlyInlineMixin, TenantTabularInline):
    model = SyncRecordError
    fields = ("record_label", "record_type", "record_id", "message", "vendor_code", "status")
    readonly_fields = fields


@admin.register(SyncLog)
class SyncLogAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = (
        "sync_type",
        "connection",
        "direction",
        "trigger",
        "status_badge",
        "processed",
        "succeeded",
        "failed",
        "queued_at",
        "duration_ms",
    )
    list_filter = ("status", "trigger", "direction", "connection")
    search_fields = ("sync_type", "message", "connection__name")
    date_hierarchy = "queued_at"
    list_select_related = ("connection",)
    inlines = (SyncRecordErrorInline,)
    fields = (
        "connection",
        ("sync_type", "direction", "trigger"),
        "status_badge",
        ("processed", "succeeded", "failed"),
        "message",
        ("queued_at", "started_at", "completed_at", "duration_ms"),
    )
    readonly_fields = ("status_badge", "queued_at")

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: SyncLog):
        return badge(obj.get_status_display(), SYNC_COLORS.get(obj.status, GRAY))


@admin.register(SyncRecordError)
class SyncRecordErrorAdmin(TenantScopedAdmin):
    """Read-only rows; a bookkeeper resolves them with the dismiss and retry actions."""

    list_display = (
        "__str__",
        "record_type",
        "vendor_code",
        "status_badge",
        "sync_log",
        "created_at",
        "resolved_at",
    )
    list_filter = ("status", "record_type", "sync_log__connection")
    search_fields = ("record_label", "record_id", "message", "vendor_code")
    date_hierarchy = "created_at"
    list_select_related = ("sync_log__connection",)
    fields = (
        "sync_log",
        ("record_type", "record_id", "record_label"),
        "message",
        "vendor_code",
        "status_badge",
        ("created_at", "resolved_at"),
    )
    readonly_fields = ("status_badge", "created_at")
    actions = ("dismiss", "retry")

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: SyncRecordError):
        return badge(obj.get_status_display(), ERROR_COLORS.get(obj.status, GRAY))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # The change permission allows the actions; no field of a stored error is edited by hand.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def _open_only(self, request, queryset):
        open_errors = list(queryset.filter(status=SyncRecordError.Status.OPEN))
        skipped = queryset.count() - len(open_errors)
        if skipped:
            self.message_user(
                request, f"Skipped {skipped} error(s) already resolved.", messages.WARNING
            )
        return open_errors

    @admin.action(description="Dismiss selected errors", permissions=["change"])
    def dismiss(self, request, queryset):
        from apps.integrations.services import sync_record_error_dismiss

        errors = self._open_only(request, queryset)
        for record_error in errors:
            sync_record_error_dismiss(record_error=record_error)
        if errors:
            self.message_user(request, f"Dismissed {len(errors)} error(s).", messages.SUCCESS)

    @admin.action(description="Retry selected errors", permissions=["change"])
    def retry(self, request, queryset):
        from apps.integrations.services import sync_record_error_retry

        retried = 0
        for record_error in self._open_only(request, queryset):
            try:
                sync_record_error_retry(record_error=record_error)
            except DomainError as exc:
                self.message_user(request, f"{record_error}: {exc.message}", messages.ERROR)
            else:
                retried += 1
        if retried:
            self.message_user(
                request, f"Queued a new sync for {retried} error(s).", messages.SUCCESS
            )


@admin.register(ExternalRef)
class ExternalRefAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = (
        "__str__",
        "connection",
        "remote_id",
        "remote_version",
        "remote_updated_at",
        "last_synced_at",
    )
    list_filter = ("connection", "content_type")
    search_fields = ("object_id", "remote_id")
    list_select_related = ("connection", "content_type")
