"""What hangs off a work order: its lines, required parts and status history."""

from __future__ import annotations

from django.contrib import admin, messages

from apps.core.errors import DomainError
from apps.core.models import LineItem, WorkOrderPart, WorkOrderStatusChange
from apps.core.models.work_orders import LINE_EDITABLE_STATUSES
from apps.core.services.work_order_lines import work_order_line_remove, work_order_line_update

from .base import (
    ReadOnlyAdminMixin,
    ReadOnlyInlineMixin,
    ServiceRefusal,
    TenantScopedAdmin,
    TenantTabularInline,
)

# Fields of a line the office edits, passed to work_order_line_update when they changed.
EDITABLE_LINE_FIELDS = (
    "description",
    "quantity",
    "unit_price",
    "taxable",
    "kind",
    "part",
    "category",
)


def line_changes(line: LineItem, changed: list[str]) -> dict:
    return {name: getattr(line, name) for name in changed if name in EDITABLE_LINE_FIELDS}


def lines_editable(work_order) -> bool:
    return work_order is None or work_order.status in LINE_EDITABLE_STATUSES


class LineItemInline(TenantTabularInline):
    """Parts and labour, editable while the job is open; new lines go through the service."""

    model = LineItem
    fk_name = "work_order"
    fields = ("kind", "description", "part", "quantity", "unit_price", "taxable", "amount")
    readonly_fields = ("amount",)
    autocomplete_fields = ("part",)

    @admin.display(description="amount")
    def amount(self, obj: LineItem):
        return obj.amount if obj.pk else "-"

    def has_add_permission(self, request, obj=None):
        return lines_editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return lines_editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return lines_editable(obj) and super().has_delete_permission(request, obj)


class WorkOrderPartInline(TenantTabularInline):
    model = WorkOrderPart
    fields = ("part", "quantity")
    autocomplete_fields = ("part",)
    verbose_name = "required part"
    verbose_name_plural = "required parts"


class StatusChangeInline(ReadOnlyInlineMixin, TenantTabularInline):
    model = WorkOrderStatusChange
    fields = ("changed_at", "from_status", "to_status", "changed_by", "note")
    readonly_fields = fields
    verbose_name_plural = "status history"


@admin.register(WorkOrderStatusChange)
class WorkOrderStatusChangeAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = ("work_order", "from_status", "to_status", "changed_by", "changed_at", "note")
    list_filter = ("to_status", "from_status")
    search_fields = ("work_order__number", "note", "changed_by__username")
    date_hierarchy = "changed_at"
    list_select_related = ("work_order", "changed_by")


@admin.register(LineItem)
class LineItemAdmin(TenantScopedAdmin):
    """Lines are added on their work order; here they are found, and fixed while still open."""

    list_display = (
        "description",
        "kind",
        "work_order",
        "invoice",
        "quantity",
        "unit_price",
        "amount",
        "taxable",
    )
    list_filter = ("kind", "taxable")
    search_fields = ("description", "work_order__number", "invoice__number", "part__sku")
    list_select_related = ("work_order", "invoice")
    fields = (
        "work_order",
        "invoice",
        "kind",
        "description",
        "part",
        "category",
        "quantity",
        "unit_price",
        "taxable",
        "created_by",
    )
    readonly_fields = ("work_order", "invoice", "created_by")
    autocomplete_fields = ("part",)

    @admin.display(description="amount")
    def amount(self, obj: LineItem):
        return obj.amount

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        if obj is not None and (obj.invoice_id or not lines_editable(obj.work_order)):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and (obj.invoice_id or not lines_editable(obj.work_order)):
            return False
        return super().has_delete_permission(request, obj)

    # Through the services: the business's ceilings, the open-job rule and the event apply
    # here as on site.
    def save_model(self, request, obj, form, change):
        try:
            work_order_line_update(
                line=obj, by=request.user, **line_changes(obj, form.changed_data)
            )
        except DomainError as exc:
            raise ServiceRefusal(exc) from exc

    def delete_model(self, request, obj):
        try:
            work_order_line_remove(line=obj, by=request.user)
        except DomainError as exc:
            self.message_user(request, f"{obj}: {exc.message}", messages.ERROR)

    def delete_queryset(self, request, queryset):
        for line in queryset:
            self.delete_model(request, line)


@admin.register(WorkOrderPart)
class WorkOrderPartAdmin(TenantScopedAdmin):
    list_display = ("work_order", "part", "quantity")
    search_fields = ("work_order__number", "part__sku", "part__name")
    autocomplete_fields = ("work_order", "part")
    list_select_related = ("work_order", "part")
