"""The webhook inbox and the per-connection activity counters: looked at, never edited."""

from __future__ import annotations

from django.contrib import admin, messages

from apps.core.admin.base import ReadOnlyAdminMixin, TenantScopedAdmin
from apps.core.admin.display import GRAY, GREEN, ORANGE, RED, badge, pretty_json
from apps.integrations.models import InboundEvent, IntegrationActivity, Outcome

EVENT_COLORS = {
    InboundEvent.Status.PENDING: GRAY,
    InboundEvent.Status.PROCESSED: GREEN,
    InboundEvent.Status.FAILED: RED,
    InboundEvent.Status.IGNORED: GRAY,
    InboundEvent.Status.REFUSED: ORANGE,
}
OUTCOME_COLORS = {
    Outcome.SUCCESS: GREEN,
    Outcome.TEMPORARY_ERROR: ORANGE,
    Outcome.RATE_LIMITED: ORANGE,
    Outcome.AUTH_ERROR: RED,
    Outcome.REJECTED: RED,
    Outcome.CONFIG_ERROR: RED,
}


@admin.register(InboundEvent)
class InboundEventAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    """Stored exactly as received. Events not yet matched to a business show to platform admins."""

    list_display = (
        "provider",
        "event_type",
        "provider_event_id",
        "status_badge",
        "attempts",
        "received_at",
        "processed_at",
    )
    list_filter = ("provider", "status")
    search_fields = ("provider_event_id", "event_type")
    date_hierarchy = "received_at"
    fields = (
        ("provider", "event_type", "provider_event_id"),
        "connection",
        ("status_badge", "attempts"),
        ("received_at", "processed_at"),
        "error",
        "headers_pretty",
        "body_pretty",
    )
    readonly_fields = ("status_badge", "headers_pretty", "body_pretty")
    actions = ("replay",)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: InboundEvent):
        return badge(obj.get_status_display(), EVENT_COLORS.get(obj.status, GRAY))

    @admin.display(description="headers")
    def headers_pretty(self, obj: InboundEvent):
        return pretty_json(obj.headers)

    @admin.display(description="body")
    def body_pretty(self, obj: InboundEvent):
        return pretty_json(obj.body)

    def has_replay_permission(self, request) -> bool:
        return request.user.has_perm("integrations.change_inboundevent")

    @admin.action(description="Replay selected events", permissions=["replay"])
    def replay(self, request, queryset):
        from apps.integrations.inbox import inbound_event_replay

        for event in queryset.order_by("received_at"):
            result = inbound_event_replay(event=event)
            if result.status == InboundEvent.Status.FAILED:
                reason = (result.error.splitlines() or ["no reason recorded"])[0][:200]
                self.message_user(request, f"{event}: failed again: {reason}", messages.ERROR)
            else:
                self.message_user(
                    request, f"{event}: {result.get_status_display().lower()}.", messages.SUCCESS
                )


@admin.register(IntegrationActivity)
class IntegrationActivityAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = (
        "occurred_at",
        "connection",
        "kind",
        "operation",
        "outcome_badge",
        "status_code",
        "duration_ms",
        "error_message",
    )
    list_filter = ("outcome", "kind", "connection")
    search_fields = ("operation", "error_message")
    date_hierarchy = "occurred_at"
    list_select_related = ("connection",)

    @admin.display(description="outcome", ordering="outcome")
    def outcome_badge(self, obj: IntegrationActivity):
        return badge(obj.get_outcome_display(), OUTCOME_COLORS.get(obj.outcome, GRAY))
