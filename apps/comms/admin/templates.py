"""Message templates with a live preview against a real work order."""

from __future__ import annotations

from django.contrib import admin
from django.http import Http404
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html

from apps.comms import hooks
from apps.comms.models import CommsSettings, MessageTemplate
from apps.comms.rendering import context_for
from apps.comms.rendering import render as render_template
from apps.comms.segments import estimated_cost
from apps.core.admin.base import TenantScopedAdmin, request_business
from apps.core.models import WorkOrder


@admin.register(MessageTemplate)
class MessageTemplateAdmin(TenantScopedAdmin):
    list_display = ("kind", "active", "variables", "sms_length", "preview_link")
    list_filter = ("kind", "active")
    fields = (
        "kind",
        "active",
        "variables",
        "sms_body",
        "email_subject",
        "email_text",
        "email_html",
    )

    @admin.display(description="SMS chars")
    def sms_length(self, obj: MessageTemplate) -> int:
        return len(obj.sms_body)

    @admin.display(description="Preview")
    def preview_link(self, obj: MessageTemplate) -> str:
        url = reverse("admin:comms_messagetemplate_preview", args=[obj.pk])
        return format_html('<a href="{}">Preview</a>', url)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/preview/", wrap(self.preview_view), name="comms_messagetemplate_preview"
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request, pk: int):
        template = self.get_queryset(request).filter(pk=pk).first()
        if template is None or not self.has_view_permission(request, template):
            raise Http404("No such template.")
        orders = WorkOrder.objects.filter(business=template.business).select_related(
            "customer", "location", "assigned_technician__user"
        )
        chosen = request.GET.get("work_order")
        work_order = (
            orders.filter(pk=chosen).first()
            if chosen and chosen.isascii() and chosen.isdigit()  # "²".isdigit() is True
            else orders.first()
        )
        rendered = cost = None
        if work_order is not None:
            values = context_for(work_order=work_order, eta_minutes=hooks.eta_minutes(work_order))
            rendered = render_template(template, values)
            price = CommsSettings.for_business(template.business).sms_price_per_segment
            cost = estimated_cost(rendered.segments, price)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Preview: {template}",
            "opts": self.model._meta,
            "template_obj": template,
            "work_orders": orders[:200],
            "work_order": work_order,
            "rendered": rendered,
            "cost": cost,
            "business": request_business(request),
        }
        return render(request, "admin/comms/preview.html", context)
