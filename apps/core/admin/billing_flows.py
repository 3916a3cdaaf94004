"""Issue, void and refund from the admin. Each flow calls one billing service and shows its
refusal (DomainError) as an admin error; nothing here decides a business rule."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.core.errors import DomainError
from apps.core.models import Invoice, InvoiceStatus, Payment
from apps.core.services.billing import invoice_issue, invoice_void, payment_refund_record
from apps.core.timezones import format_local

TEMPLATE = "admin/core/billing_form.html"


class VoidForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Kept on the invoice's memo.",
    )


class RefundForm(forms.Form):
    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    reference = forms.CharField(
        max_length=100,
        required=False,
        help_text="Stripe refund id (re_...), check number; the same reference twice is one refund.",
    )


def _render(modeladmin, request, **context):
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": modeladmin.model._meta,
        **context,
    }
    return TemplateResponse(request, TEMPLATE, context)


class InvoiceFlowsMixin:
    """List actions on InvoiceAdmin: issue drafts, void with a reason."""

    @admin.action(description="Issue selected draft invoices", permissions=["change"])
    def issue_invoices(self, request, queryset):
        issued = []
        for invoice in queryset.order_by("number"):
            try:
                invoice_issue(invoice=invoice, by=request.user)
            except DomainError as exc:
                self.message_user(request, f"{invoice.number}: {exc.message}", messages.ERROR)
            else:
                issued.append(invoice.number)
        if issued:
            self.message_user(request, f"Issued {', '.join(issued)}.", messages.SUCCESS)

    @admin.action(description="Void selected invoices (asks for a reason)", permissions=["change"])
    def void_invoices(self, request, queryset):
        """First shows a page asking for the reason; its submit comes back here with `apply`."""
        invoices = list(queryset.order_by("number"))
        form = VoidForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            voided = []
            for invoice in invoices:
                try:
                    invoice_void(
                        invoice=invoice, reason=form.cleaned_data["reason"], by=request.user
                    )
                except DomainError as exc:
                    self.message_user(request, f"{invoice.number}: {exc.message}", messages.ERROR)
                else:
                    voided.append(invoice.number)
            if voided:
                self.message_user(request, f"Voided {', '.join(voided)}.", messages.SUCCESS)
            return None
        return _render(
            self,
            request,
            title="Void invoices",
            intro="These invoices will be void. An invoice with money on it is refused: "
            "refund its payments first.",
            objects=invoices,
            selected=[invoice.pk for invoice in invoices],
            action="void_invoices",
            form=form,
            submit_label="Void",
        )


class PaymentRefundMixin:
    """A "Record refund" page per payment (admin/core/payment/<id>/refund/)."""

    def refund_urls(self):
        return [
            path(
                "<int:pk>/refund/",
                self.admin_site.admin_view(self.refund_view),
                name="core_payment_refund",
            )
        ]

    def has_refund_permission(self, request) -> bool:
        return request.user.has_perm("core.add_refund")

    def refund_view(self, request, pk: int):
        if not self.has_refund_permission(request):
            raise PermissionDenied
        # Through the tenant-scoped queryset: another business's payment is simply not found.
        payment = self.get_queryset(request).filter(pk=pk).select_related("invoice").first()
        if payment is None:
            raise Http404("No payment matches the given query.")
        form = RefundForm(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            try:
                refund = payment_refund_record(
                    payment=payment, by=request.user, **form.cleaned_data
                )
            except DomainError as exc:
                field = exc.field if exc.field in form.fields else None
                form.add_error(field, exc.message)
            else:
                self.message_user(
                    request,
                    f"Recorded a refund of {refund.amount} {refund.currency}.",
                    messages.SUCCESS,
                )
                target = payment.invoice or payment
                name = "invoice" if payment.invoice else "payment"
                return HttpResponseRedirect(reverse(f"admin:core_{name}_change", args=[target.pk]))
        return _render(
            self,
            request,
            title=f"Record refund: {payment}",
            intro=f"Payment of {payment.amount} {payment.currency} received "
            f"{format_local(payment.received_at)}"
            + (f" on invoice {payment.invoice.number}." if payment.invoice else "."),
            form=form,
            submit_label="Record refund",
        )

    @admin.display(description="refund")
    def refund_link(self, obj: Payment) -> str:
        if obj is None or obj.pk is None:
            return "-"
        url = reverse("admin:core_payment_refund", args=[obj.pk])
        return format_html('<a class="button" href="{}">Record refund</a>', url)


def invoice_is_settled(invoice: Invoice | None) -> bool:
    return invoice is not None and invoice.status in (InvoiceStatus.PAID, InvoiceStatus.VOID)
