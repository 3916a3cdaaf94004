"""Businesses, staff accounts and technicians (with the parts on their vans)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from apps.core.models import Business, Role, Technician, User, VanStock
from apps.core.services.business import business_timezone_set
from apps.core.services.sign_in import sign_in_lockout_clear

from .base import (
    TenantScopedAdmin,
    TenantTabularInline,
    is_platform_admin,
    request_business,
)
from .permissions import grant_office_permissions


@admin.register(Business)
class BusinessAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "timezone", "currency", "main_phone", "created_at")
    search_fields = ("name", "slug")
    readonly_fields = ("work_order_sequence", "invoice_sequence", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "slug", "timezone", "currency")}),
        ("Phones", {"fields": ("main_phone", "emergency_phone")}),
        ("Limits on one line", {"fields": ("line_quantity_max", "line_amount_max")}),
        (
            "Document numbers",
            {"fields": ("work_order_sequence", "invoice_sequence"), "classes": ["collapse"]},
        ),
        ("Record", {"fields": ("created_at", "updated_at"), "classes": ["collapse"]}),
    )

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        business = request_business(request)
        if business is not None:
            return qs.filter(pk=business.pk)
        return qs if request.user.is_superuser else qs.none()

    def has_add_permission(self, request):
        return is_platform_admin(request)

    def has_delete_permission(self, request, obj=None):
        return is_platform_admin(request)

    def save_model(self, request, obj, form, change):
        if not change or "timezone" not in form.changed_data:
            return super().save_model(request, obj, form, change)
        # The zone moves through its service, so the business's sync schedules follow it.
        chosen = obj.timezone
        obj.timezone = form.initial.get("timezone")
        super().save_model(request, obj, form, change)
        business_timezone_set(business=obj, timezone_name=str(chosen))
        return None


@admin.register(User)
class UserAdmin(TenantScopedAdmin, DjangoUserAdmin):
    # The tenant base comes first in the MRO, so restate Django's user forms explicitly.
    form = UserChangeForm
    add_form = AdminUserCreationForm
    list_display = ("username", "first_name", "last_name", "email", "role", "is_staff", "is_active")
    list_filter = ("role", "is_staff", "is_active")
    search_fields = ("username", "first_name", "last_name", "email")
    ordering = ("username",)
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email", "phone")}),
        ("Office", {"fields": ("role",)}),
        (
            "Access",
            {
                "fields": (
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                )
            },
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "role", "usable_password", "password1", "password2"),
            },
        ),
    )
    # Granting platform rights or raw permissions is for platform superusers only; a business's
    # own administrator manages people through their role.
    platform_only_fields = frozenset({"is_superuser", "groups", "user_permissions"})
    actions = ["clear_sign_in_lockout"]

    @admin.action(description="Clear sign-in lockout", permissions=["change"])
    def clear_sign_in_lockout(self, request, queryset):
        # The changelist is already scoped to the administrator's business.
        user_ids = list(queryset.values_list("pk", flat=True))
        for user_id in user_ids:
            sign_in_lockout_clear(user_id=user_id)
        self.message_user(request, f"Sign-in lockout cleared for {len(user_ids)} user(s).")

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if is_platform_admin(request):
            return fieldsets
        trimmed = []
        for name, opts in fieldsets:
            fields = [f for f in opts["fields"] if f not in self.platform_only_fields]
            if fields:
                trimmed.append((name, {**opts, "fields": fields}))
        return trimmed

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None and "business" in form.base_fields:
            # Only superusers may lack a business, and those are made with createsuperuser.
            form.base_fields["business"].required = True
        return form

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not change or "role" in form.changed_data:
            grant_office_permissions(form.instance)


class VanStockInline(TenantTabularInline):
    model = VanStock
    fields = ("part", "quantity")
    autocomplete_fields = ("part",)


@admin.register(Technician)
class TechnicianAdmin(TenantScopedAdmin):
    list_display = ("__str__", "phone", "active", "shift_start", "shift_end")
    list_filter = ("active", "skills")
    search_fields = ("user__first_name", "user__last_name", "user__username", "phone")
    filter_horizontal = ("skills",)
    inlines = (VanStockInline,)
    fieldsets = (
        (None, {"fields": ("user", "phone", "active", "skills")}),
        ("Home base", {"fields": ("home_base_address", "home_latitude", "home_longitude")}),
        (
            "Shift",
            {"fields": ("shift_start", "shift_end", "lunch_break_minutes", "max_overtime_minutes")},
        ),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = User.objects.filter(role=Role.TECHNICIAN)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(VanStock)
class VanStockAdmin(TenantScopedAdmin):
    list_display = ("part", "technician", "quantity")
    list_filter = ("technician",)
    search_fields = ("part__sku", "part__name", "technician__user__last_name")
    autocomplete_fields = ("part", "technician")
    list_select_related = ("part", "technician__user")
