"""The communication log, and the conversation view per customer (reply, click-to-call)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html

from apps.comms.models import CommunicationLog, TemplateKind
from apps.comms.services.conversations import click_to_call, conversation_reply
from apps.core.admin.base import TenantScopedAdmin, is_platform_admin, request_business
from apps.core.errors import DomainError
from apps.core.labels import readable
from apps.core.models import Customer
from apps.core.tenancy import get_for_business_or_404
from apps.integrations.errors import NotConfigured


@admin.register(CommunicationLog)
class CommunicationLogAdmin(TenantScopedAdmin):
    list_display = (
        "created_at",
        "channel",
        "direction",
        "kind_label",
        "recipient",
        "status_label",
        "segments",
        "cost",
        "conversation_link",
    )
    list_filter = ("channel", "direction", "status", "template_kind")
    search_fields = (
        "recipient",
        "sender",
        "body",
        "subject",
        "provider_id",
        "customer__display_name",
        "work_order__number",
    )
    date_hierarchy = "created_at"
    list_select_related = ("customer",)

    @admin.display(description="message", ordering="template_kind")
    def kind_label(self, obj: CommunicationLog) -> str:
        kind = obj.template_kind
        return TemplateKind(kind).label if kind in TemplateKind.values else readable(kind)

    @admin.display(description="status", ordering="status")
    def status_label(self, obj: CommunicationLog) -> str:
        return obj.status_label

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "business"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Conversation")
    def conversation_link(self, obj: CommunicationLog) -> str:
        if obj.customer_id is None:
            return "-"
        url = reverse("admin:comms_conversation", args=[obj.customer_id])
        return format_html('<a href="{}">Open</a>', url)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "conversation/<int:customer_id>/",
                wrap(self.conversation_view),
                name="comms_conversation",
            ),
            *super().get_urls(),
        ]

    def _customer(self, request, customer_id: int) -> Customer:
        if is_platform_admin(request):
            customer = Customer.objects.filter(pk=customer_id).first()
            if customer is None:
                raise Http404("No customer matches the given query.")
            return customer
        return get_for_business_or_404(Customer, business=request_business(request), pk=customer_id)

    def conversation_view(self, request, customer_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        customer = self._customer(request, customer_id)
        if request.method == "POST":
            if not self.has_change_permission(request):
                raise PermissionDenied
            try:
                if request.POST.get("action") == "call":
                    click_to_call(customer=customer, user=request.user)
                    messages.success(request, "Calling your phone now; answer to be connected.")
                else:
                    conversation_reply(
                        customer=customer, body=request.POST.get("body", ""), user=request.user
                    )
                    messages.success(request, "Reply sent.")
            except (DomainError, NotConfigured) as exc:
                messages.error(request, getattr(exc, "message", str(exc)))
            return HttpResponseRedirect(reverse("admin:comms_conversation", args=[customer.pk]))
        thread = CommunicationLog.objects.filter(
            business=customer.business, customer=customer
        ).order_by("created_at", "pk")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Conversation with {customer}",
            "opts": self.model._meta,
            "customer": customer,
            "thread": thread,
        }
        return render(request, "admin/comms/conversation.html", context)
