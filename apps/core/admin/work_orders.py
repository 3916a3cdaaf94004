"""The dispatcher's main screen. Status moves only through work_order_transition."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils import dateformat, timezone
from django.utils.html import format_html

from apps.core.errors import DomainError
from apps.core.models import LineItem, Priority, WorkOrder, WorkOrderStatus
from apps.core.services.billing import invoice_create_for_work_order
from apps.core.services.work_order_lines import work_order_line_remove, work_order_line_update
from apps.core.services.work_orders import (
    work_order_assign,
    work_order_create,
    work_order_line_add,
    work_order_location_set,
    work_order_transition,
    work_order_window_set,
)

from .base import ServiceRefusal, TenantModelForm, TenantScopedAdmin
from .display import AMBER, BLUE, GRAY, GREEN, ORANGE, PURPLE, RED, badge
from .work_order_lines import (
    LineItemInline,
    StatusChangeInline,
    WorkOrderPartInline,
    line_changes,
)

S = WorkOrderStatus
STATUS_COLORS = {
    S.NEW: GRAY,
    S.SCHEDULED: BLUE,
    S.DISPATCHED: PURPLE,
    S.EN_ROUTE: ORANGE,
    S.ON_SITE: ORANGE,
    S.COMPLETED: GREEN,
    S.INVOICED: GREEN,
    S.PAID: GREEN,
    S.CANCELLED: RED,
    S.ON_HOLD: ORANGE,
}
PRIORITY_COLORS = {Priority.NORMAL: GRAY, Priority.HIGH: AMBER, Priority.EMERGENCY: RED}
# The fields work_order_create takes, besides the business and who created it.
CREATE_FIELDS = (
    "customer",
    "location",
    "category",
    "summary",
    "description",
    "priority",
    "arrival_window_start",
    "arrival_window_end",
    "estimated_duration_minutes",
    "assigned_technician",
)
WINDOW_FIELDS = ("arrival_window_start", "arrival_window_end")


def _count(n: int) -> str:
    return f"{n} work order" if n == 1 else f"{n} work orders"


class WorkOrderForm(TenantModelForm):
    move_to = forms.ChoiceField(
        label="Move to",
        required=False,
        help_text="Only the moves allowed from the current status are listed.",
    )
    transition_note = forms.CharField(label="Note for the move", required=False, max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            # A new work order always starts as New; there is nothing to move yet.
            self.fields.pop("move_to")
            self.fields.pop("transition_note")
            return
        self.fields["move_to"].choices = [
            ("", "(keep current status)"),
            *[(s, S(s).label) for s in self.instance.allowed_next_statuses],
        ]


def _transition_action(to_status: str, description: str):
    def action(modeladmin, request, queryset):
        modeladmin.transition_each(request, queryset, to_status)

    action.__name__ = f"move_to_{to_status}"
    return admin.action(description=description, permissions=["change"])(action)


@admin.register(WorkOrder)
class WorkOrderAdmin(TenantScopedAdmin):
    form = WorkOrderForm
    # What a dispatcher scans for: when (in local time), where, how urgent, how far along, who.
    list_display = (
        "number",
        "job",
        "window_local",
        "address_short",
        "priority_badge",
        "status_badge",
        "assigned_technician",
    )
    list_display_links = ("number", "job")
    list_filter = (
        "status",
        "priority",
        "category",
        "assigned_technician",
        # "Today" and "Past 7 days" cut at the business's local midnight (the active zone).
        ("arrival_window_start", admin.DateFieldListFilter),
    )
    search_fields = (
        "number",
        "summary",
        "customer__display_name",
        "location__address_line1",
        "location__postal_code",
    )
    date_hierarchy = "arrival_window_start"
    list_select_related = ("customer", "location", "business", "assigned_technician__user")
    autocomplete_fields = ("customer", "location", "equipment", "assigned_technician")
    filter_horizontal = ("required_skills",)
    readonly_fields = ("number", "status_badge", "completed_at")
    inlines = (LineItemInline, WorkOrderPartInline, StatusChangeInline)
    actions = (
        _transition_action(S.SCHEDULED, "Schedule selected work orders"),
        _transition_action(S.DISPATCHED, "Dispatch selected work orders"),
        _transition_action(S.ON_HOLD, "Put selected work orders on hold"),
        _transition_action(S.CANCELLED, "Cancel selected work orders"),
        "create_invoices",
    )

    fieldsets = (
        (None, {"fields": ("number", "customer", "location", "category", "summary")}),
        ("Status", {"fields": ("status_badge", "move_to", "transition_note", "completed_at")}),
        ("Details", {"fields": ("description", "priority")}),
        (
            "Schedule",
            {
                "fields": (
                    "arrival_window_start",
                    "arrival_window_end",
                    "estimated_duration_minutes",
                    "assigned_technician",
                )
            },
        ),
        ("Requirements", {"fields": ("required_skills", "equipment")}),
    )
    change_only_fields = frozenset(
        {"number", "status_badge", "move_to", "transition_note", "completed_at"}
    )

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None:
            return fieldsets
        trimmed = []
        for name, opts in fieldsets:
            fields = [f for f in opts["fields"] if f not in self.change_only_fields]
            if fields:
                trimmed.append((name, {**opts, "fields": fields}))
        return trimmed

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: WorkOrder):
        return badge(obj.get_status_display(), STATUS_COLORS.get(obj.status, GRAY))

    @admin.display(description="priority", ordering="priority")
    def priority_badge(self, obj: WorkOrder):
        if obj.priority == Priority.NORMAL:
            return obj.get_priority_display()
        return badge(obj.get_priority_display(), PRIORITY_COLORS[obj.priority])

    @admin.display(description="job", ordering="summary")
    def job(self, obj: WorkOrder):
        return format_html(
            '{}<span class="wo-customer">{}</span>', obj.summary, obj.customer.display_name
        )

    @admin.display(description="arrival window", ordering="arrival_window_start")
    def window_local(self, obj: WorkOrder):
        """The promise in the business's own local time (a platform view mixes businesses)."""
        start, end = obj.arrival_window_start, obj.arrival_window_end
        if start is None or end is None:
            return "Not booked yet"
        zone = obj.business.timezone
        start, end = timezone.localtime(start, zone), timezone.localtime(end, zone)
        start_zone, end_zone = dateformat.format(start, "T"), dateformat.format(end, "T")
        # One abbreviation when both ends share it; each its own across a DST change, so the
        # repeated 1:30 AM on fall-back night reads "1:30 AM MDT" or "1:30 AM MST".
        if start_zone == end_zone:
            start_text, end_text = (
                dateformat.format(start, "g:i A"),
                f"{dateformat.format(end, 'g:i A')} {end_zone}",
            )
        else:
            start_text = f"{dateformat.format(start, 'g:i A')} {start_zone}"
            end_text = f"{dateformat.format(end, 'g:i A')} {end_zone}"
        return format_html(
            '<span class="wo-day">{}</span> {} \u2013 {}',
            dateformat.format(start, "D M j"),
            start_text,
            end_text,
        )

    @admin.display(description="address", ordering="location__address_line1")
    def address_short(self, obj: WorkOrder) -> str:
        location = obj.location
        return ", ".join(p for p in (location.address_line1, location.city) if p) or str(location)

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": "Work orders", **(extra_context or {})})

    # --- saving through the services ----------------------------------------------------------
    def save_model(self, request, obj, form, change):
        if change:
            self._save_changes(request, obj, form)
        else:
            self._create(request, obj, form)

    def _create(self, request, obj, form):
        data = form.cleaned_data
        try:
            created = work_order_create(
                business=obj.business,
                created_by=request.user,
                **{name: data.get(name) for name in CREATE_FIELDS if name in data},
            )
        except DomainError as exc:
            raise ServiceRefusal(exc) from exc
        # The admin goes on to save many-to-many fields and inlines on `obj`, so it becomes the
        # row the service created (number and all).
        for field in WorkOrder._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding, obj._state.db = False, created._state.db

    def _save_changes(self, request, obj, form):
        # Saving only the edited columns keeps a concurrent status move by a technician intact.
        concrete = {f.name for f in WorkOrder._meta.concrete_fields if f.editable}
        changed = [name for name in form.changed_data if name in concrete]
        reassign = "assigned_technician" in changed
        if reassign:
            technician = obj.assigned_technician
            obj.assigned_technician_id = form.initial.get("assigned_technician")
            changed.remove("assigned_technician")
        relocate = "location" in changed
        if relocate:
            # Through the service, so the technician is re-texted the new address.
            location = obj.location
            obj.location_id = form.initial.get("location")
            changed.remove("location")
        window = [name for name in WINDOW_FIELDS if name in changed]
        if window:
            # Through the service, so routing and comms hear of the new promise.
            start, end = obj.arrival_window_start, obj.arrival_window_end
            obj.arrival_window_start = form.initial.get("arrival_window_start")
            obj.arrival_window_end = form.initial.get("arrival_window_end")
            changed = [name for name in changed if name not in WINDOW_FIELDS]
        if changed:
            obj.save(update_fields=[*changed, "updated_at"])
        if window:
            try:
                work_order_window_set(
                    work_order=obj,
                    arrival_window_start=start,
                    arrival_window_end=end,
                    by=request.user,
                    allow_clear=True,
                )
            except DomainError as exc:
                raise ServiceRefusal(exc) from exc
        if relocate:
            try:
                work_order_location_set(work_order=obj, location=location, by=request.user)
            except DomainError as exc:
                raise ServiceRefusal(exc, field="location") from exc
        if reassign:
            try:
                work_order_assign(work_order=obj, technician=technician, by=request.user)
            except DomainError as exc:
                raise ServiceRefusal(exc, field="assigned_technician") from exc

    def save_formset(self, request, form, formset, change):
        if formset.model is not LineItem:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)
        for line in formset.deleted_objects:
            try:
                work_order_line_remove(line=line, by=request.user)
            except DomainError as exc:
                refusal = DomainError(f"Line “{line.description}”: {exc.message}")
                raise ServiceRefusal(refusal, field=None) from exc
        for line, fields in formset.changed_objects:
            try:
                work_order_line_update(line=line, by=request.user, **line_changes(line, fields))
            except DomainError as exc:
                refusal = DomainError(f"Line “{line.description}”: {exc.message}")
                raise ServiceRefusal(refusal, field=None) from exc
        added = []
        for line in formset.new_objects:
            try:
                added.append(
                    work_order_line_add(
                        work_order=form.instance,
                        kind=line.kind,
                        description=line.description,
                        quantity=line.quantity,
                        unit_price=line.unit_price,
                        part=line.part,
                        category=line.category,
                        taxable=line.taxable,
                        by=request.user,
                    )
                )
            except DomainError as exc:
                refusal = DomainError(f"Line “{line.description}”: {exc.message}")
                raise ServiceRefusal(refusal, field=None) from exc
        formset.new_objects = added
        return None

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # The move comes last, so lines added in the same save are checked against the status
        # they were entered under.
        to_status = form.cleaned_data.get("move_to")
        if change and to_status:
            try:
                work_order_transition(
                    work_order=form.instance,
                    to_status=to_status,
                    by=request.user,
                    note=form.cleaned_data.get("transition_note", ""),
                )
            except DomainError as exc:
                raise ServiceRefusal(exc, field="move_to") from exc

    # --- actions ---------------------------------------------------------------------------------
    def transition_each(self, request, queryset, to_status: str) -> None:
        """One transition per work order; each refusal is reported with the service's reason."""
        moved = 0
        for work_order in queryset.order_by("number"):
            try:
                work_order_transition(work_order=work_order, to_status=to_status, by=request.user)
            except DomainError as exc:
                self.message_user(request, f"{work_order.number}: {exc.message}", messages.ERROR)
            else:
                moved += 1
        if moved:
            label = S(to_status).label.lower()
            self.message_user(request, f"{_count(moved)} moved to {label}.", messages.SUCCESS)

    @admin.action(description="Invoice selected completed work orders", permissions=["invoice"])
    def create_invoices(self, request, queryset):
        created = []
        for work_order in queryset.order_by("number"):
            try:
                invoice = invoice_create_for_work_order(work_order=work_order, by=request.user)
            except DomainError as exc:
                self.message_user(request, f"{work_order.number}: {exc.message}", messages.ERROR)
            else:
                created.append(invoice.number)
        if created:
            self.message_user(
                request, f"Created invoice(s) {', '.join(created)}.", messages.SUCCESS
            )

    def has_invoice_permission(self, request) -> bool:
        return request.user.has_perm("core.add_invoice")
