"""Accounting screens: connect QuickBooks/Xero, the outbox of owed writes, the overwrite audit.

Connections themselves (credentials, account mappings, schedules) are edited on the framework's
connection page; this adds the OAuth connect button and what only accounting knows. Access
follows the integrations permissions the office roles already hold, so no new grants are needed.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from apps.accounting.models import AccountingConnection, AccountingWrite, OverwriteAudit
from apps.core.admin.base import ReadOnlyAdminMixin, TenantScopedAdmin
from apps.core.admin.display import BLUE, GRAY, GREEN, ORANGE, RED, badge
from apps.core.errors import DomainError
from apps.integrations.models import ConnectionStatus, SyncLog
from apps.integrations.redaction import redact

STATUS_COLORS = {
    ConnectionStatus.CONNECTED: GREEN,
    ConnectionStatus.NEEDS_RECONNECT: ORANGE,
    ConnectionStatus.ERROR: RED,
}
WRITE_COLORS = {
    AccountingWrite.Status.PENDING: GRAY,
    AccountingWrite.Status.SENDING: BLUE,
    AccountingWrite.Status.DONE: GREEN,
    AccountingWrite.Status.FAILED: RED,
    AccountingWrite.Status.CANCELLED: GRAY,
}


class _FollowsPermission:
    """View/change rights follow an integrations model the office roles already have."""

    follows = "integrations.integrationconnection"

    def _has(self, request, action: str) -> bool:
        app, model = self.follows.split(".")
        return request.user.is_active and request.user.has_perm(f"{app}.{action}_{model}")

    def has_view_permission(self, request, obj=None):
        return self._has(request, "view")

    def has_module_permission(self, request):
        return self._has(request, "view")


@admin.register(AccountingConnection)
class AccountingConnectionAdmin(_FollowsPermission, TenantScopedAdmin):
    list_display = (
        "name",
        "provider",
        "company",
        "status_badge",
        "connect_button",
        "outbox",
        "token_expiry",
        "last_sync_at",
    )
    list_filter = ("provider", "status")
    search_fields = ("name", "external_account_id")
    fields = (
        "provider",
        "name",
        "status_badge",
        "connect_button",
        "company",
        "token_expiry",
        "outbox",
        "last_sync_at",
        "last_error_display",
        "connection_page",
        "backfill_button",
    )
    readonly_fields = fields
    actions = ("sync_now", "test_connection")

    def has_add_permission(self, request):
        return False  # connections are created on the integrations page, then connected here

    def has_change_permission(self, request, obj=None):
        return self._has(request, "view") and obj is None  # actions only; nothing is edited here

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                owed=Count(
                    "accounting_writes",
                    filter=Q(accounting_writes__status__in=("pending", "sending")),
                ),
                refused=Count("accounting_writes", filter=Q(accounting_writes__status="failed")),
            )
        )

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.get_status_display(), STATUS_COLORS.get(obj.status, GRAY))

    @admin.display(description="company")
    def company(self, obj):
        name = obj.setting("company_name")
        return f"{name} ({obj.external_account_id})" if name else obj.external_account_id or "-"

    @admin.display(description="connect")
    def connect_button(self, obj):
        url = reverse(f"accounting-{obj.provider}-auth") + f"?connection={obj.pk}"
        label = "Reconnect" if obj.external_account_id else "Connect"
        return format_html(
            '<a class="button" href="{}">{} to {}</a>', url, label, obj.get_provider_display()
        )

    @admin.display(description="sign-in expires")
    def token_expiry(self, obj):
        expires = (obj.credentials or {}).get("refresh_token_expires_at")
        if not expires:
            return "-"
        when = dt.datetime.fromtimestamp(float(expires), tz=dt.UTC)
        days = (when - timezone.now()).days
        text = f"{timezone.localtime(when):%Y-%m-%d} ({days} days)"
        return badge(text, ORANGE) if days < 14 else text

    @admin.display(description="outbox")
    def outbox(self, obj):
        owed, refused = getattr(obj, "owed", 0), getattr(obj, "refused", 0)
        url = (
            reverse("admin:accounting_accountingwrite_changelist")
            + f"?connection__id__exact={obj.pk}"
        )
        return format_html('<a href="{}">{} to send, {} refused</a>', url, owed, refused)

    @admin.display(description="last error")
    def last_error_display(self, obj):
        return redact(obj.last_error, obj.secret_values()) or "-"

    @admin.display(description="settings and mappings")
    def connection_page(self, obj):
        url = reverse("admin:integrations_integrationconnection_change", args=[obj.pk])
        return format_html('<a href="{}">Credentials, account mappings and schedules</a>', url)

    @admin.display(description="backfill")
    def backfill_button(self, obj):
        url = reverse("admin:integrations_integrationconnection_backfill", args=[obj.pk])
        return format_html(
            '<a class="button" href="{}">Backfill…</a> invoices and payments made before the '
            "connection, from a date",
            url,
        )

    @admin.action(description="Sync now", permissions=["view"])
    def sync_now(self, request, queryset):
        from apps.integrations.services import sync_request

        for connection in queryset:
            try:
                logs = sync_request(connection=connection, trigger=SyncLog.Trigger.MANUAL)
            except DomainError as exc:
                self.message_user(request, f"{connection}: {exc.message}", messages.ERROR)
                continue
            names = ", ".join(log.sync_type for log in logs)
            self.message_user(request, f"{connection}: sync queued for {names}.", messages.SUCCESS)

    @admin.action(description="Test connection", permissions=["view"])
    def test_connection(self, request, queryset):
        from apps.integrations.services import connection_test

        for connection in queryset:
            check = connection_test(connection=connection)
            level = messages.SUCCESS if check.ok else messages.ERROR
            text = redact(check.message or "", connection.secret_values())
            self.message_user(request, f"{connection}: {text}", level)


@admin.register(AccountingWrite)
class AccountingWriteAdmin(_FollowsPermission, ReadOnlyAdminMixin, TenantScopedAdmin):
    follows = "integrations.synclog"
    list_display = (
        "__str__",
        "entity",
        "action",
        "status_badge",
        "attempts",
        "remote_id",
        "connection",
        "created_at",
        "completed_at",
    )
    list_filter = ("status", "entity", "action", "connection")
    search_fields = ("label", "object_id", "remote_id", "idempotency_key", "request_id")
    list_select_related = ("connection",)
    fields = (
        "connection",
        ("entity", "action", "object_id", "label"),
        "status_badge",
        ("idempotency_key", "revision"),
        "request_id",
        ("attempts", "lease_until"),
        "remote_id",
        "error_message",
        "vendor_code",
        "sync_log",
        ("created_at", "sent_at", "completed_at"),
    )
    readonly_fields = ("status_badge",)
    actions = ("retry",)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.get_status_display(), WRITE_COLORS.get(obj.status, GRAY))

    def has_change_permission(self, request, obj=None):
        return obj is None and request.user.has_perm("integrations.change_syncrecorderror")

    @admin.action(description="Retry selected refused writes", permissions=["change"])
    def retry(self, request, queryset):
        from apps.accounting.services.outbox import write_retry

        retried = [w for w in queryset if w.status == AccountingWrite.Status.FAILED]
        for write in retried:
            write_retry(write=write)
        if len(retried) < queryset.count():
            self.message_user(
                request, "Only refused writes are retried; the others were left.", messages.WARNING
            )
        if retried:
            self.message_user(
                request, f"{len(retried)} write(s) will be sent again.", messages.SUCCESS
            )


@admin.register(OverwriteAudit)
class OverwriteAuditAdmin(_FollowsPermission, ReadOnlyAdminMixin, TenantScopedAdmin):
    follows = "integrations.synclog"
    list_display = (
        "object_label",
        "field",
        "old_value",
        "new_value",
        "winner",
        "conflict",
        "connection",
        "created_at",
    )
    list_filter = ("winner", "conflict", "field", "connection")
    search_fields = ("object_label", "old_value", "new_value", "remote_id")
    date_hierarchy = "created_at"
    list_select_related = ("connection",)
