"""What a business sells and needs: trades, skills and certifications, parts."""

from __future__ import annotations

from django.contrib import admin

from apps.core.models import Part, ServiceCategory, Skill

from .base import TenantScopedAdmin


@admin.register(ServiceCategory)
class ServiceCategoryAdmin(TenantScopedAdmin):
    list_display = ("name", "code", "revenue_category", "default_duration_minutes")
    search_fields = ("name", "code", "revenue_category")


@admin.register(Skill)
class SkillAdmin(TenantScopedAdmin):
    list_display = ("name", "code", "kind")
    list_filter = ("kind",)
    search_fields = ("name", "code")


@admin.register(Part)
class PartAdmin(TenantScopedAdmin):
    list_display = ("sku", "name", "unit_price", "category")
    list_filter = ("category",)
    search_fields = ("sku", "name")
    list_select_related = ("category",)
